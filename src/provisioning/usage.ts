import { countActiveInternalUsers, deactivateNewestInternalUsers, filestoreSize } from '../odoo/index.js';
import { loadTenant, type ProvisioningDependencies } from './dependencies.js';

export interface TenantUsage {
  odooUsers: number | null;
  databaseBytes: number | null;
  filestoreBytes: number;
}

/**
 * What a tenant uses against its plan's limits: active internal Odoo users (what plans count),
 * database size and filestore size.
 */
export async function tenantUsage(deps: ProvisioningDependencies, tenantId: string): Promise<TenantUsage> {
  const tenant = await loadTenant(deps.db, tenantId);
  if (!tenant) throw new Error('no such tenant');
  const filestoreBytes = await filestoreSize(deps.odooDataDir, tenant.database_name);
  if (!tenant.server_id) return { odooUsers: null, databaseBytes: null, filestoreBytes };
  // A hibernated server is not woken to be measured (the sampler visits every tenant every few
  // minutes and would keep it awake for good): its database did not change while it slept.
  if (await deps.servers.isAsleep(tenant.server_id)) return { odooUsers: null, databaseBytes: null, filestoreBytes };
  // One admin connection for the existence check and the size (the sampler measures every tenant).
  return (await deps.servers.operations(tenant.server_id)).session(async (ops) => {
    if (!(await ops.databaseExists(tenant.database_name))) return { odooUsers: null, databaseBytes: null, filestoreBytes };
    const [databaseBytes, odooUsers] = await Promise.all([
      ops.databaseSize(tenant.database_name),
      ops.withDatabase(tenant.database_name, (client) => countActiveInternalUsers(client)),
    ]);
    return { odooUsers, databaseBytes, filestoreBytes };
  });
}

/**
 * Archives internal users of a tenant over its plan's user limit: the newest ones, as many as are
 * still over `limit` when counted now (so a repeated call after a crash archives nothing more).
 */
export async function deactivateExcessUsers(deps: ProvisioningDependencies, tenantId: string, limit: number): Promise<number> {
  const tenant = await loadTenant(deps.db, tenantId);
  if (!tenant?.server_id) return 0;
  const ops = await deps.servers.operations(tenant.server_id);
  return ops.withDatabase(tenant.database_name, async (client) => {
    const excess = (await countActiveInternalUsers(client)) - limit;
    return deactivateNewestInternalUsers(client, excess);
  });
}
