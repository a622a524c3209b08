import { quoteIdentifier, quoteLiteral, withConnection } from '../../src/postgres/index.js';
import type { DatabaseCredentials, PoolAccess } from '../../src/runtimes/index.js';
import { tenantDatabaseOfRole } from '../../src/tenants/index.js';

/**
 * PoolAccess for tests, with real SQL on the suite's PostgreSQL: a login role per pool
 * (`p_<pool name>`), tenant roles granted to it and their databases handed over to it while it
 * serves them (as postgres/createPoolAccess does: Odoo lists, and its cron workers walk, only the
 * databases its role owns), sessions ended on revoke. The password is given, so several
 * processes (a runtime in a child process) agree on it.
 */
export function sqlPoolAccess(adminUrl: string, password: string): PoolAccess & { roleOf(poolName: string): string } {
  const parsed = new URL(adminUrl);
  const roleOf = (poolName: string) => `p_${poolName.replace(/-/g, '_')}`;
  const admin = (sql: string, values: unknown[] = []) => withConnection(adminUrl, (client) => client.query(sql, values));
  const setOwner = async (database: string, owner: string, tenantRole: string) => {
    const found = await admin('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount !== 1) return;
    await admin(`ALTER DATABASE ${quoteIdentifier(database)} OWNER TO ${quoteIdentifier(owner)}`);
    await admin(`GRANT CONNECT, TEMPORARY ON DATABASE ${quoteIdentifier(database)} TO ${quoteIdentifier(tenantRole)}`);
  };
  return {
    roleOf,
    async poolCredentials(_databaseServerId, poolName): Promise<DatabaseCredentials> {
      const role = roleOf(poolName);
      const exists = await admin('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
      const verb = exists.rowCount === 1 ? 'ALTER' : 'CREATE';
      await admin(
        `${verb} ROLE ${quoteIdentifier(role)} WITH LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${quoteLiteral(password)}`,
      );
      return { host: parsed.hostname, port: Number(parsed.port || 5432), user: role, password };
    },
    async grantTenant(_databaseServerId, poolName, tenantRoleName) {
      await admin(`GRANT ${quoteIdentifier(tenantRoleName)} TO ${quoteIdentifier(roleOf(poolName))}`);
      await setOwner(tenantDatabaseOfRole(tenantRoleName), roleOf(poolName), tenantRoleName);
    },
    async revokeTenant(_databaseServerId, poolName, tenantRoleName) {
      const pool = roleOf(poolName);
      const exists = await admin('SELECT 1 FROM pg_roles WHERE rolname = $1', [pool]);
      if (exists.rowCount !== 1) return;
      await setOwner(tenantDatabaseOfRole(tenantRoleName), tenantRoleName, tenantRoleName);
      await admin(`REVOKE ${quoteIdentifier(tenantRoleName)} FROM ${quoteIdentifier(pool)}`);
      // CONNECT is checked when a session starts: sessions opened before the revoke must end.
      await admin(
        `SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a
           JOIN pg_database d ON d.datname = a.datname JOIN pg_roles o ON o.oid = d.datdba
          WHERE a.usename = $1 AND o.rolname = $2`,
        [pool, tenantRoleName],
      );
    },
  };
}
