import { type Kysely, sql } from 'kysely';

/**
 * Webhook events of payment gateways (billing/), kept once per (gateway, event id): receiving
 * one inserts it and queues its processing in the same transaction; processing marks it done in
 * the transaction that applies it. A redelivered event finds its row and is not applied again.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('billing_gateway_events')
    .addColumn('gateway', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('processed_at', 'timestamptz')
    .addColumn('outcome', 'text')
    .addPrimaryKeyConstraint('billing_gateway_events_pk', ['gateway', 'event_id'])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('billing_gateway_events').ifExists().execute();
}
