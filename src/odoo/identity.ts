import { randomUUID } from 'node:crypto';
import type pg from 'pg';

/**
 * What makes a clone of a template (or of a live tenant) a tenant of its own. Written straight
 * into the new database, as Odoo's own `db.py` duplicate/neutralise do: a fresh database uuid
 * and secret (else sessions, signed URLs and the publisher warranty contract are shared between
 * clones), the base URL *frozen* (else Odoo rewrites it on the first admin login, from whatever
 * host that request came through), the company name, and the admin's login, email and password.
 */
export interface TenantIdentity {
  baseUrl: string;
  /** Left as it is when undefined (restored data keeps its own company). */
  companyName: string | undefined;
  adminLogin: string;
  adminEmail: string;
  /** A `$pbkdf2-sha512$...` hash (odoo/password.ts), never the plain password. */
  adminPasswordHash: string;
}

/** Odoo's admin user is id 2 (id 1 is the inactive `__system__` superuser). */
export const ODOO_ADMIN_USER_ID = 2;
/** The main company created by `base`. */
export const ODOO_MAIN_COMPANY_ID = 1;

function odooDatetime(date: Date): string {
  return date.toISOString().replace('T', ' ').slice(0, 19);
}

export async function applyTenantIdentity(client: pg.Client, identity: TenantIdentity, now = new Date()): Promise<void> {
  const parameters: Array<[string, string]> = [
    ['database.uuid', randomUUID()],
    ['database.secret', randomUUID()],
    ['database.create_date', odooDatetime(now)],
    ['web.base.url', identity.baseUrl],
    ['web.base.url.freeze', 'True'],
  ];
  await client.query('BEGIN');
  try {
    for (const [key, value] of parameters) {
      await client.query(
        `INSERT INTO ir_config_parameter (key, value, create_date, write_date)
         VALUES ($1, $2, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, write_date = EXCLUDED.write_date`,
        [key, value],
      );
    }
    if (identity.companyName !== undefined) {
      await client.query('UPDATE res_company SET name = $1 WHERE id = $2', [identity.companyName, ODOO_MAIN_COMPANY_ID]);
      await client.query('UPDATE res_partner SET name = $1 WHERE id = (SELECT partner_id FROM res_company WHERE id = $2)', [
        identity.companyName,
        ODOO_MAIN_COMPANY_ID,
      ]);
    }
    const updated = await client.query('UPDATE res_users SET login = $1, password = $2, active = true WHERE id = $3', [
      identity.adminLogin,
      identity.adminPasswordHash,
      ODOO_ADMIN_USER_ID,
    ]);
    if (updated.rowCount !== 1) throw new Error('The template has no admin user (res_users id 2): rebuild the template.');
    await client.query('UPDATE res_partner SET email = $1 WHERE id = (SELECT partner_id FROM res_users WHERE id = $2)', [
      identity.adminEmail,
      ODOO_ADMIN_USER_ID,
    ]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
  // After the commit: an Odoo process checking between nextval (not transactional) and COMMIT
  // would refill its caches from the old rows and never be told again.
  await signalOdooCaches(client);
}

/**
 * Tells every Odoo process that has this database loaded to drop its ormcaches, as Odoo's own
 * `Registry.signal_changes` tells the other workers (odoo/modules/registry.py): the cache
 * signaling sequence moves (`base_cache_signaling` in 16, `base_cache_signaling_default` in 17
 * and 18), and a process compares it on its next request of this database with the value it
 * read when its registry's load *started* (setup_signaling comes before load_modules), and
 * clears its caches (`ir.config_parameter.get_param`, the users' and companies'...) when it
 * moved. Only the default cache: what the identity changes lives there, and 17's `assets`,
 * `templates` and `routing` caches (the routing map, compiled templates: seconds to rebuild in
 * every worker) hold none of it. The registry sequence is left alone (moving it reloads the
 * whole registry). Returns how many sequences moved (none in a database no Odoo has loaded).
 */
export async function signalOdooCaches(client: pg.Client): Promise<number> {
  const moved = await client.query(
    `SELECT nextval(c.oid::regclass) FROM pg_class c
      WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace
        AND c.relname IN ('base_cache_signaling', 'base_cache_signaling_default')`,
  );
  return moved.rowCount ?? 0;
}

/**
 * Points Odoo's base URL (links in mails, portal URLs) at `baseUrl` and keeps it frozen there, so
 * Odoo does not rewrite it from the host of the next admin login. One autocommitted statement,
 * then the cache signal (signalOdooCaches): never call it inside a transaction.
 */
export async function applyBaseUrl(client: pg.Client, baseUrl: string): Promise<void> {
  await client.query(
    `INSERT INTO ir_config_parameter (key, value, create_date, write_date)
     VALUES ('web.base.url', $1, now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'),
            ('web.base.url.freeze', 'True', now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC')
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, write_date = EXCLUDED.write_date`,
    [baseUrl],
  );
  // A live tenant's workers have the old one cached (get_param is ormcached).
  await signalOdooCaches(client);
}

/** Active internal users (what plans limit): not portal/public (`share`), not archived. */
export async function countActiveInternalUsers(client: pg.Client): Promise<number> {
  const result = await client.query<{ count: string }>('SELECT count(*)::text AS count FROM res_users WHERE active AND NOT share');
  return Number(result.rows[0]?.count ?? 0);
}

/**
 * Archives the `count` newest active internal users (the plan's limit enforced after its grace
 * period). The superuser (id 1) and the first admin (id 2) are never touched. Returns how many
 * were archived; counting again first makes a repeated call archive only what is still over.
 */
export async function deactivateNewestInternalUsers(client: pg.Client, count: number): Promise<number> {
  if (count <= 0) return 0;
  const result = await client.query(
    `UPDATE res_users SET active = false, write_date = now() AT TIME ZONE 'UTC'
      WHERE id IN (SELECT id FROM res_users WHERE active AND NOT share AND id > 2 ORDER BY create_date DESC NULLS LAST, id DESC LIMIT $1)`,
    [count],
  );
  return result.rowCount ?? 0;
}

export async function readConfigParameter(client: pg.Client, key: string): Promise<string | undefined> {
  const result = await client.query<{ value: string }>('SELECT value FROM ir_config_parameter WHERE key = $1', [key]);
  return result.rows[0]?.value;
}
