/**
 * Composition of hibernation (hibernation/): the sweep job, the wake the gateway asks for, the
 * activity the gateway reports, and the runtime's restore list without hibernated tenants.
 */
import type { Config } from './config/index.js';
import type { TenantRow } from './db/index.js';
import type { TenantRoute } from './gateway/index.js';
import { createHibernation, type HibernationDependencies } from './hibernation/index.js';

export { awakeTenantsOnly, type Hibernation } from './hibernation/index.js';

import type { JobQueue } from './jobs/index.js';
import type { PlanService } from './plans/index.js';
import type { DatabaseServerRegistry } from './postgres/index.js';
import { loadServeSpec } from './provisioning/index.js';
import type { SecretBox } from './secrets/index.js';

export async function startHibernation(
  config: Config,
  deps: Omit<HibernationDependencies, 'maxConcurrentWakes' | 'wakeTimeoutMs' | 'serveSpecOf'> & {
    jobs: JobQueue;
    plans: PlanService;
    servers: DatabaseServerRegistry;
    secretBox: SecretBox;
    tenantHostName: (name: string) => string;
  },
) {
  const hibernation = createHibernation({
    ...deps,
    // Provisioning's serve spec: a wake serves the tenant exactly as a start does.
    serveSpecOf: (tenant: TenantRow) => loadServeSpec(deps, tenant),
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
