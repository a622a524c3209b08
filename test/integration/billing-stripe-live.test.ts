import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS } from '../../src/billing/index.js';
import { waitFor } from '../helpers/gateway-client.js';
import { registerCustomer, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { postgresAdminUrl } from '../helpers/postgres.js';
import { signedStripeEvent } from '../helpers/stripe-mock.js';

/**
 * Renewals charged to a saved card against Stripe's real **test mode** (api.stripe.com with an
 * `sk_test_…` key), the one place a PaymentIntent really succeeds or is declined: stripe-mock
 * answers every PaymentIntent with one fixture status and documents no way to ask for another
 * (stripe/stripe-mock#473). Runs when STRIPE_TEST_SECRET_KEY is set; skipped with the reason
 * otherwise. The webhook that saves the customer is signed offline with our own endpoint secret
 * (constructEvent does not call Stripe); the customers and cards are made in the test account
 * with Stripe's documented test payment methods.
 */
const KEY = process.env.STRIPE_TEST_SECRET_KEY ?? '';
const unavailable = !KEY
  ? 'STRIPE_TEST_SECRET_KEY is not set (a Stripe test-mode secret key, sk_test_…)'
  : !KEY.startsWith('sk_test_')
    ? 'STRIPE_TEST_SECRET_KEY is not a test-mode key (sk_test_…): refusing to charge a live account'
    : null;
if (unavailable) console.warn(`[billing-stripe-live] skipped: ${unavailable}`);

const WEBHOOK_SECRET = `whsec_live_suite_${randomBytes(8).toString('hex')}`;
let now = new Date();
let test: TestPlatform;
let stripe: Stripe;
const made: string[] = [];

describe.skipIf(unavailable !== null)("renewals against Stripe's test mode", { timeout: 180_000 }, () => {
  beforeAll(async () => {
    stripe = new Stripe(KEY);
    test = await startTestPlatform(
      {
        TENANT_DATABASE_URL: postgresAdminUrl(),
        TEMPLATES_AUTOBUILD: '',
        BILLING_GATEWAY: 'stripe',
        STRIPE_SECRET_KEY: KEY,
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      },
      { clock: () => now },
    );
  }, 120_000);

  afterAll(async () => {
    await test?.stop();
    for (const id of made) await stripe?.customers.del(id).catch(() => undefined);
  });

  /** A customer whose first invoice was paid at Checkout, saving a Stripe customer with `card` as its default. */
  async function subscribedWith(card: string) {
    const buyer = await registerCustomer(test.http, `live-${randomBytes(3).toString('hex')}`);
    const customer = await stripe.customers.create({ email: buyer.email, description: 'odoo-saas test suite' });
    made.push(customer.id);
    const method = await stripe.paymentMethods.attach(card, { customer: customer.id });
    await stripe.customers.update(customer.id, { invoice_settings: { default_payment_method: method.id } });
    const auth = { token: buyer.accessToken };
    const created = await test.http.post('/api/v1/billing/subscriptions', { plan: 'standard', interval: 'month' }, auth);
    expect(created.status, created.text).toBe(201);
    const [invoice] = (await test.http.get(`/api/v1/billing/invoices?subscriptionId=${created.body.id}`, auth)).body;
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
          customer: customer.id,
          payment_intent: `pi_suite_${randomBytes(8).toString('hex')}`,
        },
      },
      WEBHOOK_SECRET,
    );
    const delivered = await test.http.post('/api/v1/billing/webhooks/stripe', undefined, {
      raw: completed.body,
      headers: { 'content-type': 'application/json', 'stripe-signature': completed.signature },
    });
    expect(delivered.status, delivered.text).toBe(200);
    const state = async () => (await test.http.get(`/api/v1/billing/subscriptions/${created.body.id}`, auth)).body.state as string;
    await waitFor('the first payment', async () => ((await state()) === 'active' ? true : undefined));
    now = new Date(now.getTime() + 31 * DAY_MS);
    await test.platform.billing.provider.sweep();
    const renewal = (await test.http.get(`/api/v1/billing/invoices?subscriptionId=${created.body.id}`, auth)).body.find(
      (i: { reason: string }) => i.reason === 'renewal',
    ) as { id: string; totalMinor: number };
    expect(renewal).toBeDefined();
    const payment = await waitFor('the renewal charge', async () =>
      test.platform.database.db.selectFrom('billing_payments').selectAll().where('invoice_id', '=', renewal.id).executeTakeFirst(),
    );
    return { state, renewal, payment };
  }

  it('pm_card_visa: the renewal succeeds at Stripe and the invoice is paid', async () => {
    const { state, renewal, payment } = await subscribedWith('pm_card_visa');
    expect(payment).toMatchObject({ status: 'succeeded', gateway: 'stripe' });
    expect(await state()).toBe('active');
    const intent = await stripe.paymentIntents.retrieve(payment.reference);
    expect(intent).toMatchObject({ status: 'succeeded', amount: renewal.totalMinor, currency: 'usd' });
    expect(intent.metadata).toMatchObject({ invoiceId: renewal.id, collection: 'saved_card' });
  });

  it('a declined card: the renewal fails at Stripe and dunning starts (past due)', async () => {
    // pm_card_chargeDeclined is refused when attached to a customer (Stripe checks the card);
    // pm_card_chargeCustomerFail attaches and then declines every charge: a saved card that stops paying.
    const { state, payment } = await subscribedWith('pm_card_chargeCustomerFail');
    expect(payment).toMatchObject({ status: 'failed', gateway: 'stripe' });
    expect(payment.failure_reason).toMatch(/declined/);
    expect(await state()).toBe('past_due');
  });
});
