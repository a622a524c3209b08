/**
 * Composition of hibernation (hibernation/): the sweep job, the wake the gateway asks for, the
 * activity the gateway reports, and the runtime's restore list without hibernated tenants.
 */
import type { Config } from './config/index.js';
import type { TenantRoute } from './gateway/index.js';
import { createHibernation, type HibernationDependencies } from './hibernation/index.js';

export { awakeTenantsOnly, type Hibernation } from './hibernation/index.js';

import type { JobQueue } from './jobs/index.js';

export async function startHibernation(
  config: Config,
  deps: Omit<HibernationDependencies, 'maxConcurrentWakes' | 'wakeTimeoutMs'> & { jobs: JobQueue },
) {
  const hibernation = createHibernation({
    ...deps,
    maxConcurrentWakes: config.hibernation.maxConcurrentWakes,
    wakeTimeoutMs: config.hibernation.wakeTimeoutMs,
  });
  await hibernation.register(config.runWorkers);
  return {
    hibernation,
    /** Spread into the gateway's options. */
    gatewayOptions: {
      wakeTenant: (route: TenantRoute) => hibernation.wake(route.tenantId, 'request'),
      wakeHoldMs: config.hibernation.wakeHoldMs,
      onRequest: (route: TenantRoute) => hibernation.requestSeen(route.tenantId),
    },
  };
}
