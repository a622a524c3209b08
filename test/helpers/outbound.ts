import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createAccountService } from '../../src/accounts/index.js';
import type { Db } from '../../src/db/index.js';
import { createJobQueue } from '../../src/jobs/index.js';
import { createLogger } from '../../src/logging/index.js';
import { createMailer } from '../../src/notifications/index.js';
import { startNotificationsAndWebhooks } from '../../src/outbound.js';
import { createSecretBox } from '../../src/secrets/index.js';
import { tenantUrlBuilder } from '../../src/tenant-urls.js';
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

/**
 * Rows the route walks (access, bad input) aim their `{id}` parameters at, written directly: a
 * webhook endpoint of `accountId` (public TEST-NET address: registration would refuse nothing,
 * delivery reaches nobody), one delivery of it, one logged mail. Calling again re-creates what a
 * walk deleted, under the same ids.
 */
export async function insertOutboundFixtures(
  test: TestPlatform,
  accountId: string,
  ids = { endpoint: randomUUID(), delivery: randomUUID(), notification: randomUUID() },
) {
  const db = test.platform.database.db;
  await db
    .insertInto('webhook_endpoints')
    .values({
      id: ids.endpoint,
      account_id: accountId,
      url: 'https://203.0.113.5/hook',
      event_types: ['*'],
      secret_encrypted: createSecretBox(test.config.secretKey ?? '').encrypt('whsec_fixture'),
      created_by: null,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  await db
    .insertInto('webhook_deliveries')
    .values({ id: ids.delivery, endpoint_id: ids.endpoint, event_id: '1', event_type: 'tenant.created', body: '{}', status: 'failed' })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  await db
    .insertInto('notification_log')
    .values({
      id: ids.notification,
      idempotency_key: `fixture:${ids.notification}`,
      account_id: accountId,
      recipient: 'fixture@example.com',
      template: 'welcome',
      variables: JSON.stringify({ name: 'Fixture', dashboardUrl: 'http://app.example.com/dashboard/' }),
      subject: 'Welcome to your Odoo hosting',
      message_id: `<${ids.notification}@example.com>`,
      status: 'sent',
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
  return ids;
}
