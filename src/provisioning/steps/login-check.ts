import { authenticateSession } from '../../odoo/index.js';
import type { ProvisioningContext } from '../context.js';
import type { Step } from '../runner.js';

/**
 * The admin logs in with the chosen password, through the upstream the runtime serves the
 * tenant at and with the tenant's host name: the proof that provisioning worked.
 */
export const loginCheckStep: Step<ProvisioningContext, 'login_check'> = {
  name: 'login_check',
  async run({ deps, tenant, serveSpec, admin }) {
    const upstream = await deps.runtimes.for(tenant).serve(serveSpec);
    await authenticateSession(
      { host: upstream.host, port: upstream.port, hostHeader: serveSpec.hostName, timeoutMs: 60_000 },
      { database: tenant.database_name, login: admin.login, password: admin.password },
    );
  },
};
