import type { Kysely } from 'kysely';

/**
 * Where a subscription's unbilled usage of the current period begins: an upgrade mid-period bills
 * the usage before it at the old price's terms (on the prorated invoice) and the renewal bills
 * only the rest (billing/engine.ts). Null: from the period's start.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('billing_subscriptions').addColumn('usage_from', 'timestamptz').execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('billing_subscriptions').dropColumn('usage_from').execute();
}
