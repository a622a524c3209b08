import type { TenantRow } from '../db/index.js';
import { removeFilestore } from '../odoo/index.js';
import type { ProvisioningDependencies } from './dependencies.js';
import { restoringDatabaseName } from './template-copy.js';

/** Removes whatever provisioning made: serving, database, role, filestore, dedicated server. */
export async function removeTenantResources(deps: ProvisioningDependencies, tenant: TenantRow): Promise<void> {
  const { servers } = deps;
  await deps.runtimes.for(tenant).unserve(tenant.id);
  if (tenant.server_id) {
    const ops = await servers.operations(tenant.server_id).catch(() => undefined);
    if (ops) {
      // A spare claimed but not yet renamed to the tenant's name is the tenant's too.
      if (tenant.spare_database) {
        await ops.dropDatabase(tenant.spare_database);
        await ops.dropRole(tenant.spare_database);
      }
      await ops.dropDatabase(tenant.database_name);
      await ops.dropDatabase(restoringDatabaseName(tenant.database_name));
      await ops.dropRole(tenant.role_name);
    }
    await servers.destroyDedicated(tenant.server_id);
  }
  await removeFilestore(deps.odooDataDir, tenant.database_name);
}
