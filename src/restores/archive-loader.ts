import { rm } from 'node:fs/promises';
import { fetchVerifiedArchive, loadBackupArchive, pathExists, restoredDatabaseProblems } from '../backups/index.js';
import type { ArchiveLoader } from '../provisioning/index.js';
import { type RestoreDependencies, suffixedName } from './context.js';
import { archiveFileOf } from './run.js';
import { restoreById, settleRestore, updateRestore } from './store.js';

/**
 * How provisioning fills a tenant made from an archive: the backup's archive fetched (sha256
 * checked) or the uploaded zip taken from the scratch directory, loaded under a side name,
 * verified (Odoo's core tables, the admin user, the backup's row and file counts when known),
 * and only then renamed to the tenant's database: a database under the tenant's name is whole.
 */
export function archiveLoader(deps: RestoreDependencies): ArchiveLoader {
  return {
    async load({ restoreId, ops, adminUrl, database, role, filestoreDirectory }) {
      const restore = await restoreById(restoreId, deps.db);
      if (!restore) throw new Error(`restore ${restoreId} is not recorded`);
      const file = archiveFileOf(deps, restoreId);
      if (restore.kind === 'new_tenant') {
        const backup = restore.backup_id ? await deps.backups.byId(restore.backup_id) : undefined;
        if (backup?.state !== 'verified') throw new Error('the backup to restore is no longer there');
        const problems = await fetchVerifiedArchive(deps.storage, backup, file);
        if (problems.length > 0) throw new Error(problems.join('; '));
      } else if (!(await pathExists(file))) {
        throw new Error('the uploaded archive is no longer on the platform: import it again');
      }
      const side = suffixedName(database, '_restoring');
      await ops.dropDatabase(side); // half loaded by a killed attempt: never trusted
      await ops.createDatabase(side, role);
      try {
        const loaded = await loadBackupArchive({ file, adminUrl, database: side, role, filestoreDirectory });
        const problems = loaded.hasDump
          ? await ops.withDatabase(side, (client) => restoredDatabaseProblems(client, restore.record_counts))
          : [];
        if (!loaded.hasDump) problems.push('the archive has no dump.sql');
        if (restore.filestore_files !== null && loaded.files !== restore.filestore_files)
          problems.push(`the filestore has ${loaded.files} files, ${restore.filestore_files} were backed up`);
        if (problems.length > 0) throw new Error(`the archive is not a whole Odoo backup: ${problems.join('; ')}`);
        await ops.renameDatabase(side, database);
      } catch (error) {
        await ops.dropDatabase(side).catch(() => undefined);
        throw error;
      }
      await updateRestore(restoreId, { step: 'clone' }, deps.db);
    },

    async settle(restoreId, outcome) {
      await rm(archiveFileOf(deps, restoreId), { force: true });
      await settleRestore(restoreId, outcome, deps.db);
    },
  };
}
