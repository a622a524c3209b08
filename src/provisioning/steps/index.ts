import { PROVISIONING_STEPS, type ProvisioningStep } from '../../tenants/index.js';
import type { ProvisioningContext } from '../context.js';
import type { Step } from '../runner.js';
import { cloneStep } from './clone.js';
import { filestoreStep } from './filestore.js';
import { identityStep } from './identity.js';
import { loginCheckStep } from './login-check.js';
import { neutraliseStep } from './neutralise.js';
import { placementStep } from './placement.js';
import { roleStep } from './role.js';
import { serveStep } from './serve.js';
import { templateStep } from './template.js';

export { CLONE_CRASH_POINTS } from './clone.js';
export { placementStep, templateStep };

/** Provisioning after placement, in order: each step works on the placed tenant (ProvisioningContext). */
export const PLACED_STEPS = [
  roleStep,
  cloneStep,
  neutraliseStep,
  filestoreStep,
  identityStep,
  serveStep,
  loginCheckStep,
] as const satisfies ReadonlyArray<Step<ProvisioningContext>>;

/**
 * Every provisioning step, in order; each is recorded on the tenant's timeline when done. The
 * list is declared with the tenant (its API view names the steps); the steps run here must be
 * exactly those, in that order: a step added on one side only is a programming error.
 */
export { PROVISIONING_STEPS, type ProvisioningStep };

const runOrder = [templateStep.name, placementStep.name, ...PLACED_STEPS.map((step) => step.name)];
if (runOrder.join() !== PROVISIONING_STEPS.join())
  throw new Error(`provisioning runs ${runOrder.join(', ')} but the tenant declares ${PROVISIONING_STEPS.join(', ')}`);
