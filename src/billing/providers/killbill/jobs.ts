/**
 * The Kill Bill provider's durable jobs (queues declared in jobs/catalog.ts): `killbill-sync`
 * makes Kill Bill match one subscription, `killbill-notification` applies one kept push. Both
 * are idempotent (sync reads Kill Bill before it writes; a processed notification is skipped), so
 * a retry after a crash at any point finishes the work without doing any of it twice.
 */
import type { JobQueue } from '../../../jobs/index.js';
import type { Logger } from '../../../logging/index.js';
import type { KillbillBilling } from './provider.js';

export async function registerKillbillJobs(
  deps: { jobs: JobQueue; killbill: KillbillBilling['killbill']; logger: Logger },
  work: boolean,
): Promise<void> {
  const { jobs, killbill, logger } = deps;
  await jobs.define(
    'killbill-sync',
    async ({ subscriptionId }) => {
      const outcome = await killbill.sync(subscriptionId);
      logger.info({ subscriptionId, outcome }, 'Kill Bill subscription synced');
    },
    work,
  );
  await jobs.define(
    'killbill-notification',
    async ({ key }) => {
      const outcome = await killbill.processNotification(key);
      logger.info({ key, outcome }, 'Kill Bill notification processed');
    },
    work,
  );
}
