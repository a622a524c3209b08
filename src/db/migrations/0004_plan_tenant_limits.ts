import { type Kysely, sql } from 'kysely';

/**
 * Plans gain `limits.maxTenantsPerAccount` (null: no limit). Plans already in the database were
 * seeded before the field existed and are never overwritten by the catalog, so they get the
 * catalog's default here: one tenant per account on the free basic plan, no limit on the others.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    UPDATE plans
    SET limits = limits || jsonb_build_object('maxTenantsPerAccount', CASE WHEN code = 'basic' THEN to_jsonb(1) ELSE 'null'::jsonb END)
    WHERE NOT limits ? 'maxTenantsPerAccount'
  `.execute(db);
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await sql`UPDATE plans SET limits = limits - 'maxTenantsPerAccount'`.execute(db);
}
