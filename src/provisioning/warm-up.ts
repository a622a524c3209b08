import { touchDatabase } from '../odoo/index.js';
import type { Upstream } from '../runtimes/index.js';
import type { ProvisioningContext } from './context.js';

/**
 * The runtime serves the tenant (idempotent), once per attempt: the identity step starts it, so
 * the serve and login_check steps find it done or under way and wait for the same call.
 */
export function servedUpstream(context: ProvisioningContext): Promise<Upstream> {
  if (!context.served) {
    const served = context.deps.runtimes.for(context.tenant).serve(context.serveSpec);
    context.served = served;
    // A failed serve is asked again by the next step that needs it.
    served.catch(() => {
      if (context.served === served) context.served = undefined;
    });
  }
  return context.served;
}

/**
 * Serves the tenant and has every web worker of its upstream load the tenant's registry (about
 * half a second each with a real Odoo) while the identity step waits for the password hash: the
 * login check then finds them loaded instead of paying for the loads. Safe because the identity step
 * signals Odoo's caches after its commit (signalOdooCaches): a registry reads the signaling
 * sequences when its load starts, so whatever a worker cached of the template's values is
 * dropped at its next request. A prefork worker busy with one request accepts no other, so
 * concurrent requests reach different workers. Never rejects: a failed warm-up only costs the
 * login check the loads; a failed serve is the serve step's to report.
 */
export async function warmUpServing(context: ProvisioningContext): Promise<void> {
  try {
    const upstream = await servedUpstream(context);
    const endpoint = { host: upstream.host, port: upstream.port, hostHeader: context.serveSpec.hostName, timeoutMs: 60_000 };
    await Promise.all(Array.from({ length: upstream.webWorkers ?? 1 }, () => touchDatabase(endpoint)));
  } catch (error) {
    context.deps.logger.debug(
      { err: error, tenant: context.tenant.name },
      'warming the Odoo workers up failed; the login check loads them',
    );
  }
}
