import { type Kysely, sql } from 'kysely';

/**
 * The domain event outbox (events/): each event is written in the transaction of the change it
 * reports and delivered after commit. `domain_event_cursors` holds how far each durable
 * subscriber (one delivery across all replicas) has got; replica-local subscribers keep theirs
 * in memory.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('domain_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('payload', 'jsonb', (c) => c.notNull())
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createTable('domain_event_cursors')
    .addColumn('subscriber', 'text', (c) => c.primaryKey())
    .addColumn('last_event_id', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('domain_event_cursors').ifExists().execute();
  await db.schema.dropTable('domain_events').ifExists().execute();
}
