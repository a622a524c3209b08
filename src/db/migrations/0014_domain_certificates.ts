import type { Kysely } from 'kysely';

/** What the TLS edge presents for each routed custom domain, as last seen by the platform (domains/). */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('custom_domains')
    .addColumn('certificate_valid_from', 'timestamptz')
    .addColumn('certificate_expires_at', 'timestamptz')
    .addColumn('certificate_issuer', 'text')
    .addColumn('certificate_checked_at', 'timestamptz')
    .addColumn('certificate_error', 'text')
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('custom_domains')
    .dropColumn('certificate_valid_from')
    .dropColumn('certificate_expires_at')
    .dropColumn('certificate_issuer')
    .dropColumn('certificate_checked_at')
    .dropColumn('certificate_error')
    .execute();
}
