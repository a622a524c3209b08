import type { Kysely } from 'kysely';

/**
 * An upgrade charged but not paid yet: the plan its tenant moves to once the prorated invoice is
 * paid (billing/engine.ts). Null when nothing waits; the billing provider's store is its writer.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('billing_subscriptions').addColumn('plan_awaiting_payment', 'text').execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('billing_subscriptions').dropColumn('plan_awaiting_payment').execute();
}
