import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackupRow, TenantRow } from '../db/index.js';
import { recordTenantEvent, tenantById } from '../tenants/index.js';
import { fetchVerifiedArchive, loadBackupArchive, restoredDatabaseProblems } from './archive-load.js';
import type { BackupRunDependencies } from './run.js';
import { backupById, recordTestRestore } from './store.js';

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
  // On the tenant's own server: woken if it hibernates, and kept awake until the scratch database is gone.
  return deps.servers.whileAwake(tenant.server_id, () =>
    restoreAndCheckOn(deps, backup, { ...tenant, server_id: tenant.server_id as string }),
  );
}

async function restoreAndCheckOn(
  deps: BackupRunDependencies & { scratchDir: string },
  backup: BackupRow,
  tenant: TenantRow & { server_id: string },
): Promise<string[]> {
  const [ops, adminUrl] = await Promise.all([deps.servers.operations(tenant.server_id), deps.servers.adminUrl(tenant.server_id)]);
  const scratch = testRestoreDatabaseName(backup.id);
  const file = join(deps.scratchDir, `${scratch}.zip`);
  try {
    const fetchProblems = await fetchVerifiedArchive(deps.storage, backup, file);
    if (fetchProblems.length > 0) return fetchProblems;
    await ops.dropDatabase(scratch); // left by a test restore that was killed
    await ops.createDatabase(scratch, tenant.role_name);
    const contents = await loadBackupArchive({ file, adminUrl, database: scratch, role: tenant.role_name });
    const problems: string[] = [];
    if (!contents.hasDump) problems.push('the archive has no dump.sql');
    if (contents.files !== backup.filestore_files)
      problems.push(`the filestore has ${contents.files} files, ${backup.filestore_files} were backed up`);
    problems.push(...(await ops.withDatabase(scratch, (client) => restoredDatabaseProblems(client, backup.record_counts))));
    return problems;
  } finally {
    await ops.dropDatabase(scratch).catch(() => undefined);
    await rm(file, { force: true });
  }
}
