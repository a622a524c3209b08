import { authenticateSession, checkSession } from '../../odoo/index.js';
import type { ProvisioningContext } from '../context.js';
import type { Step } from '../runner.js';
import { servedUpstream } from '../warm-up.js';

/**
 * The admin logs in with the chosen password, through the upstream the runtime serves the
 * tenant at and with the tenant's host name, then uses that session (session info, and `/web`
 * answering 200): the proof that provisioning made a tenant a customer can use. A login alone
 * is not: an Odoo 18 missing one of its Python requirements accepts it and fails every later
 * request of the session.
 *
 * The session is used once per web worker of the upstream, all at once: each prefork worker loads
 * the tenant's registry on its first request for it (about a second with a real Odoo), and a busy
 * worker accepts no connection, so concurrent checks reach the others. The serve step had them
 * load it already (warmUpWorkers); the customer's first requests find every worker warm.
 */
export const loginCheckStep: Step<ProvisioningContext, 'login_check'> = {
  name: 'login_check',
  async run(context) {
    const { tenant, serveSpec, admin } = context;
    const upstream = await servedUpstream(context);
    const endpoint = { host: upstream.host, port: upstream.port, hostHeader: serveSpec.hostName, timeoutMs: 60_000 };
    const session = await authenticateSession(endpoint, { database: tenant.database_name, login: admin.login, password: admin.password });
    await Promise.all(Array.from({ length: upstream.webWorkers ?? 1 }, () => checkSession(endpoint, session)));
  },
};
