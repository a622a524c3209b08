import { sql, type Transaction } from 'kysely';
import type { Database, Db } from '../db/index.js';

/** webhook_endpoints and webhook_deliveries: their only reader and writer. */
type Executor = Db | Transaction<Database>;

export async function insertEndpoint(
  row: {
    accountId: string | null;
    url: string;
    description: string;
    eventTypes: string[];
    secretEncrypted: string;
    createdBy: string | null;
  },
  db: Executor,
) {
  return db
    .insertInto('webhook_endpoints')
    .values({
      account_id: row.accountId,
      url: row.url,
      description: row.description,
      event_types: row.eventTypes,
      secret_encrypted: row.secretEncrypted,
      created_by: row.createdBy,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function endpointById(id: string, db: Executor) {
  return db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
}
export type EndpointRow = NonNullable<Awaited<ReturnType<typeof endpointById>>>;

export async function listEndpoints(accountId: string | undefined, db: Executor) {
  let query = db.selectFrom('webhook_endpoints').selectAll().orderBy('created_at', 'desc').orderBy('id');
  if (accountId) query = query.where('account_id', '=', accountId);
  return query.execute();
}

export async function updateEndpoint(
  id: string,
  change: Partial<{
    url: string;
    description: string;
    event_types: string[];
    enabled: boolean;
    disabled_reason: string | null;
    consecutive_failures: number;
  }>,
  db: Executor,
) {
  return db.updateTable('webhook_endpoints').set(change).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function deleteEndpoint(id: string, db: Executor): Promise<boolean> {
  const result = await db.deleteFrom('webhook_endpoints').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Enabled endpoints that want `eventType` for a tenant of `accountId` (operators' endpoints want all tenants). */
export async function subscribedEndpoints(eventType: string, accountId: string | null, db: Executor) {
  return db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('enabled', '=', true)
    .where((eb) => (accountId ? eb.or([eb('account_id', 'is', null), eb('account_id', '=', accountId)]) : eb('account_id', 'is', null)))
    .where(sql<boolean>`(${eventType} = ANY(event_types) OR '*' = ANY(event_types))`)
    .execute();
}

/** A delivery for the event and endpoint, unless it exists (a replayed event); answers the new id. */
export async function insertDelivery(
  row: { endpointId: string; eventId: number; eventType: string; body: string; redeliveryOf?: string },
  db: Executor,
): Promise<string | undefined> {
  const inserted = await db
    .insertInto('webhook_deliveries')
    .values({
      endpoint_id: row.endpointId,
      event_id: String(row.eventId),
      event_type: row.eventType,
      body: row.body,
      redelivery_of: row.redeliveryOf ?? null,
    })
    .onConflict((oc) => oc.columns(['endpoint_id', 'event_id']).where('redelivery_of', 'is', null).doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted?.id;
}

export async function deliveryById(id: string, db: Executor) {
  return db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
}
export type DeliveryRow = NonNullable<Awaited<ReturnType<typeof deliveryById>>>;

export async function listDeliveries(endpointId: string, limit: number, db: Executor) {
  return db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('endpoint_id', '=', endpointId)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(limit)
    .execute();
}

export async function recordDeliveryAttempt(
  id: string,
  outcome: { status: 'pending' | 'succeeded' | 'failed'; statusCode: number | null; error: string | null; nextAttemptAt: Date | null },
  db: Executor,
) {
  await db
    .updateTable('webhook_deliveries')
    .set((eb) => ({
      attempts: eb('attempts', '+', 1),
      status: outcome.status,
      last_status_code: outcome.statusCode,
      last_error: outcome.error,
      next_attempt_at: outcome.nextAttemptAt,
      finished_at: outcome.status === 'pending' ? null : new Date(),
    }))
    .where('id', '=', id)
    .execute();
}

/** Counts a failure (or resets the count on success) under the row lock; answers the new count. */
export async function countEndpointOutcome(id: string, ok: boolean, db: Executor): Promise<number> {
  const row = await db
    .updateTable('webhook_endpoints')
    .set((eb) => ({ consecutive_failures: ok ? 0 : eb('consecutive_failures', '+', 1) }))
    .where('id', '=', id)
    .returning('consecutive_failures')
    .executeTakeFirst();
  return row?.consecutive_failures ?? 0;
}
