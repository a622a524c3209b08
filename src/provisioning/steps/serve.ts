import type { ProvisioningContext } from '../context.js';
import { requireRuntime } from '../dependencies.js';
import type { Step } from '../runner.js';

/** The runtime serves the tenant (idempotent: an attempt after a crash finds it served or serves it again). */
export const serveStep: Step<ProvisioningContext, 'serve'> = {
  name: 'serve',
  async run({ deps, serveSpec }) {
    await requireRuntime(deps).serve(serveSpec);
  },
};
