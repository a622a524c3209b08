import { type Kysely, sql } from 'kysely';

/**
 * Several Odoo series side by side (issue 8, item 1): each tenant records the series its Odoo
 * runs (owned by tenants/store.ts; set at creation from its template's series). The runtime
 * starts the tenant with that series' odoo-bin and puts it in a pool of that series only.
 * Existing tenants take the series their template was built with (what actually ran them);
 * a tenant with none left stays null: the platform's default series.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tenants').addColumn('odoo_series', 'text').execute();
  await sql`
    UPDATE tenants t SET odoo_series = (
      SELECT b.odoo_version FROM template_builds b
       WHERE b.template_code = t.template_code AND b.odoo_version IS NOT NULL
       ORDER BY b.finished_at DESC NULLS LAST LIMIT 1)
    WHERE t.odoo_series IS NULL`.execute(db);
}

// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tenants').dropColumn('odoo_series').execute();
}
