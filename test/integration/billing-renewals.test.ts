import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS } from '../../src/billing/index.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/gateway-client.js';
import { chargeSuccess, type PaystackServer, signedPaystackEvent, startPaystackServer } from '../helpers/paystack.js';
import { GOOD_PASSWORD, registerCustomer, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { postgresAdminUrl } from '../helpers/postgres.js';
import { signedStripeEvent, startStripeMock } from '../helpers/stripe-mock.js';

/**
 * Renewals charged to the card saved at the first payment, on the real platform with its job
 * workers and the test's billing clock: Paystack (the loopback API: authorization code from the
 * verified transaction, `/transaction/charge_authorization`) and Stripe (stripe-mock, behind a
 * recording proxy so the test sees the idempotency keys the SDK sent). A declined charge takes
 * the dunning path; the day-1 retry is a new attempt with its own key.
 */
let now = new Date();
const travel = (days: number) => {
  now = new Date(now.getTime() + days * DAY_MS);
};

type Customer = Awaited<ReturnType<typeof registerCustomer>>;

async function firstInvoice(test: TestPlatform, customer: Customer) {
  const created = await test.http.post(
    '/api/v1/billing/subscriptions',
    { plan: 'standard', interval: 'month' },
    { token: customer.accessToken },
  );
  expect(created.status, created.text).toBe(201);
  const invoices = await test.http.get(`/api/v1/billing/invoices?subscriptionId=${created.body.id}`, { token: customer.accessToken });
  return { subscriptionId: created.body.id as string, invoice: invoices.body[0] as { id: string; totalMinor: number; number: string } };
}

async function state(test: TestPlatform, customer: Customer, subscriptionId: string): Promise<string> {
  return (await test.http.get(`/api/v1/billing/subscriptions/${subscriptionId}`, { token: customer.accessToken })).body.state;
}

async function invoicesOf(test: TestPlatform, customer: Customer, subscriptionId: string) {
  const listed = await test.http.get(`/api/v1/billing/invoices?subscriptionId=${subscriptionId}`, { token: customer.accessToken });
  return listed.body as Array<{ id: string; status: string; totalMinor: number; reason: string }>;
}

async function paymentsOf(test: TestPlatform, invoiceId: string) {
  return test.platform.database.db
    .selectFrom('billing_payments')
    .select(['reference', 'status', 'failure_reason', 'gateway'])
    .where('invoice_id', '=', invoiceId)
    .orderBy('recorded_at')
    .execute();
}

/** The renewal invoice the sweep issues after the period ended. */
async function renew(test: TestPlatform, customer: Customer, subscriptionId: string, known: Set<string>) {
  await test.platform.billing.provider.sweep();
  const fresh = (await invoicesOf(test, customer, subscriptionId)).filter((i) => !known.has(i.id));
  expect(fresh).toHaveLength(1);
  const invoice = fresh[0] as (typeof fresh)[number];
  known.add(invoice.id);
  expect(invoice.reason).toBe('renewal');
  return invoice;
}

describe('Paystack: renewals charge the saved authorization', () => {
  let paystack: PaystackServer;
  let test: TestPlatform;
  let customer: Customer;

  beforeAll(async () => {
    paystack = await startPaystackServer();
    test = await startTestPlatform(
      {
        TENANT_DATABASE_URL: postgresAdminUrl(),
        TEMPLATES_AUTOBUILD: '',
        BILLING_GATEWAY: 'paystack',
        PAYSTACK_SECRET_KEY: paystack.secretKey,
        PAYSTACK_API_URL: paystack.url,
      },
      { clock: () => now },
    );
    customer = await registerCustomer(test.http, 'renewals-paystack');
  }, 120_000);

  afterAll(async () => {
    await test?.stop();
    await paystack?.stop();
  });

  it('saves the card at the first payment, renews with it, and a decline goes through dunning to a paid retry', async () => {
    const auth = { token: customer.accessToken };
    const { subscriptionId, invoice } = await firstInvoice(test, customer);
    expect((await test.http.post(`/api/v1/billing/invoices/${invoice.id}/checkout`, undefined, auth)).status).toBe(200);
    const first = [...paystack.transactions.values()].find((t) => (t.metadata as { invoiceId?: string }).invoiceId === invoice.id);
    if (!first) throw new Error('no Paystack transaction for the first invoice');
    paystack.settle(first.reference, 'success');
    const signed = signedPaystackEvent('charge.success', chargeSuccess(first), paystack.secretKey);
    const delivered = await test.http.post('/api/v1/billing/webhooks/paystack', undefined, {
      raw: signed.body,
      headers: { 'content-type': 'application/json', 'x-paystack-signature': signed.signature },
    });
    expect(delivered.status, delivered.text).toBe(200);
    await waitFor('the first payment', async () => ((await state(test, customer, subscriptionId)) === 'active' ? true : undefined));

    // The authorization code is kept sealed: it charges the card with our secret key.
    const saved = await test.platform.database.db
      .selectFrom('billing_payment_methods')
      .selectAll()
      .where('account_id', '=', customer.accountId)
      .executeTakeFirstOrThrow();
    expect(saved).toMatchObject({ gateway: 'paystack', email: first.email, label: 'visa ending 4081' });
    expect(saved.authorization_sealed).toMatch(/^v1\./);
    expect(saved.authorization_sealed).not.toContain(first.authorization_code);
    // The customer sees the card (never the code); Paystack has no portal, and the answer says what to do instead.
    const method = await test.http.get('/api/v1/billing/payment-method', auth);
    expect(method.body).toMatchObject({ gateway: 'paystack', saved: { label: 'visa ending 4081' }, portal: false });
    expect(method.text).not.toContain(first.authorization_code);
    const portal = await test.http.post('/api/v1/billing/payment-method/portal', {}, auth);
    expect(portal.status).toBe(409);
    expect(portal.body.detail).toMatch(/Paystack offers no page .* pay your next open invoice from the billing page with the new card/);

    // A month later: the renewal is charged to the saved card, without the customer.
    const known = new Set([invoice.id]);
    travel(31);
    const renewal = await renew(test, customer, subscriptionId, known);
    await waitFor('the renewal to be paid', async () =>
      (await invoicesOf(test, customer, subscriptionId)).find((i) => i.id === renewal.id)?.status === 'paid' ? true : undefined,
    );
    const charged = [...paystack.transactions.values()].filter((t) => t.charged_authorization);
    expect(charged.map((t) => [t.authorization_code, t.amount, (t.metadata as { invoiceId: string }).invoiceId])).toEqual([
      [first.authorization_code, renewal.totalMinor, renewal.id],
    ]);
    expect(await paymentsOf(test, renewal.id)).toEqual([
      { reference: charged[0]?.reference, status: 'succeeded', failure_reason: null, gateway: 'paystack' },
    ]);
    expect(await state(test, customer, subscriptionId)).toBe('active');

    // The next month the bank declines: past due (the dunning path), with a reason the customer can act on.
    paystack.chargeOutcome = 'failed';
    travel(31);
    const declined = await renew(test, customer, subscriptionId, known);
    await waitFor('the decline to be recorded', async () =>
      (await state(test, customer, subscriptionId)) === 'past_due' ? true : undefined,
    );
    const [failure] = await paymentsOf(test, declined.id);
    expect(failure).toMatchObject({ status: 'failed' });
    expect(failure?.failure_reason).toMatch(/declined the saved card \(Insufficient Funds\): pay the open invoice/);

    // Dunning's day-1 retry is a new attempt (its own reference); it succeeds and restores active.
    paystack.chargeOutcome = 'success';
    travel(1.01);
    await test.platform.billing.provider.sweep();
    await waitFor('the retry to pay the invoice', async () =>
      (await state(test, customer, subscriptionId)) === 'active' ? true : undefined,
    );
    const attempts = [...paystack.transactions.values()].filter(
      (t) => t.charged_authorization && (t.metadata as { invoiceId: string }).invoiceId === declined.id,
    );
    expect(attempts.map((t) => t.status)).toEqual(['failed', 'success']);
    expect(new Set(attempts.map((t) => t.reference)).size).toBe(2);
    expect((await paymentsOf(test, declined.id)).map((p) => p.status)).toEqual(['failed', 'succeeded']);
  });
});

describe('Stripe: renewals confirm an off-session PaymentIntent for the saved customer', () => {
  const WEBHOOK_SECRET = 'whsec_test_renewals';
  let stripeMock: Awaited<ReturnType<typeof startStripeMock>>;
  let proxy: Server;
  /** What the platform asked stripe-mock: method, path and idempotency key of each request. */
  const seen: Array<{ method: string; path: string; key: string | undefined; body: string }> = [];
  /**
   * stripe-mock answers every PaymentIntent with one fixture status (requires_payment_method) and
   * documents no way to ask for another (stripe/stripe-mock#473: "use your language's mocking
   * framework to set up exact responses"). To show the success path, the proxy sets the status
   * Stripe gives a card that pays (`succeeded`) or a bank debit in flight (`processing`) on
   * stripe-mock's answer; null leaves stripe-mock's answer as it is.
   */
  let intentStatus: 'succeeded' | 'processing' | null = null;
  const rewritten: Array<Record<string, unknown>> = [];
  let test: TestPlatform;
  let customer: Customer;

  beforeAll(async () => {
    stripeMock = await startStripeMock();
    const target = new URL(stripeMock.url);
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const key = req.headers['idempotency-key'];
        seen.push({ method: req.method ?? '', path: req.url ?? '', key: Array.isArray(key) ? key[0] : key, body: body.toString('utf8') });
        const rewrite = intentStatus && req.method === 'POST' && req.url === '/v1/payment_intents' ? intentStatus : null;
        const forwarded = httpRequest(
          { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
          (answer) => {
            if (!rewrite) {
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              answer.pipe(res);
              return;
            }
            // Stripe's answer for a card that pays (stripe-mock's own fixture, with the status,
            // amount and currency the real API would give for this request).
            const parts: Buffer[] = [];
            answer.on('data', (c: Buffer) => parts.push(c));
            answer.on('end', () => {
              const asked = new URLSearchParams(body.toString('utf8'));
              const intent = JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>;
              const amount = Number(asked.get('amount'));
              const text = JSON.stringify({
                ...intent,
                status: rewrite,
                amount,
                amount_received: rewrite === 'succeeded' ? amount : 0,
                currency: asked.get('currency'),
                metadata: { invoiceId: asked.get('metadata[invoiceId]'), collection: asked.get('metadata[collection]') },
                last_payment_error: null,
              });
              res.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'content-length': Buffer.byteLength(text) });
              res.end(text);
              rewritten.push(JSON.parse(text) as Record<string, unknown>);
            });
          },
        );
        forwarded.end(body);
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    test = await startTestPlatform(
      {
        TENANT_DATABASE_URL: postgresAdminUrl(),
        TEMPLATES_AUTOBUILD: '',
        BILLING_GATEWAY: 'stripe',
        STRIPE_SECRET_KEY: 'sk_test_123',
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        STRIPE_API_URL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      },
      { clock: () => now },
    );
    customer = await registerCustomer(test.http, 'renewals-stripe');
  }, 120_000);

  afterAll(async () => {
    await test?.stop();
    await new Promise((resolve) => proxy?.close(resolve));
    await stripeMock?.stop();
  });

  it('checkout creates a customer; the renewal charges it under the attempt key; stripe-mock’s answer is a decline -> past due', async () => {
    const auth = { token: customer.accessToken };
    const { subscriptionId, invoice } = await firstInvoice(test, customer);
    expect((await test.http.post(`/api/v1/billing/invoices/${invoice.id}/checkout`, undefined, auth)).status).toBe(200);
    const none = await test.http.post('/api/v1/billing/payment-method/portal', {}, auth);
    expect(none.status).toBe(409);
    expect(none.body).toMatchObject({ field: 'paymentMethod', detail: expect.stringMatching(/No card is saved yet/) });
    expect((await test.http.get('/api/v1/billing/payment-method', auth)).body).toEqual({
      gateway: 'stripe',
      saved: null,
      portal: true,
      noPortalReason: null,
    });
    const session = seen.find((r) => r.path === '/v1/checkout/sessions');
    expect(session?.body).toContain('customer_creation=always');
    expect(session?.body).toContain('payment_intent_data[setup_future_usage]=off_session');

    const stripeCustomer = `cus_${randomBytes(6).toString('hex')}`;
    const completed = signedStripeEvent(
      {
        id: `evt_${randomBytes(8).toString('hex')}`,
        type: 'checkout.session.completed',
        object: {
          id: `cs_test_${randomBytes(6).toString('hex')}`,
          object: 'checkout.session',
          metadata: { invoiceId: invoice.id },
          payment_status: 'paid',
          amount_total: invoice.totalMinor,
          currency: 'usd',
          customer: stripeCustomer,
          payment_intent: `pi_${randomBytes(8).toString('hex')}`,
        },
      },
      WEBHOOK_SECRET,
    );
    const delivered = await test.http.post('/api/v1/billing/webhooks/stripe', undefined, {
      raw: completed.body,
      headers: { 'content-type': 'application/json', 'stripe-signature': completed.signature },
    });
    expect(delivered.status, delivered.text).toBe(200);
    await waitFor('the first payment', async () => ((await state(test, customer, subscriptionId)) === 'active' ? true : undefined));
    const saved = await test.platform.database.db
      .selectFrom('billing_payment_methods')
      .selectAll()
      .where('account_id', '=', customer.accountId)
      .executeTakeFirstOrThrow();
    expect(saved).toMatchObject({ gateway: 'stripe', customer_ref: stripeCustomer, authorization_sealed: null });

    // The customer portal of the saved customer, coming back to the billing page.
    const portal = await test.http.post('/api/v1/billing/payment-method/portal', {}, auth);
    expect(portal.status, portal.text).toBe(200);
    expect(portal.body.url).toMatch(/^https:\/\//);
    const asked = seen.filter((r) => r.path === '/v1/billing_portal/sessions');
    expect(asked).toHaveLength(1);
    expect(asked[0]?.body).toContain(`customer=${stripeCustomer}`);
    expect(decodeURIComponent(asked[0]?.body ?? '')).toMatch(/return_url=http:\/\/[^&]+\/billing/);
    // The same link from the CLI, logged in as the customer.
    const scratch = mkdtempSync(join(tmpdir(), 'saas-renewals-cli-'));
    try {
      const env = { SAASCTL_CONFIG: join(scratch, 'credentials.json'), SAASCTL_URL: test.url, HOME: scratch };
      const login = await runCli(['login', '--email', customer.email, '--password-stdin', '--url', test.url], {
        input: GOOD_PASSWORD,
        env,
      });
      expect(login.code, login.stderr).toBe(0);
      const printed = await runCli(['billing', 'portal'], { env });
      expect(printed.code, printed.stderr).toBe(0);
      expect(printed.stdout).toMatch(/^https:\/\/\S+\n$/);
      expect(seen.filter((r) => r.path === '/v1/billing_portal/sessions')).toHaveLength(2);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }

    travel(31);
    const renewal = await renew(test, customer, subscriptionId, new Set([invoice.id]));
    // stripe-mock answers every confirmation with its fixture (status requires_payment_method),
    // which is how Stripe reports a declined off-session card: the dunning path.
    await waitFor('the charge to be recorded', async () =>
      (await state(test, customer, subscriptionId)) === 'past_due' ? true : undefined,
    );
    const [failure] = await paymentsOf(test, renewal.id);
    expect(failure).toMatchObject({ status: 'failed', gateway: 'stripe' });
    expect(failure?.reference).toMatch(/^pi_/);
    expect(failure?.failure_reason).toMatch(/declined: pay the open invoice with another card/);
    const charges = seen.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents');
    expect(charges).toHaveLength(1);
    expect(charges[0]?.key).toMatch(/^charge-[0-9a-f-]{36}$/);
    for (const field of [`customer=${stripeCustomer}`, 'off_session=true', 'confirm=true', `amount=${renewal.totalMinor}`])
      expect(charges[0]?.body).toContain(field);

    // The day-1 retry is another attempt: another idempotency key.
    travel(1.01);
    await test.platform.billing.provider.sweep();
    await waitFor('the retry', async () => ((await paymentsOf(test, renewal.id)).length === 2 ? true : undefined));
    const keys = seen.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents').map((r) => r.key);
    expect(keys).toHaveLength(2);
    expect(keys[1]).not.toBe(keys[0]);
  });

  /** A new customer whose first invoice was paid at Checkout: active, with a saved Stripe customer. */
  async function paidAtCheckout(name: string) {
    const buyer = await registerCustomer(test.http, name);
    const { subscriptionId, invoice } = await firstInvoice(test, buyer);
    const stripeCustomer = `cus_${randomBytes(6).toString('hex')}`;
    const completed = signedStripeEvent(
      {
        id: `evt_${randomBytes(8).toString('hex')}`,
        type: 'checkout.session.completed',
        object: {
          id: `cs_test_${randomBytes(6).toString('hex')}`,
          object: 'checkout.session',
          metadata: { invoiceId: invoice.id },
          payment_status: 'paid',
          amount_total: invoice.totalMinor,
          currency: 'usd',
          customer: stripeCustomer,
          payment_intent: `pi_${randomBytes(8).toString('hex')}`,
        },
      },
      WEBHOOK_SECRET,
    );
    expect((await deliverStripe(completed)).status).toBe(200);
    await waitFor('the first payment', async () => ((await state(test, buyer, subscriptionId)) === 'active' ? true : undefined));
    return { buyer, subscriptionId, invoice, stripeCustomer };
  }

  function deliverStripe(signed: { body: string; signature: string }) {
    return test.http.post('/api/v1/billing/webhooks/stripe', undefined, {
      raw: signed.body,
      headers: { 'content-type': 'application/json', 'stripe-signature': signed.signature },
    });
  }

  async function outcomeOf(eventId: string): Promise<string> {
    return waitFor('the event to be processed', async () => {
      const row = await test.platform.database.db
        .selectFrom('billing_gateway_events')
        .select(['outcome', 'processed_at'])
        .where('event_id', '=', eventId)
        .executeTakeFirst();
      return row?.processed_at ? (row.outcome ?? '') : undefined;
    });
  }

  const intentEvent = (type: string, intent: Record<string, unknown>) =>
    signedStripeEvent({ id: `evt_${randomBytes(8).toString('hex')}`, type, object: intent }, WEBHOOK_SECRET);

  it('a card that pays: the renewal’s PaymentIntent succeeds -> the invoice is paid once, the subscription stays active', async () => {
    const { buyer, subscriptionId, invoice, stripeCustomer } = await paidAtCheckout('renewals-stripe-paid');
    intentStatus = 'succeeded';
    try {
      travel(31);
      const renewal = await renew(test, buyer, subscriptionId, new Set([invoice.id]));
      await waitFor('the renewal to be paid', async () =>
        (await invoicesOf(test, buyer, subscriptionId)).find((i) => i.id === renewal.id)?.status === 'paid' ? true : undefined,
      );
      expect(await state(test, buyer, subscriptionId)).toBe('active');
      const payments = await paymentsOf(test, renewal.id);
      expect(payments).toHaveLength(1);
      expect(payments[0]).toMatchObject({ status: 'succeeded', gateway: 'stripe', failure_reason: null });
      expect(payments[0]?.reference).toMatch(/^pi_/);
      const charges = seen.filter((r) => r.path === '/v1/payment_intents' && r.body.includes(`customer=${stripeCustomer}`));
      expect(charges).toHaveLength(1);
      expect(charges[0]?.body).toContain('metadata[collection]=saved_card');

      // Stripe's payment_intent.succeeded for the same charge: the payment is already recorded.
      const intent = rewritten.find((i) => (i.metadata as Record<string, string>).invoiceId === renewal.id);
      expect(intent?.id).toBe(payments[0]?.reference);
      const event = intentEvent('payment_intent.succeeded', intent as Record<string, unknown>);
      expect((await deliverStripe(event)).status).toBe(200);
      expect(await outcomeOf(JSON.parse(event.body).id)).toBe('payment already recorded');
      expect(await paymentsOf(test, renewal.id)).toHaveLength(1);
    } finally {
      intentStatus = null;
    }
  });

  it('a charge still processing records nothing; Stripe’s signed payment_intent.succeeded then pays the renewal', async () => {
    const { buyer, subscriptionId, invoice } = await paidAtCheckout('renewals-stripe-processing');
    intentStatus = 'processing';
    try {
      travel(31);
      const renewal = await renew(test, buyer, subscriptionId, new Set([invoice.id]));
      const intent = await waitFor('the charge', async () =>
        rewritten.find((i) => (i.metadata as Record<string, string>).invoiceId === renewal.id),
      );
      // A Checkout payment's intent (no `collection` marker) is left to checkout.session.completed.
      const checkoutIntent = intentEvent('payment_intent.succeeded', {
        ...intent,
        id: `pi_${randomBytes(8).toString('hex')}`,
        status: 'succeeded',
        metadata: { invoiceId: renewal.id },
      });
      expect((await deliverStripe(checkoutIntent)).status).toBe(200);
      expect(await outcomeOf(JSON.parse(checkoutIntent.body).id)).toBe('nothing to apply');

      const settled = intentEvent('payment_intent.succeeded', { ...intent, status: 'succeeded', amount_received: intent.amount });
      expect((await deliverStripe(settled)).status).toBe(200);
      // 'payment succeeded', not 'already recorded': the processing answer recorded nothing.
      expect(await outcomeOf(JSON.parse(settled.body).id)).toBe('payment succeeded');
      const invoices = await invoicesOf(test, buyer, subscriptionId);
      expect(invoices.find((i) => i.id === renewal.id)?.status).toBe('paid');
      expect(await state(test, buyer, subscriptionId)).toBe('active');
      expect((await paymentsOf(test, renewal.id)).map((p) => [p.reference, p.status])).toEqual([[intent.id, 'succeeded']]);
    } finally {
      intentStatus = null;
    }
  });
});
