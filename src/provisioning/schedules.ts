import type { Db } from '../db/index.js';
import type { JobQueue, QueueName } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';
import { changeTenantState, DELETION_GRACE_MS, TERMINATED_RETENTION_MS } from '../tenants/index.js';
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
    const dueForTermination = await db
      .selectFrom('tenants')
      .select('id')
      .where('state', '=', 'scheduled_for_deletion')
      .where('state_changed_at', '<=', new Date(now.getTime() - DELETION_GRACE_MS))
      .execute();
    for (const { id } of dueForTermination) {
      await changeTenantState(db, id, 'deletion_grace_expired', {
        reason: '12-hour cancellation period over',
        extra: { terminated_at: now },
        now,
      });
      terminated++;
    }
    const dueForDeletion = await db
      .selectFrom('tenants')
      .select('id')
      .where('state', '=', 'terminated')
      .where('terminated_at', '<=', new Date(now.getTime() - TERMINATED_RETENTION_MS))
      .execute();
    for (const { id } of dueForDeletion) {
      await changeTenantState(db, id, 'retention_expired', { reason: '30-day retention over', now });
      await deps.operations.enqueue(id, 'deprovision');
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
