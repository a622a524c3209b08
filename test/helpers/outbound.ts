import { join } from 'node:path';
import { createAccountService } from '../../src/accounts/index.js';
import type { Db } from '../../src/db/index.js';
import { createJobQueue } from '../../src/jobs/index.js';
import { createLogger } from '../../src/logging/index.js';
import { tenantUrlBuilder } from '../../src/main.js';
import { createMailer } from '../../src/notifications/index.js';
import { startNotificationsAndWebhooks } from '../../src/outbound.js';
import { createSecretBox } from '../../src/secrets/index.js';
import { waitFor } from './gateway-client.js';
import type { TestPlatform } from './platform.js';

/**
 * A worker replica for notifications and webhooks only, beside a platform started without job
 * workers (its tenants stay where the tests put them): the same composition as `startPlatform`
 * (src/outbound.ts) with its own job queue running the `notification-send` and
 * `webhook-delivery` jobs. The platform's own delivery loop decides (durable subscribers); this
 * one only sends.
 */
export async function startOutboundWorker(test: TestPlatform, smtpUrl: string) {
  const logger = createLogger(test.config.logLevel);
  const db = test.platform.database.db;
  const jobs = createJobQueue({ connectionString: test.database.url, logger, superviseIntervalSeconds: 1 });
  await jobs.start();
  const mailer = createMailer({ smtpUrl, from: 'Platform <platform@example.com>', outboxDir: join(test.config.dataDir, 'outbox'), logger });
  const outbound = await startNotificationsAndWebhooks({
    config: { ...test.config, runWorkers: true },
    db,
    jobs,
    mailer,
    secretBox: createSecretBox(test.config.secretKey ?? ''),
    domainEvents: { subscribeDurable: async () => undefined },
    accounts: createAccountService({ db }),
    tenantBaseUrl: tenantUrlBuilder(test.config).baseUrl,
    logger,
    crashPoint: () => undefined,
  });
  return {
    ...outbound,
    jobs,
    async stop() {
      await jobs.stop();
      mailer.close();
    },
  };
}

/** Resolves once the durable subscriber `name` has handled every domain event written so far. */
export async function subscriberCaughtUp(db: Db, name: 'notifications' | 'webhooks'): Promise<void> {
  const { max } = await db
    .selectFrom('domain_events')
    .select((eb) => eb.fn.max('id').as('max'))
    .executeTakeFirstOrThrow();
  await waitFor(`the ${name} subscriber to catch up`, async () => {
    const cursor = await db.selectFrom('domain_event_cursors').select('last_event_id').where('subscriber', '=', name).executeTakeFirst();
    return Number(cursor?.last_event_id ?? 0) >= Number(max) ? true : undefined;
  });
}
