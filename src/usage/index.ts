/**
 * Usage metering and plan-limit enforcement: the sampler (scheduled rounds, one durable job per
 * tenant sample), rollups, the pure limit policy, each replica's table of restricted tenants for
 * the gateway, and the reads the API answers with.
 */
export { createLimitTable, type LimitTable, type TenantLimitRestrictions } from './limit-table.js';
export { registerUsageMetrics } from './metrics.js';
export { addUsageLimitRules, addUsageWebhookEvents } from './outbound.js';
export {
  decideLimit,
  LIMIT_LEVELS,
  LIMIT_RESOURCES,
  type LimitAction,
  type LimitDecision,
  type LimitLevel,
  type LimitResource,
  type LimitStanding,
  levelOf,
  percentOf,
  roundStart,
  sampleOffsetSeconds,
  seriesStepFor,
} from './policy.js';
export {
  createUsageSampler,
  SAMPLE_INTERVAL_SECONDS,
  type SampleOutcome,
  type UsageSampler,
  type UsageSamplerDependencies,
} from './sampler.js';
export { createUsageService, type UsageService } from './service.js';
export { billablePoints, RAW_RETENTION_DAYS, type UsageMeasure } from './store.js';
export { type LimitStandingView, limitStandingSchema, USAGE_STEPS, type UsagePoint, usagePointSchema } from './views.js';
