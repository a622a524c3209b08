import { sql, type Transaction } from 'kysely';
import type { Database } from '../db/index.js';
import type { DeliveredEvent, DomainEvent } from './types.js';
import { streamOf } from './types.js';

/** The wake-up channel: a NOTIFY sent when a transaction that wrote events commits. */
export const DOMAIN_EVENTS_CHANNEL = 'domain_events';

/**
 * Writes events to the outbox inside the transaction of the change they report: they exist
 * exactly when the change does (a rolled-back change leaves none), and every replica's delivery
 * loop is woken when it commits (NOTIFY is transactional too).
 *
 * Commit order = id order: writers take one transaction-scoped lock before inserting, held until
 * commit, so a delivery loop that has seen event N can never later find a committed event below
 * N (which a plain sequence allows: ids are drawn at insert, transactions commit in any order).
 * The lock serialises only the short tail of event-writing transactions (write the outbox last).
 */
export async function publishDomainEvents(trx: Transaction<Database>, ...events: DomainEvent[]): Promise<void> {
  if (events.length === 0) return;
  await sql`SELECT pg_advisory_xact_lock(hashtext('domain-event-outbox'))`.execute(trx);
  await trx
    .insertInto('domain_events')
    .values(events.map((event) => ({ type: event.type, stream: streamOf(event), payload: JSON.stringify(event.payload) })))
    .execute();
  await sql`SELECT pg_notify(${DOMAIN_EVENTS_CHANNEL}, '')`.execute(trx);
}

/** An outbox row as subscribers get it (the payload was typed by its publisher). */
export function toDeliveredEvent(row: {
  id: string | number;
  type: string;
  stream: string;
  payload: unknown;
  occurred_at: Date;
}): DeliveredEvent {
  return {
    id: Number(row.id),
    type: row.type,
    stream: row.stream,
    payload: row.payload,
    occurredAt: row.occurred_at,
  } as DeliveredEvent;
}
