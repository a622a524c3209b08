import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BackupRow } from '../db/index.js';
import { ODOO_ADMIN_USER_ID, ODOO_COUNTED_TABLES, odooRecordCounts } from '../odoo/index.js';
import { startPlainRestore } from '../postgres/index.js';
import { recordTenantEvent, tenantById } from '../tenants/index.js';
import { hashingTap } from './archive.js';
import { readBackupArchive } from './archive-reader.js';
import type { BackupRunDependencies } from './run.js';
import { backupById, recordTestRestore } from './store.js';

/** Odoo's core tables: a restore without them is no Odoo database. */
const CORE_TABLES = ['res_users', 'res_partner', 'res_company', 'ir_module_module', 'ir_attachment'];

/** The scratch database a test restore loads into (never a tenant's name: those start with t_). */
export function testRestoreDatabaseName(backupId: string): string {
  return `bkcheck_${backupId.replaceAll('-', '').slice(0, 16)}`;
}

/**
 * Proves a verified backup restorable: its archive is fetched from storage into a scratch file
 * (sha256 checked again), its dump loaded by psql into a scratch database on the tenant's own
 * server, and the result checked: Odoo's core tables present, the admin user present, the row
 * counts of res_users / res_partner / ir_attachment equal to those recorded when the backup was
 * made (same snapshot), the filestore's file count equal. The scratch database and file are
 * dropped whatever happens. The outcome goes on the backup, in the metrics, and (failures) on the
 * tenant's timeline. Answers whether it passed.
 */
export async function testRestoreBackup(deps: BackupRunDependencies & { scratchDir: string }, backupId: string): Promise<boolean> {
  const backup = await backupById(backupId, deps.db);
  if (backup?.state !== 'verified') return false;
  let reason: string | null = null;
  try {
    const problems = await restoreAndCheck(deps, backup);
    if (problems.length > 0) reason = problems.join('; ');
  } catch (error) {
    reason = error instanceof Error ? error.message.slice(0, 2000) : String(error);
  }
  await recordTestRestore(backup.id, { passed: reason === null, reason }, deps.db);
  deps.metrics.backupTestRestores.inc({ outcome: reason === null ? 'passed' : 'failed' });
  if (reason !== null) {
    await recordTenantEvent(deps.db, backup.tenant_id, { type: 'error', message: `Test restore of backup ${backup.id} failed: ${reason}` });
    deps.logger.error({ backupId: backup.id, tenant: backup.tenant_name, reason }, 'backup test restore failed');
  }
  return reason === null;
}

async function restoreAndCheck(deps: BackupRunDependencies & { scratchDir: string }, backup: BackupRow): Promise<string[]> {
  const tenant = await tenantById(backup.tenant_id, deps.db);
  if (!tenant?.server_id) throw new Error('the tenant has no database server any more');
  const [ops, adminUrl] = await Promise.all([deps.servers.operations(tenant.server_id), deps.servers.adminUrl(tenant.server_id)]);
  const scratch = testRestoreDatabaseName(backup.id);
  const file = join(deps.scratchDir, `${scratch}.zip`);
  await mkdir(deps.scratchDir, { recursive: true, mode: 0o700 });
  try {
    const { tap, digest } = hashingTap();
    await pipeline(await deps.storage.get(backup.storage_key), tap, createWriteStream(file, { mode: 0o600 }));
    const fetched = digest();
    if (fetched.sha256 !== backup.sha256)
      return [`the stored archive changed since it was verified (sha256 ${fetched.sha256}, recorded ${backup.sha256})`];

    await ops.dropDatabase(scratch); // left by a test restore that was killed
    await ops.createDatabase(scratch, tenant.role_name);
    const contents = await readBackupArchive(file, {
      async dump(stream) {
        const psql = startPlainRestore(adminUrl, scratch, tenant.role_name);
        await Promise.all([pipeline(stream, psql.stream), psql.done]);
      },
      async file(_path, stream) {
        for await (const _chunk of stream); // read through: the deflate stream and sizes are checked
      },
    });
    const problems: string[] = [];
    if (!contents.hasDump) problems.push('the archive has no dump.sql');
    if (contents.files !== backup.filestore_files)
      problems.push(`the filestore has ${contents.files} files, ${backup.filestore_files} were backed up`);
    await ops.withDatabase(scratch, async (client) => {
      const present = await client.query<{ relname: string }>("SELECT relname FROM pg_class WHERE relkind = 'r' AND relname = ANY($1)", [
        CORE_TABLES,
      ]);
      const missing = CORE_TABLES.filter((table) => !present.rows.some((row) => row.relname === table));
      if (missing.length > 0) problems.push(`Odoo core tables missing: ${missing.join(', ')}`);
      if (!missing.includes('res_users')) {
        const admin = await client.query('SELECT 1 FROM res_users WHERE id = $1', [ODOO_ADMIN_USER_ID]);
        if (admin.rowCount !== 1) problems.push('the admin user (id 2) is missing');
      }
      const counts = await odooRecordCounts(client);
      for (const table of ODOO_COUNTED_TABLES) {
        const recorded = backup.record_counts?.[table];
        if (recorded !== undefined && counts[table] !== recorded)
          problems.push(`${table} has ${counts[table]} rows, ${recorded} were backed up`);
      }
    });
    return problems;
  } finally {
    await ops.dropDatabase(scratch).catch(() => undefined);
    await rm(file, { force: true });
  }
}
