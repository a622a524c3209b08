import { type Kysely, sql } from 'kysely';

/**
 * Usage metering and limit enforcement (owned by usage/store.ts): raw samples (kept 7 days),
 * hourly and daily rollups, and each tenant's standing against each of its plan's limits.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('usage_samples')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    // The sampling round the sample belongs to (its start): one sample per tenant and round, so a
    // retried or duplicated job cannot write a second one.
    .addColumn('slot', 'timestamptz', (c) => c.notNull())
    .addColumn('sampled_at', 'timestamptz', (c) => c.notNull())
    .addColumn('odoo_users', 'integer')
    .addColumn('database_bytes', 'bigint')
    .addColumn('filestore_bytes', 'bigint')
    .addColumn('cpu_seconds', 'double precision')
    .addColumn('memory_bytes', 'bigint')
    .addPrimaryKeyConstraint('usage_samples_pkey', ['tenant_id', 'slot'])
    .execute();
  await db.schema.createIndex('usage_samples_slot').on('usage_samples').column('slot').execute();
  await db.schema
    .createTable('usage_rollups')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('step', 'text', (c) => c.notNull().check(sql`step IN ('hour', 'day')`))
    .addColumn('bucket', 'timestamptz', (c) => c.notNull())
    .addColumn('samples', 'integer', (c) => c.notNull())
    .addColumn('odoo_users_max', 'integer')
    .addColumn('database_bytes_max', 'bigint')
    .addColumn('filestore_bytes_max', 'bigint')
    .addColumn('storage_bytes_max', 'bigint')
    .addColumn('cpu_seconds_max', 'double precision')
    .addColumn('memory_bytes_max', 'bigint')
    .addPrimaryKeyConstraint('usage_rollups_pkey', ['tenant_id', 'step', 'bucket'])
    .execute();
  await db.schema
    .createTable('usage_limit_states')
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('resource', 'text', (c) => c.notNull().check(sql`resource IN ('odoo_users', 'storage')`))
    .addColumn('level', 'text', (c) => c.notNull().check(sql`level IN ('ok', 'warning', 'reached', 'over')`))
    .addColumn('used', 'bigint', (c) => c.notNull())
    .addColumn('limit_value', 'bigint', (c) => c.notNull())
    .addColumn('since', 'timestamptz', (c) => c.notNull())
    // What the control plane enforces now: new internal users refused at the gateway, the
    // database read-only. Kept here so every replica's gateway and the next round agree.
    .addColumn('block_new_users', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('read_only', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('usage_limit_states_pkey', ['tenant_id', 'resource'])
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('usage_limit_states').ifExists().execute();
  await db.schema.dropTable('usage_rollups').ifExists().execute();
  await db.schema.dropTable('usage_samples').ifExists().execute();
}
