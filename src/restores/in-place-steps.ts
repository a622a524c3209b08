import { readdir, rename, rm, stat } from 'node:fs/promises';
import { fetchVerifiedArchive, loadBackupArchive, pathExists, restoredDatabaseProblems } from '../backups/index.js';
import { filestorePath, removeFilestore } from '../odoo/index.js';
import { type Step, TENANT_CONNECTION_LIMIT } from '../provisioning/index.js';
import { changeTenantState, recordTenantEvent } from '../tenants/index.js';
import type { InPlaceContext } from './context.js';
import { restoreById, settleRestore, updateRestore } from './store.js';

/** A restore that must not be retried (what it restores is wrong, not the moment): it fails at once. */
export class RestoreRefused extends Error {
  override name = 'RestoreRefused';
}

/** Odoo stops serving the tenant (the gateway already shows the maintenance page: it is `restoring`). */
const unserveStep: Step<InPlaceContext> = {
  name: 'unserve',
  async run({ deps, tenant }) {
    await deps.runtimes.for(tenant).unserve(tenant.id);
  },
};

/**
 * A backup of the tenant as it is now, before anything is replaced: the way back if the restored
 * data turns out not to be what the customer wanted. Run inside this job (not queued), so a
 * killed platform resumes it with the restore; the restore goes no further unless it is verified.
 */
const safetyBackupStep: Step<InPlaceContext> = {
  name: 'safety_backup',
  async run(context) {
    const { deps, tenant, restore } = context;
    let backupId = restore.safety_backup_id;
    if (!backupId) {
      const made = await deps.db.transaction().execute(async (trx) => {
        const requested = await deps.backups.request(tenant, 'before_restore', {
          actorUserId: restore.created_by,
          keepUntil: new Date(Date.now() + 30 * 86_400_000),
          transaction: trx,
          queued: false,
        });
        if (!requested) throw new Error('the backup before the restore was not recorded');
        await updateRestore(restore.id, { safety_backup_id: requested.backup.id }, trx);
        return requested.backup;
      });
      backupId = made.id;
      context.restore = { ...restore, safety_backup_id: backupId };
    }
    await deps.backups.run(backupId);
    const backup = await deps.backups.byId(backupId);
    if (backup?.state !== 'verified')
      throw new RestoreRefused(
        `the backup of the current data before the restore failed (${backup?.failure_reason ?? 'no record'}); nothing was changed`,
      );
  },
  async endStateProblems({ deps, restore }) {
    if (!restore.safety_backup_id) return ['no backup before the restore'];
    const backup = await deps.backups.byId(restore.safety_backup_id);
    return backup?.state === 'verified' ? [] : [`the backup before the restore is ${backup?.state ?? 'missing'}`];
  },
};

/** The archive fetched from storage, its sha256 checked against the verified record. */
const fetchStep: Step<InPlaceContext> = {
  name: 'fetch',
  async run({ deps, backup, archiveFile }) {
    const problems = await fetchVerifiedArchive(deps.storage, backup, archiveFile);
    if (problems.length > 0) throw new RestoreRefused(problems.join('; '));
  },
  async endStateProblems({ backup, archiveFile, restore }) {
    if (restore.swapped_at) return [];
    const size = await stat(archiveFile).then(
      (s) => s.size,
      () => undefined,
    );
    return size === backup.archive_bytes ? [] : ['the archive is not fetched'];
  },
};

/** dump.sql into the side database (as the tenant role), filestore/ into the side filestore. */
const loadStep: Step<InPlaceContext> = {
  name: 'load',
  async run({ tenant, ops, adminUrl, names, archiveFile, deps }) {
    await ops.dropDatabase(names.side); // half loaded by a killed attempt: never trusted
    await ops.createDatabase(names.side, tenant.role_name);
    await loadBackupArchive({
      file: archiveFile,
      adminUrl,
      database: names.side,
      role: tenant.role_name,
      filestoreDirectory: filestorePath(deps.odooDataDir, names.side),
    });
    // The live database's access rules, so the swap changes nothing but the data.
    await ops.restrictDatabase(names.side, tenant.role_name, TENANT_CONNECTION_LIMIT);
    const live = await ops.inspectDatabase(names.live, tenant.role_name);
    if (live && live.owner !== tenant.role_name) await ops.setDatabaseOwner(names.side, live.owner, [tenant.role_name]);
  },
  async endStateProblems({ ops, names, restore, deps }) {
    if (restore.swapped_at) return [];
    const problems: string[] = [];
    if (!(await ops.databaseExists(names.side))) problems.push('the side database is missing');
    if (!(await pathExists(filestorePath(deps.odooDataDir, names.side)))) problems.push('the side filestore is missing');
    return problems;
  },
};

