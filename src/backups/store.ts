import type { Insertable, Kysely, Transaction } from 'kysely';
import type { BackupRow, BackupState, BackupsTable, Database, Db } from '../db/index.js';

/**
 * The one owner of `backups`: every other part of the platform reads and writes backup records
 * through these functions. Each takes the executor last (the platform database or a caller's
 * transaction, so a record and the job that fills it commit together).
 */
export type Executor = Db | Transaction<Database> | Kysely<Database>;

export type NewBackup = Insertable<BackupsTable>;

export async function insertBackup(values: NewBackup, db: Executor): Promise<BackupRow> {
  return db.insertInto('backups').values(values).returningAll().executeTakeFirstOrThrow();
}

/** A daily backup for a slot, unless that slot has one already (two schedulers, a rerun): undefined then. */
export async function insertScheduledBackup(values: NewBackup, db: Executor): Promise<BackupRow | undefined> {
  return db
    .insertInto('backups')
    .values(values)
    .onConflict((c) => c.columns(['tenant_id', 'scheduled_for']).where('scheduled_for', 'is not', null).doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function backupById(id: string, db: Executor): Promise<BackupRow | undefined> {
  return db.selectFrom('backups').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function setBackupJob(id: string, jobId: string, db: Executor): Promise<void> {
  await db.updateTable('backups').set({ job_id: jobId }).where('id', '=', id).execute();
}

/** A retried job starts the record again: an attempt killed mid-way left nothing to trust. */
export async function restartBackup(id: string, db: Executor): Promise<void> {
  await db
    .updateTable('backups')
    .set({ state: 'running', failure_reason: null, started_at: new Date(), finished_at: null, verified_at: null, sha256: null })
    .where('id', '=', id)
    .execute();
}

export interface VerifiedBackup {
  odooVersion: string;
  pgVersion: string;
  archiveBytes: number;
  dumpBytes: number;
  filestoreBytes: number;
  filestoreFiles: number;
  sha256: string;
  recordCounts: Record<string, number>;
  durationMs: number;
}

/** Only from `running`: a record another attempt already settled stays as it is. */
export async function markBackupVerified(id: string, result: VerifiedBackup, db: Executor): Promise<boolean> {
  const now = new Date();
  const updated = await db
    .updateTable('backups')
    .set({
      state: 'verified',
      odoo_version: result.odooVersion,
      pg_version: result.pgVersion,
      archive_bytes: result.archiveBytes,
      dump_bytes: result.dumpBytes,
      filestore_bytes: result.filestoreBytes,
      filestore_files: result.filestoreFiles,
      sha256: result.sha256,
      record_counts: JSON.stringify(result.recordCounts),
      duration_ms: result.durationMs,
      finished_at: now,
      verified_at: now,
    })
    .where('id', '=', id)
    .where('state', '=', 'running')
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) === 1;
}

export async function markBackupFailed(id: string, reason: string, durationMs: number | null, db: Executor): Promise<boolean> {
  const updated = await db
    .updateTable('backups')
    .set({ state: 'failed', failure_reason: reason, finished_at: new Date(), duration_ms: durationMs, verified_at: null })
    .where('id', '=', id)
    .where('state', '=', 'running')
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) === 1;
}

export interface BackupFilter {
  tenantId?: string | undefined;
  /** Only these tenants' backups (a customer's own tenants, from the tenant store). */
  tenantIds?: readonly string[] | undefined;
  state?: BackupState | undefined;
  limit?: number | undefined;
}

/** Newest first. */
export async function listBackups(filter: BackupFilter, db: Executor): Promise<BackupRow[]> {
  let query = db.selectFrom('backups').selectAll('backups');
  if (filter.tenantIds) {
    if (filter.tenantIds.length === 0) return [];
    query = query.where('tenant_id', 'in', filter.tenantIds);
  }
  if (filter.tenantId) query = query.where('tenant_id', '=', filter.tenantId);
  if (filter.state) query = query.where('state', '=', filter.state);
  return query
    .orderBy('started_at', 'desc')
    .limit(filter.limit ?? 200)
    .execute();
}

/** Records still `running` whose attempt has not been heard of since `before` (swept to `failed`). */
export async function staleRunningBackups(before: Date, db: Executor): Promise<BackupRow[]> {
  return db.selectFrom('backups').selectAll().where('state', '=', 'running').where('started_at', '<', before).execute();
}

/** The outcome of a test restore of a verified backup. */
export async function recordTestRestore(id: string, outcome: { passed: boolean; reason: string | null }, db: Executor): Promise<void> {
  await db
    .updateTable('backups')
    .set({ test_restore_state: outcome.passed ? 'passed' : 'failed', test_restore_reason: outcome.reason, test_restored_at: new Date() })
    .where('id', '=', id)
    .execute();
}

/** Each tenant's newest verified backup (what the weekly test restore checks). */
export async function newestVerifiedBackups(db: Executor): Promise<BackupRow[]> {
  return db
    .selectFrom('backups')
    .selectAll()
    .distinctOn('tenant_id')
    .where('state', '=', 'verified')
    .orderBy('tenant_id')
    .orderBy('started_at', 'desc')
    .execute();
}

export async function deleteBackupRecord(id: string, db: Executor): Promise<void> {
  await db.deleteFrom('backups').where('id', '=', id).execute();
}

/** When each tenant's newest verified backup was verified (metrics: backup age per tenant). */
export async function lastVerifiedPerTenant(db: Executor): Promise<Map<string, Date>> {
  const rows = await db
    .selectFrom('backups')
    .select(['tenant_id', (eb) => eb.fn.max('verified_at').as('verified_at')])
    .where('state', '=', 'verified')
    .groupBy('tenant_id')
    .execute();
  return new Map(rows.flatMap((row) => (row.verified_at ? [[row.tenant_id, new Date(row.verified_at)] as const] : [])));
}
