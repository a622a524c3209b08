import type { Kysely } from 'kysely';

/**
 * Our plan prices as Paystack plans (billing/paystack-plans-sync.ts): the plan code Paystack gave
 * each one, so the sync updates it in place and subscription events can name our plan.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('billing_paystack_plans')
    .addColumn('plan', 'text', (c) => c.notNull())
    .addColumn('interval', 'text', (c) => c.notNull())
    .addColumn('paystack_code', 'text', (c) => c.notNull().unique())
    .addColumn('amount_minor', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('synced_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('billing_paystack_plans_pk', ['plan', 'interval'])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('billing_paystack_plans').ifExists().execute();
}
