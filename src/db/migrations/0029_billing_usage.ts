import { type Kysely, sql } from 'kysely';

/**
 * The billable usage of each closed billing period (billing/providers/builtin/store.ts owns it):
 * the peaks of active Odoo users and storage the period was billed for, and what that cost above
 * the price's included amounts. One row per subscription and period, written in the transaction
 * that closes the period, so a retried close finds it instead of writing a second.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('billing_usage')
    .addColumn('subscription_id', 'uuid', (c) => c.notNull().references('billing_subscriptions.id').onDelete('cascade'))
    .addColumn('period_start', 'timestamptz', (c) => c.notNull())
    .addColumn('period_end', 'timestamptz', (c) => c.notNull())
    .addColumn('plan_code', 'text', (c) => c.notNull())
    .addColumn('interval', 'text', (c) => c.notNull())
    .addColumn('odoo_users_peak', 'integer')
    .addColumn('odoo_users_peak_day', 'timestamptz')
    .addColumn('odoo_users_days', 'integer', (c) => c.notNull())
    .addColumn('storage_gib_peak', 'integer')
    .addColumn('storage_gib_peak_day', 'timestamptz')
    .addColumn('storage_gib_days', 'integer', (c) => c.notNull())
    .addColumn('charged_minor', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('billing_usage_pkey', ['subscription_id', 'period_start'])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('billing_usage').ifExists().execute();
}
