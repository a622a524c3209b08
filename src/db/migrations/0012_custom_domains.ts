import { type Kysely, sql } from 'kysely';

/**
 * Custom domains of tenants (owned by domains/store.ts). A domain may be claimed by several
 * tenants while unproven (so nobody can squat a name by adding it first), but only one claim can
 * be proven: the routed statuses are unique per domain across all accounts.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('custom_domains')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('domain', 'text', (c) => c.notNull())
    .addColumn('token', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending').check(sql`status IN ('pending', 'verified', 'failing')`))
    .addColumn('is_primary', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('verified_at', 'timestamptz')
    .addColumn('last_checked_at', 'timestamptz')
    .addColumn('failing_since', 'timestamptz')
    .addColumn('last_check_error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('custom_domains_primary_is_routed', sql`NOT is_primary OR status <> 'pending'`)
    .execute();
  await db.schema.createIndex('custom_domains_tenant_domain').on('custom_domains').columns(['tenant_id', 'domain']).unique().execute();
  await sql`CREATE UNIQUE INDEX custom_domains_routed_domain ON custom_domains (domain) WHERE status <> 'pending'`.execute(db);
  await sql`CREATE UNIQUE INDEX custom_domains_one_primary ON custom_domains (tenant_id) WHERE is_primary`.execute(db);
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('custom_domains').ifExists().execute();
}
