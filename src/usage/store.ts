/**
 * The usage tables' one owner: `usage_samples` (raw, one per tenant and round), `usage_rollups`
 * (hourly and daily maxima) and `usage_limit_states` (each tenant's standing per limit). Every
 * function takes the executor last: the platform database or a caller's transaction.
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Database, UsageLimitStateRow, UsageRollupRow, UsageSampleRow } from '../db/index.js';
import type { LimitResource, LimitStanding } from './policy.js';

type Executor = Kysely<Database> | Transaction<Database>;

export interface UsageMeasure {
  odooUsers: number | null;
  databaseBytes: number | null;
  filestoreBytes: number | null;
  cpuSeconds: number | null;
  memoryBytes: number | null;
}

/** Raw samples are kept this long; hourly rollups 90 days; daily ones as long as the tenant. */
export const RAW_RETENTION_DAYS = 7;
export const HOURLY_RETENTION_DAYS = 90;

/** Inserts the round's sample; false when the round already has one (a retried or duplicated job). */
export async function insertSample(tenantId: string, slot: Date, at: Date, measure: UsageMeasure, db: Executor): Promise<boolean> {
  const result = await db
    .insertInto('usage_samples')
    .values({
      tenant_id: tenantId,
      slot,
      sampled_at: at,
      odoo_users: measure.odooUsers,
      database_bytes: measure.databaseBytes,
      filestore_bytes: measure.filestoreBytes,
      cpu_seconds: measure.cpuSeconds,
      memory_bytes: measure.memoryBytes,
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'slot']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function sampleExists(tenantId: string, slot: Date, db: Executor): Promise<boolean> {
  const row = await db
    .selectFrom('usage_samples')
    .select('slot')
    .where('tenant_id', '=', tenantId)
    .where('slot', '=', slot)
    .executeTakeFirst();
  return row !== undefined;
}

/** The tenant's standings, locked for the caller's transaction (one sample of a tenant decides at a time). */
export async function lockedStandings(tenantId: string, trx: Transaction<Database>): Promise<Map<LimitResource, UsageLimitStateRow>> {
  // Also before the tenant's first standing exists (no row to lock yet): two samples never decide at once.
  await sql`SELECT pg_advisory_xact_lock(hashtext(${`usage-standings:${tenantId}`}))`.execute(trx);
  const rows = await trx.selectFrom('usage_limit_states').selectAll().where('tenant_id', '=', tenantId).forUpdate().execute();
  return new Map(rows.map((row) => [row.resource, row]));
}

export function toStanding(row: UsageLimitStateRow): LimitStanding {
  return { level: row.level, since: row.since, blockNewUsers: row.block_new_users, readOnly: row.read_only };
}

export async function saveStanding(
  tenantId: string,
  resource: LimitResource,
  standing: LimitStanding,
  figures: { used: number; limit: number },
  db: Executor,
): Promise<void> {
  const values = {
    level: standing.level,
    since: standing.since,
    block_new_users: standing.blockNewUsers,
    read_only: standing.readOnly,
    used: figures.used,
    limit_value: figures.limit,
    updated_at: new Date(),
  };
  await db
    .insertInto('usage_limit_states')
    .values({ tenant_id: tenantId, resource, ...values })
    .onConflict((oc) => oc.columns(['tenant_id', 'resource']).doUpdateSet(values))
    .execute();
}

export async function standingsOf(tenantId: string | undefined, db: Executor): Promise<UsageLimitStateRow[]> {
  let query = db.selectFrom('usage_limit_states').selectAll().orderBy('tenant_id').orderBy('resource');
  if (tenantId) query = query.where('tenant_id', '=', tenantId);
  return query.execute();
}

/** Standings that restrict a tenant at the gateway (all tenants, or one). */
export async function restrictingStandings(tenantId: string | undefined, db: Executor): Promise<UsageLimitStateRow[]> {
  let query = db
    .selectFrom('usage_limit_states')
    .selectAll()
    .where((eb) => eb.or([eb('block_new_users', '=', true), eb('read_only', '=', true)]));
  if (tenantId) query = query.where('tenant_id', '=', tenantId);
  return query.execute();
}

export async function samplesBetween(tenantId: string, from: Date, to: Date, db: Executor): Promise<UsageSampleRow[]> {
  return db
    .selectFrom('usage_samples')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('slot', '>=', from)
    .where('slot', '<=', to)
    .orderBy('slot')
    .execute();
}

export async function rollupsBetween(
  tenantId: string,
  step: 'hour' | 'day',
  from: Date,
  to: Date,
  db: Executor,
): Promise<UsageRollupRow[]> {
  return db
    .selectFrom('usage_rollups')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('step', '=', step)
    .where('bucket', '>=', sql<Date>`date_trunc(${step}, ${from}::timestamptz)`)
    .where('bucket', '<=', to)
    .orderBy('bucket')
    .execute();
}

/** The newest sample of every tenant that has one (the operator's overview). */
export async function latestSamples(db: Executor): Promise<UsageSampleRow[]> {
  return db.selectFrom('usage_samples').distinctOn('tenant_id').selectAll().orderBy('tenant_id').orderBy('slot', 'desc').execute();
}

/**
 * Rolls the raw samples of the hours touching the last two hours up into hourly rows, those
 * hours into daily rows for the last two days, and drops what is past retention. Idempotent:
 * a bucket is recomputed whole each time (upsert), so running it twice or late changes nothing.
 */
export async function rollUp(now: Date, db: Executor): Promise<{ hours: number; days: number; pruned: number }> {
  const hours = await sql`
    INSERT INTO usage_rollups (tenant_id, step, bucket, samples, odoo_users_max, database_bytes_max, filestore_bytes_max,
                               storage_bytes_max, cpu_seconds_max, memory_bytes_max)
    SELECT tenant_id, 'hour', date_trunc('hour', slot), count(*), max(odoo_users), max(database_bytes), max(filestore_bytes),
           max(coalesce(database_bytes, 0) + coalesce(filestore_bytes, 0)), max(cpu_seconds), max(memory_bytes)
      FROM usage_samples
     WHERE slot >= date_trunc('hour', ${now}::timestamptz) - interval '2 hours' AND slot <= ${now}
     GROUP BY tenant_id, date_trunc('hour', slot)
    ON CONFLICT (tenant_id, step, bucket) DO UPDATE SET
      samples = EXCLUDED.samples, odoo_users_max = EXCLUDED.odoo_users_max, database_bytes_max = EXCLUDED.database_bytes_max,
      filestore_bytes_max = EXCLUDED.filestore_bytes_max, storage_bytes_max = EXCLUDED.storage_bytes_max,
      cpu_seconds_max = EXCLUDED.cpu_seconds_max, memory_bytes_max = EXCLUDED.memory_bytes_max`.execute(db);
  const days = await sql`
    INSERT INTO usage_rollups (tenant_id, step, bucket, samples, odoo_users_max, database_bytes_max, filestore_bytes_max,
                               storage_bytes_max, cpu_seconds_max, memory_bytes_max)
    SELECT tenant_id, 'day', date_trunc('day', bucket), sum(samples), max(odoo_users_max), max(database_bytes_max),
           max(filestore_bytes_max), max(storage_bytes_max), max(cpu_seconds_max), max(memory_bytes_max)
      FROM usage_rollups
     WHERE step = 'hour' AND bucket >= date_trunc('day', ${now}::timestamptz) - interval '1 day' AND bucket <= ${now}
     GROUP BY tenant_id, date_trunc('day', bucket)
    ON CONFLICT (tenant_id, step, bucket) DO UPDATE SET
      samples = EXCLUDED.samples, odoo_users_max = EXCLUDED.odoo_users_max, database_bytes_max = EXCLUDED.database_bytes_max,
      filestore_bytes_max = EXCLUDED.filestore_bytes_max, storage_bytes_max = EXCLUDED.storage_bytes_max,
      cpu_seconds_max = EXCLUDED.cpu_seconds_max, memory_bytes_max = EXCLUDED.memory_bytes_max`.execute(db);
  const pruned = await db
    .deleteFrom('usage_samples')
    .where('slot', '<', new Date(now.getTime() - RAW_RETENTION_DAYS * 86_400_000))
    .executeTakeFirst();
  await db
    .deleteFrom('usage_rollups')
    .where('step', '=', 'hour')
    .where('bucket', '<', new Date(now.getTime() - HOURLY_RETENTION_DAYS * 86_400_000))
    .execute();
  return { hours: Number(hours.numAffectedRows ?? 0), days: Number(days.numAffectedRows ?? 0), pruned: Number(pruned.numDeletedRows) };
}

/**
 * Every measurement of a tenant in [from, to) that billing counts: raw samples (the last 7 days),
 * hourly maxima (90 days) and daily maxima (kept for good), each with the start of what it
 * measures. Overlaps are harmless to a reader taking maxima (billing/usage-charges.ts).
 */
export async function billablePoints(
  tenantId: string,
  from: Date,
  to: Date,
  db: Executor,
): Promise<Array<{ at: Date; odooUsers: number | null; storageBytes: number | null }>> {
  const [raw, rolled] = await Promise.all([
    db
      .selectFrom('usage_samples')
      .select(['slot', 'odoo_users', 'database_bytes', 'filestore_bytes'])
      .where('tenant_id', '=', tenantId)
      .where('slot', '>=', from)
      .where('slot', '<', to)
      .execute(),
    db
      .selectFrom('usage_rollups')
      .select(['bucket', 'odoo_users_max', 'storage_bytes_max'])
      .where('tenant_id', '=', tenantId)
      .where('bucket', '>=', from)
      .where('bucket', '<', to)
      .execute(),
  ]);
  return [
    ...raw.map((r) => ({
      at: r.slot,
      odooUsers: r.odoo_users,
      storageBytes: r.database_bytes === null ? null : r.database_bytes + (r.filestore_bytes ?? 0),
    })),
    ...rolled.map((r) => ({ at: r.bucket, odooUsers: r.odoo_users_max, storageBytes: r.storage_bytes_max })),
  ];
}
