import type { Insertable, Kysely, Transaction, Updateable } from 'kysely';
import type { Database, Db, MigrationRow, MigrationsTable } from '../db/index.js';

/**
 * The one owner of `migrations`: one row per move of a tenant. The row is the journal of its job
 * (`step`, the last step finished), the way back (the source placement), and what the API shows.
 */
export type Executor = Db | Transaction<Database> | Kysely<Database>;

export async function insertMigration(values: Insertable<MigrationsTable>, db: Executor): Promise<MigrationRow> {
  return db.insertInto('migrations').values(values).returningAll().executeTakeFirstOrThrow();
}

export async function migrationById(id: string, db: Executor): Promise<MigrationRow | undefined> {
  return db.selectFrom('migrations').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listMigrations(db: Executor, filter: { tenantId?: string; limit?: number } = {}): Promise<MigrationRow[]> {
  let query = db.selectFrom('migrations').selectAll();
  if (filter.tenantId) query = query.where('tenant_id', '=', filter.tenantId);
  return query
    .orderBy('started_at', 'desc')
    .limit(filter.limit ?? 100)
    .execute();
}

export async function updateMigration(
  id: string,
  change: Updateable<Omit<MigrationsTable, 'id' | 'tenant_id' | 'state'>>,
  db: Executor,
): Promise<void> {
  await db.updateTable('migrations').set(change).where('id', '=', id).execute();
}

/** Settles a running migration (once: a settled one stays as it is). */
export async function settleMigration(
  id: string,
  outcome: { state: 'succeeded' } | { state: 'rolled_back' | 'failed'; reason: string },
  extra: Updateable<Omit<MigrationsTable, 'id' | 'tenant_id' | 'state'>>,
  db: Executor,
): Promise<boolean> {
  const updated = await db
    .updateTable('migrations')
    .set({ ...extra, state: outcome.state, failure_reason: outcome.state === 'succeeded' ? null : outcome.reason, finished_at: new Date() })
    .where('id', '=', id)
    .where('state', '=', 'running')
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) === 1;
}

/** Succeeded migrations whose kept source database is due to be dropped. */
export async function sourcesDue(now: Date, db: Executor): Promise<MigrationRow[]> {
  return db
    .selectFrom('migrations')
    .selectAll()
    .where('state', '=', 'succeeded')
    .where('source_dropped_at', 'is', null)
    .where('source_drop_after', '<=', now)
    .execute();
}

/** A kept source of this tenant's earlier migration on `serverId`, not dropped yet. */
export async function keptSourceOn(tenantId: string, serverId: string, db: Executor): Promise<MigrationRow | undefined> {
  return db
    .selectFrom('migrations')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('state', '=', 'succeeded')
    .where('source_server_id', '=', serverId)
    .where('source_dropped_at', 'is', null)
    .where('source_drop_after', 'is not', null)
    .executeTakeFirst();
}
