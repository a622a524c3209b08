import type { AuditLog } from './audit/index.js';
import type { Config } from './config/index.js';
import type { Db } from './db/index.js';
import type { DomainEventSubscriptions } from './events/index.js';
import type { JobQueue } from './jobs/index.js';
import type { Logger } from './logging/index.js';
import type { Metrics } from './metrics/index.js';
import type { PlanService } from './plans/index.js';
import type { TenantOperations } from './provisioning/index.js';
import type { TenantService } from './tenants/index.js';
import { createLimitTable, createUsageSampler, createUsageService, registerUsageMetrics, SAMPLE_INTERVAL_SECONDS } from './usage/index.js';

/**
 * Composition of usage metering and limit enforcement: the sampler's jobs (measures from the
 * tenant operations, suspensions through the tenant service), the limit table the gateway reads,
 * and the reads the API answers with.
 */
export async function startUsage(
  deps: {
    config: Pick<Config, 'runWorkers'>;
    db: Db;
    jobs: JobQueue;
    logger: Logger;
    domainEvents: DomainEventSubscriptions;
    plans: PlanService;
    tenants: TenantService;
    operations: TenantOperations;
    audit: AuditLog;
    metrics: Metrics;
  },
  /** The usage reads' "now" (tests move it); the sampler's jobs take theirs from it too. */
  clock: () => Date = () => new Date(),
) {
  const { db, operations } = deps;
  const sampler = createUsageSampler({
    db,
    jobs: deps.jobs,
    logger: deps.logger,
    intervalSeconds: SAMPLE_INTERVAL_SECONDS,
    clock,
    async measure(tenantId) {
      // CPU and memory: not reported by the runtimes yet (docs/operations/usage.md).
      const usage = await operations.usage(tenantId).catch((error: unknown) => {
        deps.logger.warn({ err: error, tenantId }, 'could not measure the usage of a tenant');
        return undefined;
      });
      return usage && { ...usage, cpuSeconds: null, memoryBytes: null };
    },
    planOf: (code) => deps.plans.get(code),
    async suspend(trx, tenantId, reason, now) {
      return (await deps.tenants.applySystemAction(trx, tenantId, 'suspend', { reason, now })).applied;
    },
    deactivateUsers: (tenantId, limit) => operations.deactivateExcessUsers(tenantId, limit),
    audit: deps.audit,
  });
  await sampler.registerJobs(deps.config.runWorkers);
  registerUsageMetrics(deps.metrics.registry, db, deps.metrics.tenantLabels);
  const limits = await createLimitTable({ db, events: deps.domainEvents });
  return { sampler, limits, reads: createUsageService({ db, clock }) };
}
