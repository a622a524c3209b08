import { type Kysely, sql } from 'kysely';

/**
 * The Kill Bill provider's own tables (billing/providers/killbill/store.ts owns them): which Kill
 * Bill account and subscription each of our subscriptions is, and Kill Bill's push notifications,
 * kept once each (Kill Bill pushes again when a callback fails, and its events are only hints the
 * `killbill-notification` job re-reads) until that job has processed them.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('killbill_subscriptions')
    .addColumn('subscription_id', 'uuid', (c) => c.primaryKey().references('billing_subscriptions.id').onDelete('cascade'))
    .addColumn('account_id', 'uuid', (c) => c.notNull())
    .addColumn('killbill_account_id', 'uuid')
    .addColumn('killbill_subscription_id', 'uuid', (c) => c.unique())
    .addColumn('synced_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createTable('killbill_notifications')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('object_type', 'text', (c) => c.notNull())
    .addColumn('object_id', 'text')
    .addColumn('killbill_account_id', 'text')
    .addColumn('meta_data', 'text')
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('processed_at', 'timestamptz')
    .addColumn('outcome', 'text')
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('killbill_notifications').ifExists().execute();
  await db.schema.dropTable('killbill_subscriptions').ifExists().execute();
}
