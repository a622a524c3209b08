import { createHmac } from 'node:crypto';
import type { DatabaseServerRegistry } from './registry.js';

/** What a pool's Odoo connects with (the shape of runtimes' DatabaseCredentials, which imports this folder). */
export interface PoolCredentials {
  host: string;
  port: number;
  user: string;
  password: string;
}

/** Pool role names: one login role per pool, member of the roles of the tenants it serves. */
export function poolRoleName(poolName: string): string {
  const name = poolName.replace(/[^a-z0-9_]/gi, '_').toLowerCase();
  return (name.startsWith('pool_') ? name : `pool_${name}`).slice(0, 63);
}

/**
 * How a multi-database Odoo pool reaches exactly the databases of its tenants: its role is
 * granted each tenant role (inheriting its rights on the tables) and made owner of the tenant
 * database, because Odoo only lists (and so only selects by host) databases whose owner is its
 * own role (`datdba = current_user` in odoo/service/db.py). Both are undone when the tenant
 * leaves, and the pool's open sessions on that database are ended. The password is derived from
 * the platform secret, so a pool restarted by any replica gets the same credentials.
 *
 * Tenant naming is not this folder's business: the composition passes how a tenant role's
 * database is named (tenants/ `tenantDatabaseOfRole`).
 */
export function createPoolAccess(deps: {
  servers: DatabaseServerRegistry;
  secret: Buffer;
  databaseNameOfRole: (tenantRoleName: string) => string;
}) {
  const { servers, databaseNameOfRole } = deps;
  const passwordFor = (serverId: string, poolName: string) =>
    createHmac('sha256', deps.secret).update(`pool:${serverId}:${poolName}`).digest('base64url');

  async function poolCredentials(databaseServerId: string, poolName: string): Promise<PoolCredentials> {
    const ops = await servers.operations(databaseServerId);
    const user = poolRoleName(poolName);
    const password = passwordFor(databaseServerId, poolName);
    await ops.ensureRole(user, password);
    const admin = new URL(await servers.adminUrl(databaseServerId));
    return { host: admin.hostname, port: Number(admin.port || 5432), user, password };
  }

  return {
    roleOf: poolRoleName,
    poolCredentials,
    async grantTenant(databaseServerId: string, poolName: string, tenantRoleName: string): Promise<void> {
      // The pool's role may not exist yet when its first tenant is granted.
      await poolCredentials(databaseServerId, poolName);
      const ops = await servers.operations(databaseServerId);
      await ops.grantRole(tenantRoleName, poolRoleName(poolName));
      await ops.setDatabaseOwner(databaseNameOfRole(tenantRoleName), poolRoleName(poolName), [tenantRoleName]);
    },
    async revokeTenant(databaseServerId: string, poolName: string, tenantRoleName: string): Promise<void> {
      const ops = await servers.operations(databaseServerId);
      const database = databaseNameOfRole(tenantRoleName);
      await ops.setDatabaseOwner(database, tenantRoleName);
      await ops.revokeRole(tenantRoleName, poolRoleName(poolName));
      // CONNECT is checked only when a session starts: end the pool's sessions on that database.
      await ops.terminateConnections(database, poolRoleName(poolName));
    },
  };
}
