import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exited } from '../helpers/cli.js';
import { waitFor } from '../helpers/gateway-client.js';
import { chargeSuccess, type PaystackServer, signedPaystackEvent, startPaystackServer } from '../helpers/paystack.js';
import { registerCustomer } from '../helpers/platform.js';
import { freeTestPort } from '../helpers/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { servedPlatform } from '../helpers/served-platform.js';

/**
 * kill -9 during a renewal charged to a saved card: the platform runs as a real child process
 * with the Paystack gateway (the loopback Paystack lives in this test process and counts the
 * charges it made) and is killed (SAAS_TEST_CRASH_AFTER_STEP=collect:charged) after Paystack
 * charged the saved authorization and before the payment was recorded. A new process on the same
 * database must finish the collection with that one charge: the invoice paid once, one payment,
 * no second charge at Paystack.
 */
let database: TestDatabase;
let dataDir: string;
let port: number;
let paystack: PaystackServer;
const platform = servedPlatform(() => ({
  databaseUrl: database.url,
  dataDir,
  port,
  env: {
    TEMPLATES_AUTOBUILD: '',
    SPARE_DATABASES: '0',
    BILLING_GATEWAY: 'paystack',
    PAYSTACK_SECRET_KEY: paystack.secretKey,
    PAYSTACK_API_URL: paystack.url,
  },
}));
const http = platform.http;

beforeAll(async () => {
  paystack = await startPaystackServer();
  database = await createTestDatabase('renewalcrash');
  dataDir = mkdtempSync(join(tmpdir(), 'saas-renewal-crash-'));
  port = await freeTestPort();
}, 60_000);

afterEach(platform.stopAll);

afterAll(async () => {
  await database?.drop();
  await paystack?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const renewalCharges = (invoiceId: string) =>
  [...paystack.transactions.values()].filter(
    (t) => t.charged_authorization && (t.metadata as { invoiceId?: string }).invoiceId === invoiceId,
  );

describe('kill -9 between the charge of a saved card and its record', { timeout: 240_000 }, () => {
  it('the next process records the one charge Paystack made, and never charges again', async () => {
    // A customer pays the first month at Paystack's page; the card is saved.
    await platform.startReady();
    const customer = await registerCustomer(http(), 'renewal-crash');
    const auth = { token: customer.accessToken };
    const created = await http().post('/api/v1/billing/subscriptions', { plan: 'standard', interval: 'month' }, auth);
    expect(created.status, created.text).toBe(201);
    const first = (await http().get(`/api/v1/billing/invoices?subscriptionId=${created.body.id}`, auth)).body[0];
    expect((await http().post(`/api/v1/billing/invoices/${first.id}/checkout`, undefined, auth)).status).toBe(200);
    const paid = [...paystack.transactions.values()].find((t) => (t.metadata as { invoiceId?: string }).invoiceId === first.id);
    if (!paid) throw new Error('no Paystack transaction');
    paystack.settle(paid.reference, 'success');
    const signed = signedPaystackEvent('charge.success', chargeSuccess(paid), paystack.secretKey);
    await http().post('/api/v1/billing/webhooks/paystack', undefined, {
      raw: signed.body,
      headers: { 'content-type': 'application/json', 'x-paystack-signature': signed.signature },
    });
    await waitFor('the card to be saved', async () => {
      const rows = await platform.query('select 1 from billing_payment_methods where account_id = $1', [customer.accountId]);
      return rows.length === 1 ? true : undefined;
    });
    await platform.stopAll();

    // The month is over (the real clock of a child process cannot travel: the period is moved
    // back instead), so the next once-a-minute billing sweep renews it.
    await platform.query(
      `update billing_subscriptions set anchor = anchor - interval '31 days', next_timer_at = now() - interval '1 minute' where id = $1`,
      [created.body.id],
    );
    const crashing = await platform.startReady({ SAAS_TEST_CRASH_AFTER_STEP: 'collect:charged' });
    expect(await exited(crashing)).toEqual({ code: null, signal: 'SIGKILL' });
    const [renewal] = await platform.query<{ id: string; status: string; total_minor: number }>(
      `select id, status, total_minor from billing_invoices where subscription_id = $1 and reason = 'renewal'`,
      [created.body.id],
    );
    if (!renewal) throw new Error('no renewal invoice');
    // Paystack charged the card; nothing was recorded before the kill.
    expect(renewal.status).toBe('open');
    expect(renewalCharges(renewal.id).map((t) => t.status)).toEqual(['success']);
    expect(await platform.query('select 1 from billing_payments where invoice_id = $1', [renewal.id])).toHaveLength(0);

    await platform.startReady();
    await waitFor(
      'the new process to record the charge',
      async () => {
        const [row] = await platform.query<{ status: string }>('select status from billing_invoices where id = $1', [renewal.id]);
        return row?.status === 'paid' ? true : undefined;
      },
      90_000,
    );
    const charges = renewalCharges(renewal.id);
    expect(charges.map((t) => [t.status, t.amount])).toEqual([['success', Number(renewal.total_minor)]]);
    const payments = await platform.query<{ reference: string; status: string }>(
      'select reference, status from billing_payments where invoice_id = $1',
      [renewal.id],
    );
    expect(payments).toEqual([{ reference: charges[0]?.reference, status: 'succeeded' }]);
    const [sub] = await platform.query<{ state: string }>('select state from billing_subscriptions where id = $1', [created.body.id]);
    expect(sub?.state).toBe('active');
  });
});
