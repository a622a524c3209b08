import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('spare_databases')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('server_id', 'uuid', (c) => c.notNull().references('database_servers.id').onDelete('cascade'))
    .addColumn('template_database', 'text', (c) => c.notNull())
    .addColumn('database_name', 'text', (c) => c.notNull().unique())
    .addColumn('role_name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status IN ('creating', 'ready')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('spare_databases_lookup_idx')
    .on('spare_databases')
    .columns(['server_id', 'template_database', 'status'])
    .execute();
  await db.schema.alterTable('tenants').addColumn('spare_database', 'text').execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tenants').dropColumn('spare_database').execute();
  await db.schema.dropTable('spare_databases').execute();
}