async function fileCount(directory: string): Promise<number> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).length;
}

/** The side database is a whole Odoo database holding what the backup recorded; its filestore has every file. */
async function sideProblems({ ops, names, backup, deps }: InPlaceContext): Promise<string[]> {
  const problems = await ops.withDatabase(names.side, (client) => restoredDatabaseProblems(client, backup.record_counts));
  const files = await fileCount(filestorePath(deps.odooDataDir, names.side));
  if (backup.filestore_files !== null && files !== backup.filestore_files)
    problems.push(`the filestore has ${files} files, ${backup.filestore_files} were backed up`);
  return problems;
}

const verifyStep: Step<InPlaceContext> = {
  name: 'verify',
  async run(context) {
    const problems = await sideProblems(context);
    if (problems.length > 0) throw new RestoreRefused(`the restored copy is not what was backed up: ${problems.join('; ')}`);
  },
  endStateProblems: async (context) => (context.restore.swapped_at ? [] : sideProblems(context)),
};

/** Renames `from` to `to` when `from` exists and `to` does not; true when `to` exists afterwards. */
async function renameDirectory(from: string, to: string): Promise<void> {
  if (await pathExists(to)) return;
  if (await pathExists(from)) await rename(from, to);
}

/**
 * The short step: live -> previous, side -> live, for the database and its filestore. Each
 * rename is done only when its source is there and its target is not, so a rerun after a
 * crash between two renames finishes the swap instead of undoing it.
 */
const swapStep: Step<InPlaceContext> = {
  name: 'swap',
  async run(context) {
    const { ops, names, deps, restore, tenant } = context;
    await deps.runtimes.for(tenant).unserve(tenant.id); // nothing may hold the live database open
    if (await ops.databaseExists(names.side)) {
      if (await ops.databaseExists(names.live)) await ops.renameDatabase(names.live, names.previous);
      context.crashPoint('restore:swapping');
      await ops.renameDatabase(names.side, names.live);
    }
    const filestore = (name: string) => filestorePath(deps.odooDataDir, name);
    if (await pathExists(filestore(names.side))) {
      await renameDirectory(filestore(names.live), filestore(names.previous));
      await rename(filestore(names.side), filestore(names.live));
    }
    const swappedAt = new Date();
    await updateRestore(restore.id, { swapped_at: swappedAt }, deps.db);
    context.restore = { ...restore, swapped_at: swappedAt };
  },
  async endStateProblems({ ops, names, restore, deps }) {
    const problems: string[] = [];
    if (!restore.swapped_at) problems.push('not swapped yet');
    if (await ops.databaseExists(names.side)) problems.push('the side database is still there');
    if (!(await ops.databaseExists(names.live))) problems.push('the tenant database is missing');
    if (await pathExists(filestorePath(deps.odooDataDir, names.side))) problems.push('the side filestore is still there');
    return problems;
  },
};

/**
 * The restored database is verified and in place: the previous one is dropped, the archive
 * removed, and, in one transaction, the restore recorded as succeeded and the tenant returned to
 * where it was (a running tenant is started again by the tenant-ops queue).
 */
const finishStep: Step<InPlaceContext> = {
  name: 'finish',
  async run({ deps, ops, names, restore, tenant, backup, archiveFile }) {
    await ops.dropDatabase(names.previous);
    await removeFilestore(deps.odooDataDir, names.previous);
    await rm(archiveFile, { force: true });
    await deps.db.transaction().execute(async (trx) => {
      if ((await restoreById(restore.id, trx))?.state !== 'running') return;
      // The journal's last step with the outcome: a reader never sees `succeeded` short of `finish`.
      await updateRestore(restore.id, { step: 'finish' }, trx);
      await settleRestore(restore.id, { state: 'succeeded' }, trx);
      await recordTenantEvent(trx, tenant.id, {
        type: 'info',
        message: `backup ${backup.id} of ${backup.started_at.toISOString()} restored; the data before it is in backup ${restore.safety_backup_id}`,
        actorUserId: restore.created_by,
      });
      const updated = await changeTenantState(trx, tenant.id, 'restore_finished', { reason: 'backup restored' });
      if (updated.state === 'starting') await deps.operations.enqueue(tenant.id, 'start', trx);
    });
  },
};

/** A restore in place, in order. The names are the restore's `step` journal. */
export const IN_PLACE_STEPS = [
  unserveStep,
  safetyBackupStep,
  fetchStep,
  loadStep,
  verifyStep,
  swapStep,
  finishStep,
] as const satisfies ReadonlyArray<Step<InPlaceContext>>;
