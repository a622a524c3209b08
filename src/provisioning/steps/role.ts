import { type ProvisioningContext, TENANT_CONNECTION_LIMIT } from '../context.js';
import type { Step } from '../runner.js';

/** The tenant's login role `r_<name>`, with its password (kept encrypted on the tenant) and a connection limit. */
export const roleStep: Step<ProvisioningContext, 'role'> = {
  name: 'role',
  async run({ ops, tenant, serveSpec }) {
    await ops.ensureRole(tenant.role_name, serveSpec.tenantRole.password, { connectionLimit: TENANT_CONNECTION_LIMIT });
  },
};
