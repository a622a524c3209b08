/**
 * Hibernation of idle dedicated tenants: a scheduled sweep (once a minute, on one replica) stops
 * the Odoo processes of tenants idle longer than their plan allows and wakes hibernated tenants
 * whose earliest cron is due; the gateway wakes one on its first HTTP request (wake.ts). The
 * tenant's lifecycle state stays `running` throughout: hibernation is the runtime's detail.
 *
 * Crash safety: a hibernation is one transaction holding the tenant's hibernation row: the
 * process is stopped inside it and the row marked hibernated before it commits. A crash before
 * the commit leaves the row awake, so the restarted runtime restores the process (and the next
 * sweep tries again); after the commit the runtime's restore skips the tenant (`awakeOnly`).
 */
import type { Db, TenantRow } from '../db/index.js';
import type { JobQueue, QueueName } from '../jobs/index.js';
import { recordedUpstream, recordedUpstreams, type TenantServeSpec } from '../runtimes/index.js';
import { placedTenantsIn, recordTenantEvent, tenantById } from '../tenants/index.js';
import { createActivityRecorder } from './activity.js';
import type { HibernationDependencies } from './dependencies.js';
import { cronWakeTime, databaseServerSleepDue, hibernationDue } from './policy.js';
import {
  clearHibernated,
  cronWakesDue,
  hibernatedAmong,
  hibernationRow,
  hibernationRows,
  lockHibernationRow,
  markHibernated,
} from './store.js';
import { type HibernationView, toHibernationView } from './view.js';
import { createWaker } from './wake.js';

export const HIBERNATION_SWEEP_QUEUE = 'tenant-hibernation-sweep' satisfies QueueName;

export type Hibernation = ReturnType<typeof createHibernation>;

