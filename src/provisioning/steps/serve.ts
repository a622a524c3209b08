import type { ProvisioningContext } from '../context.js';
import type { Step } from '../runner.js';

/** The runtime serves the tenant (idempotent: an attempt after a crash finds it served or serves it again). */
export const serveStep: Step<ProvisioningContext, 'serve'> = {
  name: 'serve',
  async run({ deps, tenant, serveSpec }) {
    await deps.runtimes.for(tenant).serve(serveSpec);
  },
};
