import { type Kysely, sql } from 'kysely';

/**
 * Hibernation of idle dedicated tenants (owned by hibernation/store.ts): the last HTTP request any
 * replica saw (flushed in batches), whether the tenant's Odoo is hibernated, its last wake and the
 * time its earliest cron is due (when a hibernated tenant is woken to run its crons).
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('tenant_hibernation')
    .addColumn('tenant_id', 'uuid', (c) => c.primaryKey().references('tenants.id').onDelete('cascade'))
    .addColumn('last_request_at', 'timestamptz')
    .addColumn('hibernated_at', 'timestamptz')
    .addColumn('cron_wake_at', 'timestamptz')
    .addColumn('last_woken_at', 'timestamptz')
    .addColumn('last_wake_ms', 'integer')
    .addColumn('last_wake_reason', 'text', (c) => c.check(sql`last_wake_reason IN ('request', 'cron')`))
    .addColumn('last_wake_error', 'text')
    .execute();
  await sql`CREATE INDEX tenant_hibernation_cron_due ON tenant_hibernation (cron_wake_at) WHERE hibernated_at IS NOT NULL`.execute(db);
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('tenant_hibernation').ifExists().execute();
}
