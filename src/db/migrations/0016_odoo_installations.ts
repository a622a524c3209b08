import { type Kysely, sql } from 'kysely';

/**
 * Odoo installations by series (issue 8, item 1), owned by `odoo-installs/store.ts`: one row per
 * series, the installer job's journal (`step`: the last step finished) and, once ready, the
 * odoo-bin the platform runs for that series.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('odoo_installations')
    .addColumn('series', 'text', (c) => c.primaryKey())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('step', 'text')
    .addColumn('step_detail', 'text')
    .addColumn('source_url', 'text', (c) => c.notNull())
    .addColumn('expected_sha256', 'text')
    .addColumn('archive_sha256', 'text')
    .addColumn('bin', 'text')
    .addColumn('version', 'text')
    .addColumn('error', 'text')
    .addColumn('job_id', 'uuid')
    .addColumn('requested_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .execute();
  // Templates declare the Odoo series they are built with (null: the one the platform runs).
  await db.schema.alterTable('templates').addColumn('series', 'text').execute();
}

// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('templates').dropColumn('series').execute();
  await db.schema.dropTable('odoo_installations').execute();
}
