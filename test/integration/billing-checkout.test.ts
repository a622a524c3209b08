import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD, startPlatformForTenantRequests, type TenantRequestsPlatform } from '../helpers/platform.js';
import { signedStripeEvent, startStripeMock } from '../helpers/stripe-mock.js';

/**
 * "Create instance" with a paid plan: the tenant and its subscription are made in one
 * transaction; without a trial the tenant waits in pending_payment with its first invoice, the
 * customer pays on a Checkout Session (created in stripe-mock), and the signed
 * checkout.session.completed moves the tenant to provisioning and the MRR up. No job workers
 * here (tenants stay where billing puts them): the test applies the kept webhook event itself,
 * as the `billing-gateway-event` job would.
 */
const WEBHOOK_SECRET = 'whsec_checkout_suite';
let stripeMock: Awaited<ReturnType<typeof startStripeMock>>;
let platform: TenantRequestsPlatform;

beforeAll(async () => {
  stripeMock = await startStripeMock();
  platform = await startPlatformForTenantRequests('checkout', {
    env: {
      BILLING_GATEWAY: 'stripe',
      STRIPE_SECRET_KEY: 'sk_test_123',
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_URL: stripeMock.url,
    },
  });
}, 120_000);

afterAll(async () => {
  await platform?.test.stop();
  await stripeMock?.stop();
});

const customer = () => ({ token: platform.customer.accessToken });
const operator = () => ({ token: platform.operator.accessToken });
let counter = 0;

function create(plan: string, billing?: Record<string, unknown>) {
  counter += 1;
  return platform.test.http.post(
    '/api/v1/tenants',
    {
      name: `checkout${Date.now().toString(36)}${counter}`,
      plan,
      template: 'blank',
      adminEmail: 'admin@checkout.example.com',
      adminPassword: GOOD_PASSWORD,
      ...(billing ? { billing } : {}),
    },
    customer(),
  );
}

async function tenantState(name: string): Promise<string> {
  return (await platform.test.http.get(`/api/v1/tenants/${name}`, customer())).body.state;
}

async function mrrUsd(): Promise<number> {
  const overview = await platform.test.http.get('/api/v1/billing/overview', operator());
  return overview.body.mrr.find((m: { currency: string }) => m.currency === 'USD')?.amountMinor ?? 0;
}

describe('Create instance with a paid plan', () => {
  it('without a trial: pending_payment with a payment link; the signed checkout.session.completed provisions it and moves the MRR', async () => {
    const mrrBefore = await mrrUsd();
    const created = await create('standard', { interval: 'month', trial: false });
    expect(created.status, created.text).toBe(202);
    expect(created.body.tenant.state).toBe('pending_payment');
    expect(created.body.jobId).toBeNull();
    expect(created.body.subscription).toMatchObject({ state: 'pending_payment', invoiceId: expect.any(String) });
    const { name } = created.body.tenant;

    const checkout = await platform.test.http.post(
      `/api/v1/billing/invoices/${created.body.subscription.invoiceId}/checkout`,
      undefined,
      customer(),
    );
    expect(checkout.status, checkout.text).toBe(200);
    expect(checkout.body.url).toMatch(/^https:\/\/checkout\.stripe\.com\//);

    const invoice = (await platform.test.http.get(`/api/v1/billing/invoices/${created.body.subscription.invoiceId}`, customer())).body;
    const eventId = `evt_${randomBytes(8).toString('hex')}`;
    const signed = signedStripeEvent(
      {
        id: eventId,
        type: 'checkout.session.completed',
        object: {
          id: `cs_test_${randomBytes(6).toString('hex')}`,
          object: 'checkout.session',
          metadata: { invoiceId: invoice.id },
          payment_status: 'paid',
          amount_total: invoice.totalMinor,
          currency: 'usd',
          payment_intent: `pi_${randomBytes(8).toString('hex')}`,
        },
      },
      WEBHOOK_SECRET,
    );
    const received = await platform.test.http.post('/api/v1/billing/webhooks/stripe', undefined, {
      raw: signed.body,
      headers: { 'content-type': 'application/json', 'stripe-signature': signed.signature },
    });
    expect(received.status, received.text).toBe(200);
    expect(await tenantState(name)).toBe('pending_payment');
    expect(await platform.test.platform.billing.provider.processGatewayEvent('stripe', eventId)).toBe('payment succeeded');

    expect(await tenantState(name)).toBe('provisioning');
    const subscription = await platform.test.http.get(`/api/v1/billing/subscriptions/${created.body.subscription.id}`, customer());
    expect(subscription.body.state).toBe('active');
    expect(await mrrUsd()).toBe(mrrBefore + 1900);
    const paid = await platform.test.http.get(`/api/v1/billing/invoices/${invoice.id}/pdf`, customer());
    expect(paid.status).toBe(200);
    expect(paid.headers.get('content-type')).toBe('application/pdf');
  });

  it('with the trial: provisioned at once; a second trial of the account is refused (409) and leaves no tenant', async () => {
    const trial = await create('premium', { interval: 'month', trial: true });
    expect(trial.status, trial.text).toBe(202);
    expect(trial.body.tenant.state).toBe('provisioning');
    expect(trial.body.subscription).toMatchObject({ state: 'trialing', invoiceId: null });

    const before = await platform.test.http.get('/api/v1/tenants', customer());
    const again = await create('premium', { interval: 'month', trial: true });
    expect(again.status).toBe(409);
    expect(again.body.field).toBe('trial');
    const after = await platform.test.http.get('/api/v1/tenants', customer());
    expect(after.body.length).toBe(before.body.length);
  });

  it('refuses billing on a free plan, naming the field, and makes nothing', async () => {
    const before = await platform.test.http.get('/api/v1/tenants', customer());
    const free = await create('basic', { interval: 'month', trial: false });
    expect(free.status).toBe(400);
    expect(free.body.field).toBe('interval');
    expect((await platform.test.http.get('/api/v1/tenants', customer())).body.length).toBe(before.body.length);
  });
});
