import { type Kysely, sql } from 'kysely';

/**
 * `backups` (owned by backups/store.ts): one row per archive the platform made or is making,
 * beside the archive itself (Odoo's own zip). A row is `verified` only once the stored object
 * was read back and its sha256 matched; `failed` rows keep the reason and never count towards
 * retention. `scheduled_for` makes a daily backup unique per tenant and slot, so replicas (and
 * a scheduler run twice) never make two of them.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('backups')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id'))
    .addColumn('tenant_name', 'text', (c) => c.notNull())
    .addColumn('trigger', 'text', (c) =>
      c
        .notNull()
        .check(sql`trigger IN ('schedule', 'on_demand', 'before_restore', 'before_plan_change', 'before_migration', 'before_delete')`),
    )
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('running').check(sql`state IN ('running', 'verified', 'failed')`))
    .addColumn('failure_reason', 'text')
    .addColumn('scheduled_for', 'timestamptz')
    .addColumn('database_name', 'text', (c) => c.notNull())
    .addColumn('odoo_version', 'text')
    .addColumn('pg_version', 'text')
    .addColumn('storage_kind', 'text', (c) => c.notNull().check(sql`storage_kind IN ('local', 's3')`))
    .addColumn('storage_key', 'text', (c) => c.notNull())
    .addColumn('storage_location', 'text', (c) => c.notNull())
    .addColumn('archive_bytes', 'bigint')
    .addColumn('dump_bytes', 'bigint')
    .addColumn('filestore_bytes', 'bigint')
    .addColumn('filestore_files', 'integer')
    .addColumn('sha256', 'text')
    .addColumn('record_counts', 'jsonb')
    .addColumn('duration_ms', 'integer')
    .addColumn('keep_until', 'timestamptz')
    .addColumn('created_by', 'uuid')
    .addColumn('job_id', 'text')
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addColumn('verified_at', 'timestamptz')
    // The latest test restore of this archive into a scratch database (backups/test-restore.ts).
    .addColumn('test_restore_state', 'text', (c) => c.check(sql`test_restore_state IN ('passed', 'failed')`))
    .addColumn('test_restore_reason', 'text')
    .addColumn('test_restored_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('backups_tenant_started').on('backups').columns(['tenant_id', 'started_at']).execute();
  await db.schema
    .createIndex('backups_one_per_slot')
    .on('backups')
    .columns(['tenant_id', 'scheduled_for'])
    .unique()
    .where(sql.ref('scheduled_for'), 'is not', null)
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('backups').ifExists().execute();
}
