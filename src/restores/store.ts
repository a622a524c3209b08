import type { Insertable, Kysely, Transaction } from 'kysely';
import type { Database, Db, RestoreRow, RestoresTable } from '../db/index.js';

/**
 * The one owner of `restores`: one row per restore (in place, into a new tenant) and per import.
 * The row is the journal of its job (`step`, the last step finished) and what the API shows.
 */
export type Executor = Db | Transaction<Database> | Kysely<Database>;

export type NewRestore = Insertable<RestoresTable>;

export async function insertRestore(values: NewRestore, db: Executor): Promise<RestoreRow> {
  return db.insertInto('restores').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function restoreById(id: string, db: Executor): Promise<RestoreRow | undefined> {
  return db.selectFrom('restores').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function runningRestoreOf(tenantId: string, db: Executor): Promise<RestoreRow | undefined> {
  return db.selectFrom('restores').selectAll().where('tenant_id', '=', tenantId).where('state', '=', 'running').executeTakeFirst();
}

export async function restoresOfTenant(tenantId: string, db: Executor, limit = 50): Promise<RestoreRow[]> {
  return db.selectFrom('restores').selectAll().where('tenant_id', '=', tenantId).orderBy('started_at', 'desc').limit(limit).execute();
}

export async function updateRestore(
  id: string,
  change: Partial<Pick<RestoreRow, 'step' | 'safety_backup_id' | 'job_id' | 'swapped_at' | 'filestore_files'>> & {
    record_counts?: string;
  },
  db: Executor,
): Promise<void> {
  await db.updateTable('restores').set(change).where('id', '=', id).execute();
}

/** Settles a running restore (once: a restore already settled stays as it is). */
export async function settleRestore(
  id: string,
  outcome: { state: 'succeeded' } | { state: 'failed'; reason: string },
  db: Executor,
): Promise<boolean> {
  const updated = await db
    .updateTable('restores')
    .set({ state: outcome.state, failure_reason: outcome.state === 'failed' ? outcome.reason : null, finished_at: new Date() })
    .where('id', '=', id)
    .where('state', '=', 'running')
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) === 1;
}
