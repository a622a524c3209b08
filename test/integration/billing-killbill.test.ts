import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKillbillClient, type KillbillBilling, type KillbillClient } from '../../src/billing/providers/killbill/index.js';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors/index.js';
import { waitFor } from '../helpers/gateway-client.js';
import { KILLBILL_ADMIN, killbillUnavailable, type RunningKillbill, startKillbill } from '../helpers/killbill.js';
import { registerCustomer, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { freeTestPort } from '../helpers/ports.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

/**
 * The Kill Bill provider against a real Kill Bill server (the war from Maven Central in Jetty,
 * on the suite's PostgreSQL with Kill Bill's own DDL; or KILLBILL_URL). The platform runs its job
 * workers and Kill Bill pushes its notifications to the platform's callback URL for real.
 */
const unavailable = killbillUnavailable();
if (unavailable) console.warn(`[billing-killbill] skipped: ${unavailable}`);

let killbill: RunningKillbill;
let test: TestPlatform;
let client: KillbillClient;
let tenantKeys: { apiKey: string; apiSecret: string };
let customer: Awaited<ReturnType<typeof registerCustomer>>;

function killbillEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    BILLING_PROVIDER: 'killbill',
    KILLBILL_URL: killbill.url,
    KILLBILL_USERNAME: KILLBILL_ADMIN.username,
    KILLBILL_PASSWORD: KILLBILL_ADMIN.password,
    KILLBILL_API_KEY: tenantKeys.apiKey,
    KILLBILL_API_SECRET: tenantKeys.apiSecret,
    // Kill Bill's built-in plugin for payments taken elsewhere: every invoice is paid at once.
    KILLBILL_PAYMENT_PLUGIN: '__EXTERNAL_PAYMENT__',
    TENANT_DATABASE_URL: postgresAdminUrl(),
    TEMPLATES_AUTOBUILD: '',
    ...overrides,
  };
}

beforeAll(async () => {
  if (unavailable) return;
  killbill = await startKillbill();
  console.log(`[billing-killbill] Kill Bill ${killbill.version} at ${killbill.url}, started in ${killbill.startupSeconds ?? '-'} s`);
  tenantKeys = { apiKey: `saas-${randomBytes(4).toString('hex')}`, apiSecret: randomBytes(12).toString('hex') };
  const admin = createKillbillClient({ url: killbill.url, ...KILLBILL_ADMIN, apiKey: '', apiSecret: '' });
  await admin.createTenant(tenantKeys.apiKey, tenantKeys.apiSecret);
  client = createKillbillClient({ url: killbill.url, ...KILLBILL_ADMIN, ...tenantKeys });
  // Kill Bill must reach the platform's callback: a known port, and PUBLIC_URL on it.
  const port = await freeTestPort();
  test = await startTestPlatform(killbillEnv({ PUBLIC_URL: `http://127.0.0.1:${port}` }), { port });
  customer = await registerCustomer(test.http, 'killbill');
}, 720_000);

afterAll(async () => {
  await test?.stop();
  await killbill?.stop();
});

const auth = () => ({ token: customer.accessToken });
const killbillUrl = () => killbill.url;

/** Kill Bill's own headers, for calls the provider's client does not make (admin fixes, listings). */
function kbHeaders(): Record<string, string> {
  return {
    authorization: `Basic ${Buffer.from(`${KILLBILL_ADMIN.username}:${KILLBILL_ADMIN.password}`).toString('base64')}`,
    'x-killbill-apikey': tenantKeys.apiKey,
    'x-killbill-apisecret': tenantKeys.apiSecret,
    'x-killbill-createdby': 'test',
    'content-type': 'application/json',
  };
}

async function subscriptionState(id: string): Promise<string> {
  return (await test.http.get(`/api/v1/billing/subscriptions/${id}`, auth())).body.state;
}

async function linkOf(subscriptionId: string) {
  return test.platform.database.db
    .selectFrom('killbill_subscriptions')
    .selectAll()
    .where('subscription_id', '=', subscriptionId)
    .executeTakeFirst();
}

/** A paid subscription made through our API, once Kill Bill has it (the killbill-sync job). */
async function subscribed(): Promise<{ id: string; killbillSubscriptionId: string; killbillAccountId: string }> {
  const created = await test.http.post('/api/v1/billing/subscriptions', { plan: 'standard', interval: 'month' }, auth());
  expect(created.status).toBe(201);
  expect(created.body.state).toBe('pending_payment');
  const link = await waitFor(
    'Kill Bill to have the subscription',
    async () => {
      const row = await linkOf(created.body.id);
      return row?.killbill_subscription_id && row.killbill_account_id ? row : undefined;
    },
    60_000,
    200,
  );
  return {
    id: created.body.id,
    killbillSubscriptionId: link.killbill_subscription_id as string,
    killbillAccountId: link.killbill_account_id as string,
  };
}

