import { type Kysely, sql } from 'kysely';

/**
 * `restores` (owned by restores/store.ts): one row per restore of a backup, in place or into a
 * new tenant, and per import of an uploaded Odoo zip. The row is the journal of the restore job:
 * `step` is the last step finished, so a platform killed mid-restore resumes where it was.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('restores')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('in_place', 'new_tenant', 'import')`))
    .addColumn('backup_id', 'uuid', (c) => c.references('backups.id').onDelete('set null'))
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('running').check(sql`state IN ('running', 'succeeded', 'failed')`))
    .addColumn('step', 'text')
    .addColumn('previous_state', 'text')
    .addColumn('safety_backup_id', 'uuid')
    .addColumn('failure_reason', 'text')
    .addColumn('record_counts', 'jsonb')
    .addColumn('filestore_files', 'integer')
    .addColumn('created_by', 'uuid')
    .addColumn('job_id', 'text')
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('swapped_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('restores_tenant_started').on('restores').columns(['tenant_id', 'started_at']).execute();
  // A tenant is restored by one restore at a time.
  await db.schema
    .createIndex('restores_one_running')
    .on('restores')
    .column('tenant_id')
    .unique()
    .where(sql.ref('state'), '=', 'running')
    .execute();
  // A tenant created from an archive (a backup restored into a new tenant, an import) names its restore.
  await db.schema.alterTable('tenants').addColumn('restore_id', 'uuid').execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tenants').dropColumn('restore_id').execute();
  await db.schema.dropTable('restores').ifExists().execute();
}
