/**
 * The one owner of `tenant_hibernation`: the newest HTTP request per tenant (flushed in batches by
 * every replica), whether a tenant's Odoo is hibernated, its last wake and its next cron wake.
 * A missing row means "awake, no request recorded yet".
 */
import { sql, type Transaction } from 'kysely';
import type { Database, Db, TenantHibernationRow } from '../db/index.js';

type Executor = Db | Transaction<Database>;

/**
 * Records the newest request time per tenant; an older time never overwrites a newer one (replicas
 * flush in any order). Tenants deleted meanwhile are skipped (the row hangs on the tenant).
 */
export async function recordRequests(db: Db, latest: ReadonlyMap<string, Date>): Promise<void> {
  if (latest.size === 0) return;
  const ids = [...latest.keys()];
  const times = ids.map((id) => (latest.get(id) as Date).toISOString());
  await sql`
    INSERT INTO tenant_hibernation (tenant_id, last_request_at)
    SELECT seen.id, seen.at FROM unnest(${ids}::uuid[], ${times}::timestamptz[]) AS seen(id, at)
    JOIN tenants ON tenants.id = seen.id
    ON CONFLICT (tenant_id) DO UPDATE
      SET last_request_at = GREATEST(tenant_hibernation.last_request_at, EXCLUDED.last_request_at)`.execute(db);
}

export async function hibernationRows(db: Executor, tenantIds: readonly string[]): Promise<Map<string, TenantHibernationRow>> {
  if (tenantIds.length === 0) return new Map();
  const rows = await db.selectFrom('tenant_hibernation').selectAll().where('tenant_id', 'in', tenantIds).execute();
  return new Map(rows.map((row) => [row.tenant_id, row]));
}

export async function hibernationRow(db: Executor, tenantId: string): Promise<TenantHibernationRow | undefined> {
  return db.selectFrom('tenant_hibernation').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
}

/**
 * The tenant's row, created if missing, locked until the caller's transaction ends: a hibernation
 * and a wake of one tenant (on any replica) run one after the other.
 */
export async function lockHibernationRow(trx: Transaction<Database>, tenantId: string): Promise<TenantHibernationRow> {
  await trx
    .insertInto('tenant_hibernation')
    .values({ tenant_id: tenantId })
    .onConflict((c) => c.column('tenant_id').doNothing())
    .execute();
  return trx.selectFrom('tenant_hibernation').selectAll().where('tenant_id', '=', tenantId).forUpdate().executeTakeFirstOrThrow();
}

export async function markHibernated(trx: Transaction<Database>, tenantId: string, at: Date, cronWakeAt: Date | null): Promise<void> {
  await trx
    .updateTable('tenant_hibernation')
    .set({ hibernated_at: at, cron_wake_at: cronWakeAt })
    .where('tenant_id', '=', tenantId)
    .execute();
}

export async function markAwake(
  trx: Transaction<Database>,
  tenantId: string,
  wake: { at: Date; ms: number; reason: 'request' | 'cron' },
): Promise<void> {
  await trx
    .updateTable('tenant_hibernation')
    .set({
      hibernated_at: null,
      cron_wake_at: null,
      last_woken_at: wake.at,
      last_wake_ms: wake.ms,
      last_wake_reason: wake.reason,
      last_wake_error: null,
    })
    .where('tenant_id', '=', tenantId)
    .execute();
}

export async function recordWakeError(db: Executor, tenantId: string, error: string): Promise<void> {
  await db.updateTable('tenant_hibernation').set({ last_wake_error: error }).where('tenant_id', '=', tenantId).execute();
}

/** Hibernated tenants whose earliest cron is due by `now`. */
export async function cronWakesDue(db: Executor, now: Date): Promise<string[]> {
  const rows = await db
    .selectFrom('tenant_hibernation')
    .select('tenant_id')
    .where('hibernated_at', 'is not', null)
    .where('cron_wake_at', '<=', now)
    .execute();
  return rows.map((row) => row.tenant_id);
}

/** Ids of hibernated tenants among `tenantIds` (a runtime restoring its workloads skips them). */
export async function hibernatedAmong(db: Executor, tenantIds: readonly string[]): Promise<Set<string>> {
  const rows = await hibernationRows(db, tenantIds);
  return new Set([...rows.values()].filter((row) => row.hibernated_at !== null).map((row) => row.tenant_id));
}

/** Forgets the hibernation of tenants a start or restart served again meanwhile (they are awake). */
export async function clearHibernated(db: Executor, tenantIds: readonly string[]): Promise<void> {
  if (tenantIds.length === 0) return;
  await db.updateTable('tenant_hibernation').set({ hibernated_at: null, cron_wake_at: null }).where('tenant_id', 'in', tenantIds).execute();
}
