import { type Kysely, sql } from 'kysely';

/**
 * Each tenant records the runtime kind that runs its Odoo (chosen at placement from the plan),
 * so callers ask the runtime registry for the tenant's runtime. Tenants placed before this
 * migration ran on the only runtime there was: `process` (the column's default).
 *
 * `tenant_upstreams` (owned by runtimes/upstream-store.ts): where each served tenant's Odoo
 * answers, written by the replica whose runtime serves it, so any replica's gateway routes it.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('tenants')
    .addColumn('runtime', 'text', (c) => c.notNull().defaultTo('process').check(sql`runtime IN ('process', 'docker', 'kubernetes')`))
    .execute();
  await db.schema
    .createTable('tenant_upstreams')
    .addColumn('tenant_id', 'uuid', (c) => c.primaryKey().references('tenants.id').onDelete('cascade'))
    .addColumn('runtime', 'text', (c) => c.notNull())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('port', 'integer', (c) => c.notNull())
    .addColumn('websocket_port', 'integer')
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('tenant_upstreams').ifExists().execute();
  await db.schema.alterTable('tenants').dropColumn('runtime').execute();
}
