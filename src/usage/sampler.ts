/**
 * The usage sampler: a scheduled round (`usage-round`, every 5 minutes, one replica by pg-boss's
 * schedule) queues one `usage-sample` job per tenant at its own offset in the round; each job
 * measures the tenant, stores the sample, decides its limits (policy.ts) and enforces them.
 *
 * Crash safety: the sample, the standings, the timeline entries, the audit entries, the domain
 * event (which the notification and webhook subscribers turn into mails and deliveries) and a
 * suspension are one transaction, and a round's sample is unique per tenant: a retried job
 * whose transaction committed does nothing; one that did not starts over. Deactivating users
 * happens in the tenant's database after that commit: a crash before it is made up by the next
 * round, which finds the tenant still over its limit.
 */
import type { Transaction } from 'kysely';
import type { AuditLog } from '../audit/index.js';
import type { Database, Db } from '../db/index.js';
import { publishDomainEvents } from '../events/index.js';
import type { JobQueue } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';
import { enforcementOf, type Plan } from '../plans/index.js';
import { placedTenantsIn, recordTenantEvent, tenantById } from '../tenants/index.js';
import { decideLimit, type LimitAction, type LimitResource, percentOf, roundStart, sampleOffsetSeconds } from './policy.js';
import { insertSample, lockedStandings, rollUp, sampleExists, saveStanding, toStanding, type UsageMeasure } from './store.js';

/** The `usage-round` schedule's period (jobs/catalog.ts: every 5 minutes). */
export const SAMPLE_INTERVAL_SECONDS = 300;

/** Tenants per `usage-sample` job, and how many of them are measured at once. */
export const SAMPLE_BATCH_SIZE = 25;
const SAMPLE_BATCH_CONCURRENCY = 4;

/** Tenants whose database exists and may grow: running, or kept while stopped or suspended. */
const SAMPLED_STATES = ['running', 'stopped', 'suspended'] as const;

export interface UsageSamplerDependencies {
  db: Db;
  jobs: Pick<JobQueue, 'send' | 'define'>;
  logger: Logger;
  /** Seconds between rounds: the `usage-round` schedule (5 minutes). */
  intervalSeconds: number;
  clock: () => Date;
  measure(tenantId: string): Promise<UsageMeasure | undefined>;
  planOf(code: string): Promise<Plan>;
  /** Suspends the tenant in the caller's transaction (the storage policy `suspend`). */
  suspend(trx: Transaction<Database>, tenantId: string, reason: string, now: Date): Promise<boolean>;
  /** Deactivates the newest internal users of the tenant's Odoo past `limit`; returns how many it did. */
  deactivateUsers(tenantId: string, limit: number): Promise<number>;
  audit: Pick<AuditLog, 'record'>;
}

export interface SampleOutcome {
  /** False when the round already had this tenant's sample (a second run) or the tenant is gone. */
  recorded: boolean;
  actions: LimitAction[];
}

const RESOURCE_LABEL: Record<LimitResource, string> = { odoo_users: 'internal users', storage: 'storage' };

function describe(resource: LimitResource, level: string, used: number, limit: number, actions: LimitAction[]): string {
  const figures =
    resource === 'storage' ? `${(used / 1024 ** 3).toFixed(2)} of ${(limit / 1024 ** 3).toFixed(2)} GiB` : `${used} of ${limit}`;
  const done = actions.map((a) =>
    a.kind === 'notify'
      ? `${a.template === 'limit_warning' ? 'warning' : 'limit reached'} mailed to the account`
      : a.kind === 'suspend'
        ? 'suspended'
        : `${a.count} newest users deactivated`,
  );
  return `Limit on ${RESOURCE_LABEL[resource]}: ${level} (${figures}, ${percentOf(used, limit)} %)${done.length > 0 ? `; ${done.join(', ')}` : ''}`;
}

