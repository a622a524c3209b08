import type { Db } from '../db/index.js';
import type { JobQueue, QueueName } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';
import { changeTenantState, DELETION_GRACE_MS, TERMINATED_RETENTION_MS, tenantIdsInStateSince } from '../tenants/index.js';
import type { TenantOperations } from './operations.js';

export const LIFECYCLE_SWEEP_QUEUE = 'tenant-lifecycle-sweep' satisfies QueueName;

/**
 * The timers of the lifecycle: soft-deleted tenants become terminated after 12 h, terminated
 * ones are deleted after 30 days. A pg-boss schedule runs the sweep once a minute on one replica
 * (the schedule is stored in the database, so replicas do not each run it); the transition table
 * re-checks every time window, so a late or repeated sweep cannot act early.
 */
export function createLifecycleSweep(deps: { db: Db; jobs: JobQueue; operations: TenantOperations; logger: Logger }) {
  const { db } = deps;

  async function sweep(now = new Date()): Promise<{ terminated: number; deleted: number }> {
    let terminated = 0;
    let deleted = 0;
    const graceOver = new Date(now.getTime() - DELETION_GRACE_MS);
    for (const id of await tenantIdsInStateSince('scheduled_for_deletion', 'state_changed_at', graceOver, db)) {
      await changeTenantState(db, id, 'deletion_grace_expired', {
        reason: '12-hour cancellation period over',
        extra: { terminated_at: now },
        now,
      });
      terminated++;
    }
    const retentionOver = new Date(now.getTime() - TERMINATED_RETENTION_MS);
    for (const id of await tenantIdsInStateSince('terminated', 'terminated_at', retentionOver, db)) {
      // Deleted and its removal queued together (a crash in between would leave its data behind).
      await db.transaction().execute(async (trx) => {
        await changeTenantState(trx, id, 'retention_expired', { reason: '30-day retention over', now });
        await deps.operations.enqueue(id, 'deprovision', trx);
      });
      deleted++;
    }
    if (terminated + deleted > 0) deps.logger.info({ terminated, deleted }, 'lifecycle sweep');
    return { terminated, deleted };
  }

  return {
    sweep,
    async register(work: boolean): Promise<void> {
      await deps.jobs.define(LIFECYCLE_SWEEP_QUEUE, async () => void (await sweep()), work);
    },
  };
}
