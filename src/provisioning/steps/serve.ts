import type { ProvisioningContext } from '../context.js';
import type { Step } from '../runner.js';
import { servedUpstream } from '../warm-up.js';

/**
 * The runtime serves the tenant (idempotent: an attempt after a crash finds it served or serves it
 * again). The identity step started it; this one waits for it, or asks again when that failed.
 */
export const serveStep: Step<ProvisioningContext, 'serve'> = {
  name: 'serve',
  async run(context) {
    await servedUpstream(context);
  },
};
