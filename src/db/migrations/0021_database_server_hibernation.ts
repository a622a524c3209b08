import type { Kysely } from 'kysely';

/**
 * Hibernation of dedicated PostgreSQL servers (owned by postgres/server-sleep.ts): set while the
 * platform keeps a tenant's dedicated server stopped because its Odoo is hibernated and idle long
 * enough; a platform restart leaves such a server stopped, and the first user wakes it.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('database_servers').addColumn('hibernated_at', 'timestamptz').execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('database_servers').dropColumn('hibernated_at').execute();
}
