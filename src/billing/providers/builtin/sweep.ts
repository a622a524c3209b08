import type { Logger } from '../../../logging/index.js';
import { dueSubscriptionIds, type Executor } from './store.js';

/**
 * The billing clocks (the `billing-sweep` job, every minute): each subscription with a due timer
 * is ticked once per sweep, since a tick settles every timer due at its `now`. One broken
 * subscription must not stop the others' renewals: its failure is logged and it is ticked again
 * at the next sweep. Answers how many were ticked. Shared by the built-in and Kill Bill providers,
 * whose ticks differ.
 */
export async function sweepDueSubscriptions(
  deps: { db: Executor; clock: () => Date; logger: Logger },
  tick: (subscriptionId: string) => Promise<unknown>,
): Promise<number> {
  const handled = new Set<string>();
  for (;;) {
    const due = (await dueSubscriptionIds(deps.db, deps.clock(), 100 + handled.size)).filter((id) => !handled.has(id));
    if (due.length === 0) return handled.size;
    for (const id of due) {
      handled.add(id);
      try {
        await tick(id);
      } catch (error) {
        deps.logger.error({ err: error, subscriptionId: id }, 'billing tick failed');
      }
    }
  }
}
