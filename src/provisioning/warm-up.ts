import { touchDatabase } from '../odoo/index.js';
import type { Upstream } from '../runtimes/index.js';
import type { ProvisioningContext } from './context.js';

/**
 * The runtime serves the tenant (idempotent), once per attempt: the serve step asks, the
 * login_check step reuses its upstream (asks again when that failed).
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
 * Has every web worker of the tenant's upstream load the tenant's registry (about half a second
 * each with a real Odoo), all at once: a prefork worker busy with one request accepts no other,
 * so concurrent requests reach different workers. Otherwise the login check pays for them one
 * after another (its login in one worker, then its session checks in the others). Never rejects:
 * a failed warm-up only leaves the loads to the login check.
 */
export async function warmUpWorkers(context: ProvisioningContext, upstream: Upstream): Promise<void> {
  const endpoint = { host: upstream.host, port: upstream.port, hostHeader: context.serveSpec.hostName, timeoutMs: 60_000 };
  try {
    await Promise.all(Array.from({ length: upstream.webWorkers ?? 1 }, () => touchDatabase(endpoint)));
  } catch (error) {
    context.deps.logger.debug(
      { err: error, tenant: context.tenant.name },
      'warming the Odoo workers up failed; the login check loads them',
    );
  }
}
