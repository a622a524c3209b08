import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/index.js';
import { exited, spawnServe } from '../helpers/cli.js';
import { waitFor } from '../helpers/gateway-client.js';
import { createHttpClient, registerCustomer } from '../helpers/platform.js';
import { freeTestPort } from '../helpers/ports.js';
import { createTestDatabase, postgresAdminUrl, type TestDatabase } from '../helpers/postgres.js';
import { signedStripeEvent } from '../helpers/stripe-mock.js';

/**
 * kill -9 during webhook processing: the platform runs as a real child process and is killed
 * (SAAS_TEST_CRASH_AFTER_STEP) inside the transaction that applies a Stripe event, before and
 * after the payment is written. A new process on the same database must apply the event exactly
 * once: the subscription active, one payment, the event marked processed.
 */
const WEBHOOK_SECRET = 'whsec_crash_suite';
let database: TestDatabase;
let dataDir: string;
let port: number;
let db: Db;
const children = new Set<ChildProcess>();

function startPlatformProcess(extraEnv: Record<string, string> = {}): ChildProcess {
  const env = {
    DATABASE_URL: database.url,
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    SECRET_KEY: 'billing-crash-secret-key-that-is-at-least-32-chars',
    TENANT_DATABASE_URL: postgresAdminUrl(),
    TEMPLATES_AUTOBUILD: '',
    LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    BILLING_GATEWAY: 'stripe',
    STRIPE_SECRET_KEY: 'sk_test_crash',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    ...extraEnv,
  };
  const started = spawnServe(env);
  children.add(started);
  return started;
}

const http = () => createHttpClient(`http://127.0.0.1:${port}`);

async function ready(): Promise<void> {
  await waitFor(
    'the platform to answer',
    async () =>
      (
        await http()
          .get('/readyz')
          .catch(() => undefined)
      )?.status === 200
        ? true
        : undefined,
    60_000,
  );
}

beforeAll(async () => {
  database = await createTestDatabase('billcrash');
  dataDir = mkdtempSync(join(tmpdir(), 'saas-billing-crash-'));
  port = await freeTestPort();
  db = createDb(database.url, { maxConnections: 2 });
});

afterEach(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited(child);
    }
  }
  children.clear();
});

afterAll(async () => {
  await db?.destroy();
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('kill -9 while a Stripe webhook is applied', { timeout: 180_000 }, () => {
  for (const point of ['gateway-event:before-apply', 'gateway-event:applied']) {
    it(`crash at ${point}: the next process applies the event exactly once`, async () => {
      const crashing = startPlatformProcess({ SAAS_TEST_CRASH_AFTER_STEP: point });
      await ready();
      const customer = await registerCustomer(http(), 'crash');
      const created = await http().post(
        '/api/v1/billing/subscriptions',
        { plan: 'standard', interval: 'month' },
        { token: customer.accessToken },
      );
      expect(created.status, created.text).toBe(201);
      const invoices = await http().get(`/api/v1/billing/invoices?subscriptionId=${created.body.id}`, { token: customer.accessToken });
      const invoice = invoices.body[0];
      const eventId = `evt_crash_${Date.now().toString(36)}`;
      const signed = signedStripeEvent(
        {
          id: eventId,
          type: 'checkout.session.completed',
          object: {
            id: `cs_${eventId}`,
            object: 'checkout.session',
            metadata: { invoiceId: invoice.id },
            payment_status: 'paid',
            amount_total: invoice.totalMinor,
            currency: 'usd',
            payment_intent: `pi_${eventId}`,
          },
        },
        WEBHOOK_SECRET,
      );
      // The answer races the crash (the job starts as the receipt commits): either is fine, the event is kept.
      await http()
        .post('/api/v1/billing/webhooks/stripe', undefined, {
          raw: signed.body,
          headers: { 'content-type': 'application/json', 'stripe-signature': signed.signature },
        })
        .catch(() => undefined);
      expect(await exited(crashing)).toEqual({ code: null, signal: 'SIGKILL' });
      const kept = await db.selectFrom('billing_gateway_events').selectAll().where('event_id', '=', eventId).executeTakeFirstOrThrow();
      expect(kept.processed_at).toBeNull();
      expect(await db.selectFrom('billing_payments').select('id').where('invoice_id', '=', invoice.id).execute()).toEqual([]);

      startPlatformProcess();
      await ready();
      await waitFor(
        'the event to be applied by the new process',
        async () => {
          const row = await db
            .selectFrom('billing_gateway_events')
            .select('processed_at')
            .where('event_id', '=', eventId)
            .executeTakeFirst();
          return row?.processed_at ? true : undefined;
        },
        60_000,
      );
      const payments = await db.selectFrom('billing_payments').select(['status', 'gateway']).where('invoice_id', '=', invoice.id).execute();
      expect(payments).toEqual([{ status: 'succeeded', gateway: 'stripe' }]);
      const subscription = await http().get(`/api/v1/billing/subscriptions/${created.body.id}`, { token: customer.accessToken });
      expect(subscription.body.state).toBe('active');
      const changes = await db
        .selectFrom('domain_events')
        .select('type')
        .where('stream', '=', `subscription:${created.body.id}`)
        .where('type', '=', 'billing.payment_recorded')
        .execute();
      expect(changes).toHaveLength(1);
    });
  }
});