// Kill Bill's first calls after its start (a cold JVM, under a loaded machine) take tens of seconds.
describe.skipIf(unavailable !== null)('Kill Bill provider against a real Kill Bill', { timeout: 180_000 }, () => {
  it('set up the tenant at start: our plans as its catalog, our dunning days as its overdue configuration, the callback URL registered', async () => {
    const catalog = await client.catalogXml();
    expect(catalog).toContain('standard-monthly');
    expect(catalog).toMatch(/standard-monthly[\s\S]*?<value>19(\.0+)?</);
    const overdue = await fetch(`${killbillUrl()}/1.0/kb/overdue/xml`, { headers: { ...kbHeaders(), accept: 'text/xml' } });
    expect(overdue.status).toBe(200);
    expect(await overdue.text()).toMatch(/SUSPENDED[\s\S]*<number>7<\/number>/);
    expect(await client.notificationCallback()).toMatch(
      new RegExp(`^${test.url.replace(/[.]/g, '\\.')}/api/v1/billing/killbill/notifications/[0-9a-f]{64}$`),
    );
  });

  it('sign-up -> subscription in Kill Bill -> its invoice, paid, visible through our API; the subscription active', async () => {
    const sub = await subscribed();
    const remote = await client.subscription(sub.killbillSubscriptionId);
    expect(remote).toMatchObject({ planName: 'standard-monthly', phaseType: 'EVERGREEN', externalKey: sub.id });
    const account = await client.accountByExternalKey(customer.accountId);
    expect(account).toMatchObject({ accountId: sub.killbillAccountId, currency: 'USD', email: customer.email });

    const invoice = await waitFor(
      'the Kill Bill invoice to be mirrored and paid',
      async () => {
        const list = await test.http.get(`/api/v1/billing/invoices?subscriptionId=${sub.id}`, auth());
        return list.body.find((i: { status: string }) => i.status === 'paid');
      },
      60_000,
      200,
    );
    expect(invoice).toMatchObject({ totalMinor: 1900, currency: 'USD', subscriptionId: sub.id });
    const remoteInvoices = await client.accountInvoices(sub.killbillAccountId);
    const mirrored = remoteInvoices.find((i) => i.items?.some((item) => item.subscriptionId === sub.killbillSubscriptionId));
    expect(mirrored).toMatchObject({ amount: 19, balance: 0 });
    const detail = await test.http.get(`/api/v1/billing/invoices/${invoice.id}`, auth());
    expect(detail.body.lines).toEqual([expect.objectContaining({ amountMinor: 1900, plan: 'standard' })]);
    expect(await waitFor('active', async () => ((await subscriptionState(sub.id)) === 'active' ? true : undefined), 30_000, 200)).toBe(
      true,
    );
  });

  it("an upgrade waits for Kill Bill's prorated invoice to be paid before the tenant's plan changes, as with the built-in provider", async () => {
    const sub = await subscribed();
    await waitFor('active', async () => ((await subscriptionState(sub.id)) === 'active' ? true : undefined), 60_000, 200);
    const upgraded = await test.http.post(
      `/api/v1/billing/subscriptions/${sub.id}/change-plan`,
      { plan: 'premium', interval: 'month' },
      auth(),
    );
    expect(upgraded.status, upgraded.text).toBe(200);
    // Billed for premium at once; the plan change waits for the payment Kill Bill takes for it.
    expect(upgraded.body).toMatchObject({ plan: 'premium', planAwaitingPayment: 'premium' });
    const paid = await waitFor(
      "Kill Bill's invoice of the change to be mirrored and paid",
      async () => {
        const view = await test.http.get(`/api/v1/billing/subscriptions/${sub.id}`, auth());
        return view.body.planAwaitingPayment === null ? view.body : undefined;
      },
      90_000,
      250,
    );
    expect(paid).toMatchObject({ plan: 'premium', state: 'active' });
    expect((await client.subscription(sub.killbillSubscriptionId)).planName).toBe('premium-monthly');
    // Released when Kill Bill owed nothing for the change any more: its invoice was paid (the
    // external payment plugin pays at once); the mirror of that paid invoice follows.
    const remote = (await client.accountInvoices(sub.killbillAccountId)).filter((i) =>
      i.items?.some((item) => item.subscriptionId === sub.killbillSubscriptionId && item.planName === 'premium-monthly'),
    );
    expect(remote.length).toBeGreaterThan(0);
    expect(remote.every((i) => i.balance === 0)).toBe(true);
    const plans = await waitFor(
      'the paid invoice of the change to be mirrored',
      async () => {
        const invoices = (await test.http.get(`/api/v1/billing/invoices?subscriptionId=${sub.id}`, auth())).body as Array<{
          id: string;
          status: string;
        }>;
        const found: string[] = [];
        for (const invoice of invoices.filter((i) => i.status === 'paid'))
          found.push(
            ...(await test.http.get(`/api/v1/billing/invoices/${invoice.id}`, auth())).body.lines.map((l: { plan: string }) => l.plan),
          );
        return found.includes('premium') ? found : undefined;
      },
      60_000,
      250,
    );
    expect(plans).toContain('premium');
  });

  it('a payment Kill Bill marks failed (INVOICE_PAYMENT_FAILED) puts the subscription past_due and its invoice open again', async () => {
    const sub = await subscribed();
    await waitFor('active', async () => ((await subscriptionState(sub.id)) === 'active' ? true : undefined), 60_000, 200);
    const [remoteInvoice] = (await client.accountInvoices(sub.killbillAccountId)).filter((i) =>
      i.items?.some((item) => item.subscriptionId === sub.killbillSubscriptionId),
    );
    if (!remoteInvoice) throw new Error('no Kill Bill invoice');
    const [payment] = await client.invoicePayments(remoteInvoice.invoiceId);
    const transaction = payment?.transactions[0];
    if (!payment || !transaction) throw new Error('no Kill Bill payment');
    // Kill Bill's admin API settles a transaction as failed (what a declining payment plugin
    // reports); Kill Bill then pushes PAYMENT_FAILED and INVOICE_PAYMENT_FAILED to the platform.
    const fixed = await fetch(`${killbill.url}/1.0/kb/admin/payments/${payment.paymentId}/transactions/${transaction.transactionId}`, {
      method: 'PUT',
      headers: kbHeaders(),
      body: JSON.stringify({
        transactionStatus: 'PAYMENT_FAILURE',
        lastSuccessPaymentState: null,
        currentPaymentStateName: 'PURCHASE_ERRORED',
      }),
    });
    expect(fixed.status).toBe(204);
    expect(await waitFor('past_due', async () => ((await subscriptionState(sub.id)) === 'past_due' ? true : undefined), 60_000, 200)).toBe(
      true,
    );
    const kept = await test.platform.database.db
      .selectFrom('killbill_notifications')
      .select(['key', 'outcome'])
      .where('event_type', '=', 'INVOICE_PAYMENT_FAILED')
      .where('object_id', '=', remoteInvoice.invoiceId)
      .execute();
    expect(kept).toHaveLength(1);
    expect(kept[0]?.outcome).toMatch(/reversed; subscription past_due$/);
    const invoices = await test.http.get(`/api/v1/billing/invoices?subscriptionId=${sub.id}`, auth());
    expect(invoices.body.map((i: { status: string }) => i.status)).toEqual(['open']);

    // Kill Bill pushes again when a callback fails: a redelivery is acknowledged and not applied twice.
    const callback = (await client.notificationCallback()) as string;
    const again = await fetch(callback, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        eventType: 'INVOICE_PAYMENT_FAILED',
        accountId: sub.killbillAccountId,
        objectType: 'INVOICE',
        objectId: remoteInvoice.invoiceId,
        metaData: JSON.stringify({ paymentId: payment.paymentId, paymentCookieId: transaction.transactionId }),
      }),
    });
    expect(await again.json()).toEqual({ received: true, duplicate: true });
  });

  it('killbill-sync repeated after a crash between Kill Bill creating and us recording creates nothing twice', async () => {
    const sub = await subscribed();
    // What a kill -9 right after Kill Bill's 201s leaves: Kill Bill has both, our link has neither id.
    await test.platform.database.db
      .updateTable('killbill_subscriptions')
      .set({ killbill_account_id: null, killbill_subscription_id: null })
      .where('subscription_id', '=', sub.id)
      .execute();
    const killbill = (test.platform.billing.provider as Partial<KillbillBilling>).killbill;
    if (!killbill) throw new Error('the platform is not on the Kill Bill provider');
    expect(await killbill.sync(sub.id)).toBe('in sync');
    expect(await linkOf(sub.id)).toMatchObject({
      killbill_account_id: sub.killbillAccountId,
      killbill_subscription_id: sub.killbillSubscriptionId,
    });
    const bundles = await fetch(`${killbillUrl()}/1.0/kb/accounts/${sub.killbillAccountId}/bundles`, { headers: kbHeaders() });
    const ours = ((await bundles.json()) as Array<{ externalKey: string }>).filter((b) => b.externalKey === sub.id);
    expect(ours).toHaveLength(1);
  });

  it('refuses a callback with the wrong secret (404) and a body that is not a notification (400 naming the field)', async () => {
    const wrong = await test.http.post(`/api/v1/billing/killbill/notifications/${'0'.repeat(64)}`, {
      eventType: 'INVOICE_PAYMENT_SUCCESS',
      objectType: 'INVOICE',
      objectId: '00000000-0000-0000-0000-000000000000',
    });
    expect(wrong.status).toBe(404);
    const callback = (await client.notificationCallback()) as string;
    const bad = await fetch(callback, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hello: 1 }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { field?: string }).field).toBe('eventType');
  });

  it('bad configuration: a missing setting is named, and keys Kill Bill refuses stop the start naming what to check', async () => {
    expect(() => loadConfig({ BILLING_PROVIDER: 'killbill', KILLBILL_URL: killbill.url })).toThrow(ConfigError);
    expect(() => loadConfig({ BILLING_PROVIDER: 'killbill', KILLBILL_URL: killbill.url })).toThrow(/KILLBILL_API_KEY/);
    expect(() =>
      loadConfig(killbillEnv({ BILLING_GATEWAY: 'stripe', STRIPE_SECRET_KEY: 'sk_test_1', STRIPE_WEBHOOK_SECRET: 'whsec_1' })),
    ).toThrow(/BILLING_GATEWAY.*Kill Bill collects payments/);
    await expect(startTestPlatform(killbillEnv({ KILLBILL_API_SECRET: 'not-the-secret' }))).rejects.toThrow(
      /Kill Bill refused .*HTTP 401.*KILLBILL_API_KEY and KILLBILL_API_SECRET/,
    );
  });

  // Last: the credit it gives stays on the customer's Kill Bill account.
  it('an upgrade Kill Bill bills nothing for (paid from the account credit: no payment, nothing owed) goes through', async () => {
    const sub = await subscribed();
    await waitFor('active', async () => ((await subscriptionState(sub.id)) === 'active' ? true : undefined), 60_000, 200);
    // A credit larger than any proration: Kill Bill takes the change's charge from it, so no
    // payment is ever made and no payment notification comes for the upgrade to wait for.
    const credit = await fetch(`${killbillUrl()}/1.0/kb/credits?autoCommit=true`, {
      method: 'POST',
      headers: kbHeaders(),
      body: JSON.stringify([{ accountId: sub.killbillAccountId, amount: 500, currency: 'USD', description: 'goodwill' }]),
    });
    expect(credit.ok, await credit.text()).toBe(true);
    const upgraded = await test.http.post(
      `/api/v1/billing/subscriptions/${sub.id}/change-plan`,
      { plan: 'premium', interval: 'month' },
      auth(),
    );
    expect(upgraded.status, upgraded.text).toBe(200);
    expect(upgraded.body).toMatchObject({ plan: 'premium', planAwaitingPayment: 'premium' });
    const applied = await waitFor(
      'the upgrade to go through without a payment',
      async () => {
        const view = await test.http.get(`/api/v1/billing/subscriptions/${sub.id}`, auth());
        return view.body.planAwaitingPayment === null ? view.body : undefined;
      },
      90_000,
      250,
    );
    expect(applied).toMatchObject({ plan: 'premium', state: 'active' });
    // Kill Bill billed the change and took it from the credit: nothing owed, no payment for it.
    const remoteInvoices = await client.accountInvoices(sub.killbillAccountId);
    const change = remoteInvoices.filter((i) =>
      i.items?.some((item) => item.subscriptionId === sub.killbillSubscriptionId && item.planName === 'premium-monthly'),
    );
    expect(change.length).toBeGreaterThan(0);
    for (const invoice of change) {
      expect(invoice.balance).toBe(0);
      expect(await client.invoicePayments(invoice.invoiceId)).toEqual([]);
    }
    // And nothing of the subscription is left open on our side.
    await waitFor(
      'no open invoice of the subscription',
      async () => {
        const list = (await test.http.get(`/api/v1/billing/invoices?subscriptionId=${sub.id}`, auth())).body as Array<{ status: string }>;
        return list.every((i) => i.status !== 'open') ? true : undefined;
      },
      60_000,
      250,
    );
  });
});
