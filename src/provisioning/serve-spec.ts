import type { TenantRow } from '../db/index.js';
import type { Plan } from '../plans/index.js';
import type { RuntimeKind, TenantServeSpec } from '../runtimes/index.js';
import { placedTenantsIn } from '../tenants/index.js';
import type { ProvisioningDependencies } from './dependencies.js';

/** What a runtime needs to serve the tenant: its names, its role's connection, the plan's limits. */
export function serveSpecOf(
  deps: Pick<ProvisioningDependencies, 'secretBox' | 'tenantHostName'>,
  tenant: TenantRow & { server_id: string },
  plan: Plan,
  serverAdminUrl: string,
): TenantServeSpec {
  const admin = new URL(serverAdminUrl);
  return {
    tenantId: tenant.id,
    tenantName: tenant.name,
    hostName: deps.tenantHostName(tenant.name),
    databaseName: tenant.database_name,
    processStrategy: tenant.process_strategy,
    databaseServerId: tenant.server_id,
    tenantRole: {
      host: admin.hostname,
      port: Number(admin.port || 5432),
      user: tenant.role_name,
      password: deps.secretBox.decrypt(tenant.role_password_encrypted),
    },
    limits: { cpu: plan.limits.cpu, memoryMiB: plan.limits.memoryMiB, storageGiB: plan.limits.storageGiB },
    replicas: plan.placement.replicas,
    planCode: plan.code,
    ...(tenant.odoo_series ? { odooSeries: tenant.odoo_series } : {}),
  };
}

type ServeSpecDependencies = Pick<ProvisioningDependencies, 'plans' | 'servers' | 'secretBox' | 'tenantHostName'>;

/** The serve spec of a placed tenant, its plan and server looked up. */
export async function loadServeSpec(deps: ServeSpecDependencies, tenant: TenantRow): Promise<TenantServeSpec> {
  const serverId = tenant.server_id;
  if (!serverId) throw new Error('Tenant has no database server yet');
  const [plan, adminUrl] = await Promise.all([deps.plans.get(tenant.plan_code), deps.servers.adminUrl(serverId)]);
  return serveSpecOf(deps, { ...tenant, server_id: serverId }, plan, adminUrl);
}

/**
 * What a runtime restores after a restart: the serve spec of every tenant that should be served.
 * Built from the tenants store and the plan and server registries only, so the composition can
 * hand it to a runtime before the provisioning operations (which need that runtime) exist.
 */
export function desiredTenantsLoader(deps: ServeSpecDependencies & Pick<ProvisioningDependencies, 'db'>, kind: RuntimeKind) {
  return async (): Promise<TenantServeSpec[]> => {
    const rows = (await placedTenantsIn(['running', 'starting'], deps.db)).filter((row) => row.runtime === kind);
    return Promise.all(rows.map((row) => loadServeSpec(deps, row)));
  };
}
