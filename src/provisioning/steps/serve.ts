import type { ProvisioningContext } from '../context.js';
import type { Step } from '../runner.js';
import { servedUpstream, warmUpWorkers } from '../warm-up.js';

/**
 * The runtime serves the tenant (idempotent: an attempt after a crash finds it served or serves it
 * again), then every web worker of its upstream loads the tenant's registry at once
 * (warmUpWorkers), so the login check finds them loaded instead of loading them one after another.
 */
export const serveStep: Step<ProvisioningContext, 'serve'> = {
  name: 'serve',
  async run(context) {
    const upstream = await servedUpstream(context);
    await warmUpWorkers(context, upstream);
  },
};