export function createUsageSampler(deps: UsageSamplerDependencies) {
  const { db, logger } = deps;

  async function decideAndRecord(
    tenant: { id: string; accountId: string; plan: Plan },
    slot: Date,
    now: Date,
    measure: UsageMeasure,
  ): Promise<SampleOutcome> {
    const { plan } = tenant;
    const policy = enforcementOf(plan);
    const figures: Array<{ resource: LimitResource; used: number | null; limit: number }> = [
      { resource: 'odoo_users', used: measure.odooUsers, limit: plan.limits.odooUsers },
      {
        resource: 'storage',
        used: measure.databaseBytes === null ? null : measure.databaseBytes + (measure.filestoreBytes ?? 0),
        limit: plan.limits.storageGiB * 1024 ** 3,
      },
    ];
    return db.transaction().execute(async (trx) => {
      if (!(await insertSample(tenant.id, slot, now, measure, trx))) return { recorded: false, actions: [] };
      const standings = await lockedStandings(tenant.id, trx);
      const all: LimitAction[] = [];
      for (const { resource, used, limit } of figures) {
        if (used === null) continue;
        const before = standings.get(resource);
        const previous = before && toStanding(before);
        const decision = decideLimit({ resource, used, limit, policy, previous, now });
        await saveStanding(tenant.id, resource, decision.next, { used, limit }, trx);
        const enforced = decision.actions.filter((a) => a.kind !== 'notify');
        if (!decision.changed && enforced.length === 0) continue;
        all.push(...decision.actions);
        const message = describe(resource, decision.next.level, used, limit, decision.actions);
        await recordTenantEvent(trx, tenant.id, { type: 'info', message });
        await deps.audit.record(
          {
            actorType: 'system',
            actorLabel: 'usage sampler',
            accountId: tenant.accountId,
            action: 'usage.limit_changed',
            targetType: 'tenant',
            targetId: tenant.id,
            outcome: 'success',
            details: { resource, level: decision.next.level, fromLevel: previous?.level ?? 'ok', used, limit, actions: decision.actions },
          },
          trx,
        );
        for (const action of enforced) {
          if (action.kind === 'suspend') await deps.suspend(trx, tenant.id, `${RESOURCE_LABEL[resource]} limit of the plan reached`, now);
        }
        await publishDomainEvents(trx, {
          type: 'usage.limit_changed',
          payload: {
            tenantId: tenant.id,
            resource,
            fromLevel: previous?.level ?? 'ok',
            level: decision.next.level,
            used,
            limit,
            percent: percentOf(used, limit),
            blockNewUsers: decision.next.blockNewUsers,
            readOnly: decision.next.readOnly,
            actions: decision.actions.map((a) =>
              a.kind === 'notify' ? `notify:${a.template}` : a.kind === 'suspend' ? 'suspend' : `deactivate_users:${a.count}`,
            ),
          },
        });
      }
      return { recorded: true, actions: all };
    });
  }

  return {
    /**
     * Samples one tenant for the round starting at `slot`, decides and enforces its limits.
     * `now` defaults to the clock (tests move it to walk through grace periods).
     */
    async sample(tenantId: string, slot: Date, now = deps.clock()): Promise<SampleOutcome> {
      // A retried batch: the tenants it sampled before are not measured again.
      if (await sampleExists(tenantId, slot, db)) return { recorded: false, actions: [] };
      const tenant = await tenantById(tenantId, db);
      if (!tenant || !(SAMPLED_STATES as readonly string[]).includes(tenant.state)) return { recorded: false, actions: [] };
      const measure = await deps.measure(tenantId);
      if (!measure) return { recorded: false, actions: [] };
      const plan = await deps.planOf(tenant.plan_code);
      const outcome = await decideAndRecord({ id: tenantId, accountId: tenant.account_id, plan }, slot, now, measure);
      for (const action of outcome.actions) {
        if (action.kind !== 'deactivate_users') continue;
        const done = await deps.deactivateUsers(tenantId, plan.limits.odooUsers);
        logger.info({ tenantId, wanted: action.count, done }, 'deactivated internal users over the plan limit');
      }
      return outcome;
    },

    /**
     * Samples a batch of tenants, a few at a time. One tenant's failure does not stop the others;
     * the batch then fails (and is retried: the tenants already sampled are skipped).
     */
    async sampleBatch(tenantIds: readonly string[], slot: Date, now?: Date): Promise<void> {
      const failures: unknown[] = [];
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < tenantIds.length; i = next++) {
          const tenantId = tenantIds[i] as string;
          await this.sample(tenantId, slot, now ?? deps.clock()).catch((error: unknown) => {
            logger.warn({ err: error, tenantId }, 'usage sample failed');
            failures.push(error);
          });
        }
      };
      await Promise.all(Array.from({ length: SAMPLE_BATCH_CONCURRENCY }, worker));
      if (failures.length > 0) throw new Error(`${failures.length} of ${tenantIds.length} usage samples failed; the batch is retried`);
    },

    /**
     * Queues this round's samples: the tenants in order of their offset in the round, in batches
     * that start at their first tenant's offset. Returns how many tenants were queued.
     */
    async round(now = deps.clock()): Promise<number> {
      const slot = roundStart(now, deps.intervalSeconds);
      const elapsed = Math.floor((now.getTime() - slot.getTime()) / 1000);
      const tenants = (await placedTenantsIn(SAMPLED_STATES, db))
        .map((tenant) => ({ id: tenant.id, offset: sampleOffsetSeconds(tenant.id, deps.intervalSeconds) }))
        .sort((a, b) => a.offset - b.offset);
      for (let i = 0; i < tenants.length; i += SAMPLE_BATCH_SIZE) {
        const batch = tenants.slice(i, i + SAMPLE_BATCH_SIZE);
        const startIn = (batch[0]?.offset ?? 0) - elapsed;
        await deps.jobs.send(
          'usage-sample',
          { tenantIds: batch.map((t) => t.id), slot: slot.toISOString() },
          startIn > 0 ? { startAfterSeconds: startIn } : {},
        );
      }
      return tenants.length;
    },

    rollUp: (now = deps.clock()) => rollUp(now, db),

    async registerJobs(work: boolean): Promise<void> {
      await deps.jobs.define('usage-round', async () => void (await this.round()), work);
      await deps.jobs.define('usage-sample', (payload) => this.sampleBatch(payload.tenantIds, new Date(payload.slot)), work);
      await deps.jobs.define('usage-rollup', async () => void (await this.rollUp()), work);
    },
  };
}
export type UsageSampler = ReturnType<typeof createUsageSampler>;
