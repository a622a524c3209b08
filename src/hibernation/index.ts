/**
 * Hibernation of idle dedicated tenants and their wake on the next request or due cron: the plan
 * policy (pure), the activity recorder, the wake line, the scheduled sweep and the API view.
 */
export type { HibernationDependencies } from './dependencies.js';
export { createFairLimiter, type FairLimiter } from './fair-limiter.js';
export {
  CRON_WAKE_GRACE_MS,
  cronWakeTime,
  type DatabaseServerSleepCandidate,
  databaseServerSleepDue,
  type HibernationCandidate,
  hibernationDue,
  MIN_CRON_WAKE_DELAY_MS,
} from './policy.js';
export { awakeTenantsOnly, createHibernation, HIBERNATION_SWEEP_QUEUE, type Hibernation } from './service.js';
export { hibernatedAmong } from './store.js';
export { type HibernationView, hibernationViewSchema } from './view.js';
export { WAKE_FAILURE_COOLDOWN_MS, type WakeOutcome, type WakeReason, type Waker } from './wake.js';
