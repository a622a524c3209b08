import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/gateway-client.js';
import { createOperator, registerCustomer, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { postgresAdminUrl } from '../helpers/postgres.js';
import { signedStripeEvent, startStripeMock } from '../helpers/stripe-mock.js';

/**
 * The Stripe gateway against stripe-mock (Stripe's own API mock server, built from the Go module
 * proxy), with webhooks signed offline by the SDK's generateTestHeaderString. The platform runs
 * its job workers: a webhook is kept and applied by the durable `billing-gateway-event` job.
 */
const WEBHOOK_SECRET = 'whsec_test_billing_suite';
let stripeMock: Awaited<ReturnType<typeof startStripeMock>>;
let test: TestPlatform;
let customer: Awaited<ReturnType<typeof registerCustomer>>;
let operatorToken: string;

beforeAll(async () => {
  stripeMock = await startStripeMock();
  test = await startTestPlatform({
    TENANT_DATABASE_URL: postgresAdminUrl(),
    TEMPLATES_AUTOBUILD: '',
    BILLING_GATEWAY: 'stripe',
    STRIPE_SECRET_KEY: 'sk_test_123',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_URL: stripeMock.url,
  });
  customer = await registerCustomer(test.http, 'stripe');
  operatorToken = (await createOperator(test)).accessToken;
}, 120_000);

afterAll(async () => {
  await test?.stop();
  await stripeMock?.stop();
});

const auth = () => ({ token: customer.accessToken });

/** A pending subscription of the customer and its open first invoice. */
async function pendingInvoice(): Promise<{ subscriptionId: string; invoice: { id: string; totalMinor: number; number: string } }> {
  const created = await test.http.post('/api/v1/billing/subscriptions', { plan: 'standard', interval: 'month' }, auth());
  expect(created.status, created.text).toBe(201);
  const invoices = await test.http.get(`/api/v1/billing/invoices?subscriptionId=${created.body.id}`, auth());
  return { subscriptionId: created.body.id, invoice: invoices.body[0] };
}

function checkoutCompleted(invoice: { id: string; totalMinor: number }, overrides: Record<string, unknown> = {}) {
  return {
    id: `evt_${randomBytes(8).toString('hex')}`,
    type: 'checkout.session.completed',
    object: {
      id: `cs_test_${randomBytes(6).toString('hex')}`,
      object: 'checkout.session',
      metadata: { invoiceId: invoice.id },
      client_reference_id: invoice.id,
      payment_status: 'paid',
      amount_total: invoice.totalMinor,
      currency: 'usd',
      payment_intent: `pi_${randomBytes(8).toString('hex')}`,
      ...overrides,
    },
  };
}

function deliver(signed: { body: string; signature: string }) {
  return test.http.post('/api/v1/billing/webhooks/stripe', undefined, {
    raw: signed.body,
    headers: { 'content-type': 'application/json', 'stripe-signature': signed.signature },
  });
}

async function subscriptionState(id: string): Promise<string> {
  return (await test.http.get(`/api/v1/billing/subscriptions/${id}`, auth())).body.state;
}

async function keptEvents(): Promise<number> {
  const row = await test.platform.database.db
    .selectFrom('billing_gateway_events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('checkout', () => {
  it('creates a Checkout Session in stripe-mock and answers its URL', async () => {
    const { invoice } = await pendingInvoice();
    const checkout = await test.http.post(`/api/v1/billing/invoices/${invoice.id}/checkout`, undefined, auth());
    expect(checkout.status, checkout.text).toBe(200);
    expect(checkout.body.url).toMatch(/^https:\/\/checkout\.stripe\.com\//);
  });
});

describe('webhooks', () => {
  it('a signed checkout.session.completed pays the invoice and activates the subscription, once', async () => {
    const { subscriptionId, invoice } = await pendingInvoice();
    const signed = signedStripeEvent(checkoutCompleted(invoice), WEBHOOK_SECRET);
    const received = await deliver(signed);
    expect(received.status, received.text).toBe(200);
    expect(received.body).toEqual({ received: true, duplicate: false });
    await waitFor('the subscription to turn active', async () =>
      (await subscriptionState(subscriptionId)) === 'active' ? true : undefined,
    );
    const paid = await test.http.get(`/api/v1/billing/invoices/${invoice.id}`, auth());
    expect(paid.body).toMatchObject({ status: 'paid', payments: [{ status: 'succeeded', gateway: 'stripe' }] });

    // Stripe delivers it again (a replay, or a retry after a lost answer): acknowledged, not applied again.
    const again = await deliver(signed);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ received: true, duplicate: true });
    const payments = await test.platform.database.db
      .selectFrom('billing_payments')
      .select('reference')
      .where('invoice_id', '=', invoice.id)
      .execute();
    expect(payments).toHaveLength(1);
  });

  it('refuses a wrong signature, a stale timestamp and a missing header with 400, keeping nothing', async () => {
    const { subscriptionId, invoice } = await pendingInvoice();
    const before = await keptEvents();
    const wrongSecret = await deliver(signedStripeEvent(checkoutCompleted(invoice), 'whsec_not_ours'));
    expect(wrongSecret.status).toBe(400);
    expect(wrongSecret.body.field).toBe('signature');
    const stale = await deliver(
      signedStripeEvent(checkoutCompleted(invoice), WEBHOOK_SECRET, { timestamp: Math.floor(Date.now() / 1000) - 600 }),
    );
    expect(stale.status).toBe(400);
    expect(stale.body.detail).toMatch(/tolerance/i);
    // The body changed after signing (an amount edited in transit).
    const signed = signedStripeEvent(checkoutCompleted(invoice), WEBHOOK_SECRET);
    const tampered = await deliver({
      body: signed.body.replace(`"amount_total":${invoice.totalMinor}`, '"amount_total":1'),
      signature: signed.signature,
    });
    expect(tampered.status).toBe(400);
    const unsigned = await test.http.post('/api/v1/billing/webhooks/stripe', undefined, {
      raw: signed.body,
      headers: { 'content-type': 'application/json' },
    });
    expect(unsigned.status).toBe(400);
    expect(unsigned.body.detail).toMatch(/Stripe-Signature/);
    expect(await keptEvents()).toBe(before);
    expect(await subscriptionState(subscriptionId)).toBe('pending_payment');
  });

  it('keeps an event that reports a wrong amount, refused with the reason, and applies nothing', async () => {
    const { subscriptionId, invoice } = await pendingInvoice();
    const event = checkoutCompleted(invoice, { amount_total: invoice.totalMinor - 1 });
    expect((await deliver(signedStripeEvent(event, WEBHOOK_SECRET))).status).toBe(200);
    const outcome = await waitFor('the event to be processed', async () => {
      const row = await test.platform.database.db
        .selectFrom('billing_gateway_events')
        .select(['outcome', 'processed_at'])
        .where('event_id', '=', event.id)
        .executeTakeFirst();
      return row?.processed_at ? row.outcome : undefined;
    });
    expect(outcome).toMatch(/^refused: .*does not match the invoice total/);
    expect(await subscriptionState(subscriptionId)).toBe('pending_payment');
  });

  it('a signed invoice.paid naming our invoice pays it and activates the subscription', async () => {
    const { subscriptionId, invoice } = await pendingInvoice();
    const event = {
      id: `evt_${randomBytes(8).toString('hex')}`,
      type: 'invoice.paid',
      object: {
        id: `in_${randomBytes(8).toString('hex')}`,
        object: 'invoice',
        metadata: { invoiceId: invoice.id },
        amount_paid: invoice.totalMinor,
        amount_due: invoice.totalMinor,
        currency: 'usd',
        status: 'paid',
      },
    };
    expect((await deliver(signedStripeEvent(event, WEBHOOK_SECRET))).status).toBe(200);
    await waitFor('the subscription to turn active', async () =>
      (await subscriptionState(subscriptionId)) === 'active' ? true : undefined,
    );
    const paid = await test.http.get(`/api/v1/billing/invoices/${invoice.id}`, auth());
    expect(paid.body).toMatchObject({ status: 'paid', payments: [{ status: 'succeeded', gateway: 'stripe' }] });
  });

  it('acknowledges events that report no payment (customer.subscription.updated) without applying anything', async () => {
    const event = {
      id: `evt_${randomBytes(8).toString('hex')}`,
      type: 'customer.subscription.updated',
      object: { id: 'sub_1', object: 'subscription' },
    };
    const received = await deliver(signedStripeEvent(event, WEBHOOK_SECRET));
    expect(received.status).toBe(200);
    const outcome = await waitFor('the event to be processed', async () => {
      const row = await test.platform.database.db
        .selectFrom('billing_gateway_events')
        .select(['outcome', 'processed_at'])
        .where('event_id', '=', event.id)
        .executeTakeFirst();
      return row?.processed_at ? row.outcome : undefined;
    });
    expect(outcome).toBe('nothing to apply');
  });

  it('an operator refunds a Checkout payment through Stripe (stripe-mock) and a credit note is issued', async () => {
    const { subscriptionId, invoice } = await pendingInvoice();
    expect((await deliver(signedStripeEvent(checkoutCompleted(invoice), WEBHOOK_SECRET))).status).toBe(200);
    await waitFor('the subscription to turn active', async () =>
      (await subscriptionState(subscriptionId)) === 'active' ? true : undefined,
    );
    const asked = await test.http.post(
      `/api/v1/billing/invoices/${invoice.id}/refund`,
      { amountMinor: 700, reason: 'Charged twice' },
      { token: operatorToken },
    );
    expect(asked.status, asked.text).toBe(202);
    const note = await waitFor('the refund to settle', async () => {
      const read = await test.http.get(`/api/v1/billing/credit-notes/${asked.body.id}`, auth());
      return read.body.status === 'requested' ? undefined : read.body;
    });
    expect(note).toMatchObject({ status: 'issued', gateway: 'stripe', amountMinor: 700, invoiceNumber: invoice.number });
    expect(note.number).toMatch(/^CN-\d{4}-\d{6}$/);
    const row = await test.platform.database.db
      .selectFrom('billing_refunds')
      .select('gateway_reference')
      .where('id', '=', asked.body.id)
      .executeTakeFirstOrThrow();
    expect(row.gateway_reference).toMatch(/^re_/);
  });

  it('operators see gateway payments like any other', async () => {
    const overview = await test.http.get('/api/v1/billing/overview', { token: operatorToken });
    expect(overview.status).toBe(200);
    expect(overview.body.counts.active).toBeGreaterThanOrEqual(1);
  });
});
