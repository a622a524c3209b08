import { type Kysely, sql } from 'kysely';

/**
 * Saved payment methods for renewals (billing/providers/builtin): one per account and gateway,
 * saved from the verified first payment. Stripe keeps the customer (its default payment method is
 * read when charging, so a card changed in Stripe's customer portal is the one charged); Paystack
 * keeps the reusable authorization code, which charges the card with our secret key and is
 * therefore sealed with the platform's secret box. `label` ("visa ending 4081") is for people.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('billing_payment_methods')
    .addColumn('account_id', 'uuid', (c) => c.notNull())
    .addColumn('gateway', 'text', (c) => c.notNull())
    .addColumn('customer_ref', 'text')
    .addColumn('authorization_sealed', 'text')
    .addColumn('email', 'text')
    .addColumn('label', 'text')
    .addColumn('saved_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('billing_payment_methods_pk', ['account_id', 'gateway'])
    .addCheckConstraint('billing_payment_methods_something', sql`customer_ref is not null or authorization_sealed is not null`)
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('billing_payment_methods').ifExists().execute();
}
