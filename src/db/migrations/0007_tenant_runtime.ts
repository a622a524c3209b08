import { type Kysely, sql } from 'kysely';

/**
 * Each tenant records the runtime kind that runs its Odoo (chosen at placement from the plan),
 * so callers ask the runtime registry for the tenant's runtime. Tenants placed before this
 * migration ran on the only runtime there was: `process` (the column's default).
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('tenants')
    .addColumn('runtime', 'text', (c) => c.notNull().defaultTo('process').check(sql`runtime IN ('process', 'docker', 'kubernetes')`))
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tenants').dropColumn('runtime').execute();
}