export function createHibernation(deps: HibernationDependencies & { jobs: JobQueue }) {
  const { db, logger } = deps;
  const waker = createWaker(deps);
  const activity = createActivityRecorder({ db, logger });

  /** The earliest `nextcall` of the tenant's active crons (null when it has none or it cannot be read). */
  async function earliestCron(tenant: TenantRow): Promise<Date | null> {
    if (!tenant.server_id) return null;
    try {
      const ops = await deps.servers.operations(tenant.server_id);
      // Odoo stores UTC in columns without a time zone: read them as UTC, whatever this host's zone.
      return await ops.withDatabase(tenant.database_name, async (client) => {
        const result = await client.query<{ next: Date | null }>(
          "SELECT min(nextcall) AT TIME ZONE 'UTC' AS next FROM ir_cron WHERE active",
        );
        return result.rows[0]?.next ?? null;
      });
    } catch (error) {
      logger.warn({ err: error, tenantId: tenant.id }, 'could not read the crons of a tenant being hibernated; it wakes on requests only');
      return null;
    }
  }

  async function idleMinutesOf(planCode: string): Promise<number | null | undefined> {
    return (await deps.plans.get(planCode)).placement.hibernateAfterIdleMinutes;
  }

  /** Hibernates the tenant if it is (still) due; answers whether it did. */
  async function hibernate(tenantId: string, now: Date): Promise<boolean> {
    const before = await tenantById(tenantId, db);
    if (!before) return false;
    const nextCron = await earliestCron(before);
    return db.transaction().execute(async (trx) => {
      const row = await lockHibernationRow(trx, tenantId);
      const tenant = await tenantById(tenantId, trx);
      if (tenant?.state !== 'running') return false;
      const idleMinutes = await idleMinutesOf(tenant.plan_code);
      const candidate = { processStrategy: tenant.process_strategy, idleMinutes, runningSince: tenant.state_changed_at, row };
      if (!hibernationDue(candidate, now)) return false;
      await deps.runtimes.for(tenant).unserve(tenantId);
      deps.crashPoint?.('hibernate:unserved');
      const cronWakeAt = cronWakeTime(nextCron, now);
      await markHibernated(trx, tenantId, now, cronWakeAt);
      await recordTenantEvent(trx, tenantId, {
        type: 'info',
        message:
          `Hibernated: no request for ${idleMinutes} minutes, its Odoo processes are stopped until the next request` +
          (cronWakeAt ? ` or its next cron (${cronWakeAt.toISOString()})` : ''),
      });
      return true;
    });
  }

  /**
   * Stops the tenant's dedicated PostgreSQL server if the tenant is (still) hibernated and idle
   * long enough, its Odoo is not served (a start or restart would have recorded it) and nobody
   * holds the server awake. The tenant's row is locked first, as a wake locks it.
   */
  async function hibernateServer(tenantId: string, serverId: string, idleMinutes: number, now: Date): Promise<boolean> {
    return deps.servers.sleep(
      serverId,
      async (trx) => {
        const row = await lockHibernationRow(trx, tenantId);
        const tenant = await tenantById(tenantId, trx);
        if (tenant?.state !== 'running' || tenant.server_id !== serverId) return false;
        if (!databaseServerSleepDue({ idleMinutes, runningSince: tenant.state_changed_at, row }, now)) return false;
        return (await recordedUpstream(trx, tenantId)) === undefined;
      },
      async (trx) =>
        void (await recordTenantEvent(trx, tenantId, {
          type: 'info',
          message: `Database server hibernated: no request for ${idleMinutes} minutes, its dedicated PostgreSQL server is stopped until the next request`,
        })),
      now,
    );
  }

  /** Second pass of a sweep: dedicated servers of hibernated tenants idle long enough go to sleep too. */
  async function sweepServers(
    running: readonly TenantRow[],
    plans: Map<string, { placement: { hibernateDatabaseServerAfterIdleMinutes?: number | null | undefined } }>,
    now: Date,
  ): Promise<number> {
    const candidates = running.filter(
      (tenant) => tenant.server_id && plans.get(tenant.plan_code)?.placement.hibernateDatabaseServerAfterIdleMinutes != null,
    );
    if (candidates.length === 0) return 0;
    // Read again: the first pass may just have hibernated some of them.
    const rows = await hibernationRows(
      db,
      candidates.map((tenant) => tenant.id),
    );
    let slept = 0;
    for (const tenant of candidates) {
      const idleMinutes = plans.get(tenant.plan_code)?.placement.hibernateDatabaseServerAfterIdleMinutes as number;
      const serverId = tenant.server_id as string;
      if (!databaseServerSleepDue({ idleMinutes, runningSince: tenant.state_changed_at, row: rows.get(tenant.id) }, now)) continue;
      try {
        if (await deps.servers.isAsleep(serverId)) continue;
        if (await hibernateServer(tenant.id, serverId, idleMinutes, now)) slept += 1;
      } catch (error) {
        logger.error({ err: error, tenantId: tenant.id, serverId }, 'hibernating a database server failed; the next sweep tries again');
      }
    }
    return slept;
  }

  async function sweep(now = new Date()): Promise<{ hibernated: number; cronWakes: number; serversHibernated: number }> {
    await activity.flush();
    const plans = new Map((await deps.plans.list({ includeArchived: true })).map((plan) => [plan.code, plan]));
    const running = (await placedTenantsIn(['running'], db)).filter((tenant) => tenant.process_strategy === 'dedicated');
    const rows = await hibernationRows(
      db,
      running.map((tenant) => tenant.id),
    );
    // A hibernated tenant that a start or restart served again is awake: its row follows.
    const upstreams = await recordedUpstreams(db);
    const servedAgain = [...rows.values()].filter((row) => row.hibernated_at && upstreams.has(row.tenant_id)).map((row) => row.tenant_id);
    await clearHibernated(db, servedAgain);
    for (const id of servedAgain) {
      const row = rows.get(id);
      if (row) rows.set(id, { ...row, hibernated_at: null, cron_wake_at: null });
    }
    let hibernated = 0;
    for (const tenant of running) {
      const candidate = {
        processStrategy: tenant.process_strategy,
        idleMinutes: plans.get(tenant.plan_code)?.placement.hibernateAfterIdleMinutes,
        runningSince: tenant.state_changed_at,
        row: rows.get(tenant.id),
      };
      if (!hibernationDue(candidate, now)) continue;
      try {
        if (await hibernate(tenant.id, now)) hibernated += 1;
      } catch (error) {
        logger.error({ err: error, tenantId: tenant.id }, 'hibernating a tenant failed; the next sweep tries again');
      }
    }
    const serversHibernated = await sweepServers(running, plans, now);
    const due = await cronWakesDue(db, now);
    // Each in the wake line like a request's; a failure is on the tenant's timeline already.
    await Promise.all(due.map((tenantId) => waker.wake(tenantId, 'cron')));
    if (hibernated + due.length + serversHibernated > 0)
      logger.info({ hibernated, cronWakes: due.length, serversHibernated }, 'hibernation sweep');
    return { hibernated, cronWakes: due.length, serversHibernated };
  }

  return {
    sweep,
    hibernate,
    hibernateServer,
    wake: waker.wake,
    wakesStarted: waker.wakesStarted,
    /** The gateway tells of every HTTP request to a tenant (websockets and long polling excluded). */
    requestSeen: activity.seen,
    async view(tenantId: string, planCode: string): Promise<HibernationView> {
      const [row, plan, tenant] = await Promise.all([hibernationRow(db, tenantId), deps.plans.get(planCode), tenantById(tenantId, db)]);
      const serverIdleMinutes = plan.placement.hibernateDatabaseServerAfterIdleMinutes ?? null;
      const serverHibernatedAt = serverIdleMinutes !== null && tenant?.server_id ? await deps.servers.hibernatedAt(tenant.server_id) : null;
      return toHibernationView(row, plan.placement.hibernateAfterIdleMinutes ?? null, {
        afterIdleMinutes: serverIdleMinutes,
        hibernatedAt: serverHibernatedAt,
      });
    },
    async register(work: boolean): Promise<void> {
      await deps.jobs.define(HIBERNATION_SWEEP_QUEUE, async () => void (await sweep()), work);
    },
    stop: () => activity.stop(),
  };
}

/**
 * Wraps a runtime's restore list: hibernated tenants stay stopped after a platform restart. Apart
 * from the service because the runtime (which the service needs) is built with this list.
 */
export function awakeTenantsOnly(db: Db, load: () => Promise<TenantServeSpec[]>): () => Promise<TenantServeSpec[]> {
  return async () => {
    const specs = await load();
    const asleep = await hibernatedAmong(
      db,
      specs.map((spec) => spec.tenantId),
    );
    return specs.filter((spec) => !asleep.has(spec.tenantId));
  };
}
