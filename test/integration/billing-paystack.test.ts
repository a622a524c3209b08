import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPaystackGateway, runPaystackPlanSync } from '../../src/billing/index.js';
import type { Plan } from '../../src/plans/index.js';
import { waitFor } from '../helpers/gateway-client.js';
import { chargeSuccess, type PaystackServer, signedPaystackEvent, startPaystackServer } from '../helpers/paystack.js';
import { fetchPdfText } from '../helpers/pdf.js';
import { createOperator, registerCustomer, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

/**
 * The Paystack gateway against a loopback server that follows Paystack's documented API
 * (Paystack publishes no mock). Webhooks are signed as Paystack signs them; the platform runs
 * its job workers, so an event is kept, re-read from the (loopback) API and applied by the
 * durable `billing-gateway-event` job.
 */
let paystack: PaystackServer;
let test: TestPlatform;
let customer: Awaited<ReturnType<typeof registerCustomer>>;
let operatorToken: string;

beforeAll(async () => {
  paystack = await startPaystackServer();
  test = await startTestPlatform({
    TENANT_DATABASE_URL: postgresAdminUrl(),
    TEMPLATES_AUTOBUILD: '',
    BILLING_GATEWAY: 'paystack',
    PAYSTACK_SECRET_KEY: paystack.secretKey,
    PAYSTACK_API_URL: paystack.url,
  });
  customer = await registerCustomer(test.http, 'paystack');
  operatorToken = (await createOperator(test)).accessToken;
}, 120_000);

afterAll(async () => {
  await test?.stop();
  await paystack?.stop();
});

const auth = () => ({ token: customer.accessToken });

/** A pending subscription, its open first invoice, and the Paystack transaction its checkout started. */
async function checkedOut() {
  const created = await test.http.post('/api/v1/billing/subscriptions', { plan: 'standard', interval: 'month' }, auth());
  expect(created.status, created.text).toBe(201);
  const invoice = (await test.http.get(`/api/v1/billing/invoices?subscriptionId=${created.body.id}`, auth())).body[0];
  const checkout = await test.http.post(`/api/v1/billing/invoices/${invoice.id}/checkout`, undefined, auth());
  expect(checkout.status, checkout.text).toBe(200);
  const transaction = [...paystack.transactions.values()].find(
    (t) => (t.metadata as { invoiceId?: string } | null)?.invoiceId === invoice.id,
  );
  if (!transaction) throw new Error('checkout initialized no Paystack transaction');
  return { subscriptionId: created.body.id as string, invoice, transaction, url: checkout.body.url as string };
}

function deliver(signed: { body: string; signature?: string }) {
  return test.http.post('/api/v1/billing/webhooks/paystack', undefined, {
    raw: signed.body,
    headers: { 'content-type': 'application/json', ...(signed.signature ? { 'x-paystack-signature': signed.signature } : {}) },
  });
}

async function subscriptionState(id: string): Promise<string> {
  return (await test.http.get(`/api/v1/billing/subscriptions/${id}`, auth())).body.state;
}

async function outcomeOf(eventId: string): Promise<string> {
  return waitFor('the event to be processed', async () => {
    const row = await test.platform.database.db
      .selectFrom('billing_gateway_events')
      .select(['outcome', 'processed_at'])
      .where('gateway', '=', 'paystack')
      .where('event_id', '=', eventId)
      .executeTakeFirst();
    return row?.processed_at ? (row.outcome ?? '') : undefined;
  });
}

async function paymentsOf(invoiceId: string) {
  return test.platform.database.db
    .selectFrom('billing_payments')
    .select(['status', 'gateway', 'reference', 'amount_minor'])
    .where('invoice_id', '=', invoiceId)
    .execute();
}

async function keptEvents(): Promise<number> {
  const row = await test.platform.database.db
    .selectFrom('billing_gateway_events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The plan catalog as the API answers it (the plans service's view). */
async function catalog(): Promise<Plan[]> {
  const listed = await test.http.get('/api/v1/plans');
  expect(listed.status).toBe(200);
  return listed.body as Plan[];
}

describe('plans', () => {
  it('the start made our paid prices Paystack plans (tax included) and kept their codes; a second sync changes nothing', async () => {
    const rows = await test.platform.database.db.selectFrom('billing_paystack_plans').selectAll().execute();
    const standard = rows.find((r) => r.plan === 'standard' && r.interval === 'month');
    expect(standard).toBeDefined();
    const atPaystack = paystack.plans.get(standard?.paystack_code ?? '');
    expect(atPaystack).toMatchObject({ name: 'odoo-saas standard monthly', interval: 'monthly', amount: Number(standard?.amount_minor) });
    expect(paystack.plans.size).toBe(rows.length);
    const plans = await catalog();
    const api = createPaystackGateway({ secretKey: paystack.secretKey, apiUrl: paystack.url }).plans;
    const deps = { db: test.platform.database.db, api, clock: () => new Date() };
    const again = await runPaystackPlanSync(deps, plans);
    expect(again.map((d) => d.change)).toEqual(rows.map(() => 'none'));
    expect(paystack.requests.filter((r) => r.method !== 'GET' && r.path.startsWith('/plan'))).toHaveLength(rows.length);
  });

  it('a sync killed after Paystack made a plan finds it by name; a changed price updates the plan in place', async () => {
    const db = test.platform.database.db;
    const api = createPaystackGateway({ secretKey: paystack.secretKey, apiUrl: paystack.url }).plans;
    const deps = { db, api, clock: () => new Date() };
    const before = paystack.plans.size;
    const { paystack_code: code } = await db
      .deleteFrom('billing_paystack_plans')
      .where('plan', '=', 'standard')
      .where('interval', '=', 'month')
      .returning('paystack_code')
      .executeTakeFirstOrThrow();
    const plans = await catalog();
    const found = await runPaystackPlanSync(deps, plans);
    expect(found.find((d) => d.plan === 'standard' && d.interval === 'month')).toMatchObject({ code, change: 'none' });
    expect(paystack.plans.size).toBe(before);

    const dearer = plans.map((p) =>
      p.code === 'standard'
        ? { ...p, prices: p.prices.map((x) => (x.interval === 'month' ? { ...x, amountCents: x.amountCents + 100 } : x)) }
        : p,
    );
    const updated = await runPaystackPlanSync(deps, dearer);
    expect(updated.find((d) => d.plan === 'standard' && d.interval === 'month')).toMatchObject({ code, change: 'update' });
    const row = await db.selectFrom('billing_paystack_plans').selectAll().where('paystack_code', '=', code).executeTakeFirstOrThrow();
    expect(paystack.plans.get(code)?.amount).toBe(Number(row.amount_minor));
    expect(paystack.plans.size).toBe(before);
    await runPaystackPlanSync(deps, plans); // back to the catalog's price for the other tests
  });
});

describe('checkout', () => {
  it('initializes a Paystack transaction for the invoice total, with the customer email, and answers its page', async () => {
    const { invoice, transaction, url } = await checkedOut();
    expect(url).toMatch(/^https:\/\/checkout\.paystack\.com\/[0-9a-f]+$/);
    expect(transaction).toMatchObject({ amount: invoice.totalMinor, currency: 'USD', email: customer.email, status: 'ongoing' });
  });
});

describe('webhooks', () => {
  it('a signed charge.success, re-verified, pays the invoice and activates the subscription exactly once', async () => {
    const { subscriptionId, invoice, transaction } = await checkedOut();
    paystack.settle(transaction.reference, 'success');
    const signed = signedPaystackEvent('charge.success', chargeSuccess(transaction), paystack.secretKey);
    // Paystack retries deliveries; five at once stand for a retry racing the first.
    const answers = await Promise.all(Array.from({ length: 5 }, () => deliver(signed)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(answers.filter((a) => a.body.duplicate === false)).toHaveLength(1);
    expect(await outcomeOf(`charge.success:${transaction.reference}`)).toBe('payment succeeded');
    expect(await subscriptionState(subscriptionId)).toBe('active');
    expect(paystack.requests).toContainEqual({ method: 'GET', path: `/transaction/verify/${transaction.reference}` });
    expect(await paymentsOf(invoice.id)).toEqual([
      { status: 'succeeded', gateway: 'paystack', reference: transaction.reference, amount_minor: invoice.totalMinor },
    ]);

    // A replay later (Paystack signs no timestamp): acknowledged, not applied again.
    const replay = await deliver(signed);
    expect(replay.body).toEqual({ received: true, duplicate: true });
    expect(await paymentsOf(invoice.id)).toHaveLength(1);
  });

  it('refuses a wrong signature, a tampered body and a missing header with 400, keeping nothing', async () => {
    const { subscriptionId, transaction } = await checkedOut();
    paystack.settle(transaction.reference, 'success');
    const before = await keptEvents();
    const wrongKey = await deliver(signedPaystackEvent('charge.success', chargeSuccess(transaction), 'sk_test_not_ours'));
    expect(wrongKey.status).toBe(400);
    expect(wrongKey.body.field).toBe('signature');
    const signed = signedPaystackEvent('charge.success', chargeSuccess(transaction), paystack.secretKey);
    const tampered = await deliver({
      body: signed.body.replace(`"amount":${transaction.amount}`, '"amount":1'),
      signature: signed.signature,
    });
    expect(tampered.status).toBe(400);
    const short = await deliver({ body: signed.body, signature: signed.signature.slice(0, 64) });
    expect(short.status).toBe(400);
    const unsigned = await deliver({ body: signed.body });
    expect(unsigned.status).toBe(400);
    expect(unsigned.body.detail).toMatch(/x-paystack-signature/);
    expect(await keptEvents()).toBe(before);
    expect(await subscriptionState(subscriptionId)).toBe('pending_payment');
  });

  it('re-verifies: a charge.success Paystack does not confirm (abandoned) is kept, refused, and applies nothing', async () => {
    const { subscriptionId, invoice, transaction } = await checkedOut();
    paystack.settle(transaction.reference, 'abandoned');
    const signed = signedPaystackEvent('charge.success', chargeSuccess(transaction), paystack.secretKey);
    expect((await deliver(signed)).status).toBe(200);
    expect(await outcomeOf(`charge.success:${transaction.reference}`)).toMatch(/^refused: .*as abandoned/);
    expect(await subscriptionState(subscriptionId)).toBe('pending_payment');
    expect(await paymentsOf(invoice.id)).toEqual([]);
  });

  it('re-verifies: the amount applied is what Paystack charged, not what the event claims', async () => {
    const { subscriptionId, invoice } = await checkedOut();
    // A transaction for the invoice paid with 1 minor unit; its event claims the full total.
    const cheap = paystack.add({ reference: `cheap_${invoice.id}`, amount: 1, metadata: { invoiceId: invoice.id }, status: 'success' });
    const signed = signedPaystackEvent('charge.success', chargeSuccess(cheap, { amount: invoice.totalMinor }), paystack.secretKey);
    expect((await deliver(signed)).status).toBe(200);
    expect(await outcomeOf(`charge.success:${cheap.reference}`)).toMatch(/^refused: The payment of 1 does not match the invoice total/);
    expect(await subscriptionState(subscriptionId)).toBe('pending_payment');
  });

  it('invoice.payment_failed records the failed payment Paystack confirms', async () => {
    const { invoice, transaction } = await checkedOut();
    paystack.settle(transaction.reference, 'failed');
    const signed = signedPaystackEvent(
      'invoice.payment_failed',
      { invoice_code: 'INV_loopback1', status: 'failed', paid: false, transaction: { reference: transaction.reference, status: 'failed' } },
      paystack.secretKey,
    );
    expect((await deliver(signed)).status).toBe(200);
    expect(await outcomeOf('invoice.payment_failed:INV_loopback1')).toBe('payment failed');
    expect(await paymentsOf(invoice.id)).toEqual([
      { status: 'failed', gateway: 'paystack', reference: transaction.reference, amount_minor: invoice.totalMinor },
    ]);
  });

  it('subscription events are re-read from /subscription/:code, described with our plan, and never applied', async () => {
    const ours = await test.platform.database.db
      .selectFrom('billing_paystack_plans')
      .selectAll()
      .where('plan', '=', 'standard')
      .where('interval', '=', 'month')
      .executeTakeFirstOrThrow();
    const sub = paystack.addSubscription({ plan_code: ours.paystack_code, email: customer.email });
    const stateBefore = await test.platform.database.db.selectFrom('billing_subscriptions').select(['id', 'state']).execute();

    const created = signedPaystackEvent(
      'subscription.create',
      { subscription_code: sub.subscription_code, status: 'active' },
      paystack.secretKey,
    );
    expect((await deliver(created)).status).toBe(200);
    expect(await outcomeOf(`subscription.create:${sub.subscription_code}`)).toBe(
      `nothing to apply: Paystack subscription ${sub.subscription_code} on our plan standard (monthly) for ${customer.email} is active; the platform renews subscriptions itself, so this one would charge the customer a second time each period: disable it in Paystack`,
    );
    // The event claims a disable Paystack does not confirm (the subscription is still active): refused.
    const early = signedPaystackEvent('subscription.disable', { subscription_code: sub.subscription_code }, paystack.secretKey);
    expect((await deliver(early)).status).toBe(200);
    expect(await outcomeOf(`subscription.disable:${sub.subscription_code}`)).toBe(
      `refused: the event reports subscription.disable, Paystack reports subscription ${sub.subscription_code} as active.`,
    );
    sub.status = 'non-renewing';
    const notRenew = signedPaystackEvent('subscription.not_renew', { subscription_code: sub.subscription_code }, paystack.secretKey);
    expect((await deliver(notRenew)).status).toBe(200);
    expect(await outcomeOf(`subscription.not_renew:${sub.subscription_code}`)).toMatch(
      /is non-renewing; the platform's subscriptions are unchanged$/,
    );

    // Someone else's plan on the same Paystack account, and a code Paystack does not know.
    const foreign = paystack.addSubscription({ plan_code: 'PLN_elsewhere', email: 'x@example.com' });
    expect(
      (await deliver(signedPaystackEvent('subscription.create', { subscription_code: foreign.subscription_code }, paystack.secretKey)))
        .status,
    ).toBe(200);
    expect(await outcomeOf(`subscription.create:${foreign.subscription_code}`)).toBe(
      `nothing to apply: Paystack subscription ${foreign.subscription_code} (active) is on plan PLN_elsewhere, not one of ours`,
    );
    expect(
      (await deliver(signedPaystackEvent('subscription.create', { subscription_code: 'SUB_unknown' }, paystack.secretKey))).status,
    ).toBe(200);
    expect(await outcomeOf('subscription.create:SUB_unknown')).toBe('refused: Paystack knows no subscription SUB_unknown.');
    // Paystack charged for its subscription on our plan: money the platform did not bill, flagged.
    const charged = paystack.add({
      reference: `T${Date.now()}`,
      amount: Number(ours.amount_minor),
      metadata: null,
      status: 'success',
      plan: ours.paystack_code,
      email: customer.email,
    });
    expect((await deliver(signedPaystackEvent('charge.success', chargeSuccess(charged), paystack.secretKey))).status).toBe(200);
    expect(await outcomeOf(`charge.success:${charged.reference}`)).toBe(
      `nothing to apply: Paystack charged ${charged.amount} USD (${charged.reference}, ${customer.email}) for a Paystack subscription on our plan standard (monthly); the platform bills its renewals itself and recorded nothing: refund it in Paystack and disable that subscription`,
    );
    // Nothing of ours moved.
    expect(await test.platform.database.db.selectFrom('billing_subscriptions').select(['id', 'state']).execute()).toEqual(stateBefore);
  });

  it('the Stripe endpoint does not exist on a Paystack platform', async () => {
    const response = await test.http.post('/api/v1/billing/webhooks/stripe', undefined, {
      raw: '{}',
      headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' },
    });
    expect(response.status).toBe(404);
  });
});

/** An invoice paid through Paystack (checkout, settled, charge.success applied). */
async function paidInvoice() {
  const paid = await checkedOut();
  paystack.settle(paid.transaction.reference, 'success');
  const signed = signedPaystackEvent('charge.success', chargeSuccess(paid.transaction), paystack.secretKey);
  expect((await deliver(signed)).status).toBe(200);
  expect(await outcomeOf(`charge.success:${paid.transaction.reference}`)).toBe('payment succeeded');
  return paid;
}

function refund(invoiceId: string, body: Record<string, unknown>, token = operatorToken) {
  return test.http.post(`/api/v1/billing/invoices/${invoiceId}/refund`, body, { token });
}

/** The credit note once its refund job settled it (issued or failed). */
async function settled(id: string) {
  return waitFor(`refund ${id} to settle`, async () => {
    const note = await test.http.get(`/api/v1/billing/credit-notes/${id}`, { token: operatorToken });
    return note.body.status === 'requested' ? undefined : note.body;
  });
}

const sequenceOf = (number: string) => Number(number.split('-')[2]);

describe('refunds and credit notes', () => {
  it('a partial then the remaining refund go to Paystack /refund and issue consecutive credit notes', async () => {
    const { invoice, transaction } = await paidInvoice();
    const first = await refund(invoice.id, { amountMinor: 500, reason: 'Goodwill: two days of outage' });
    expect(first.status, first.text).toBe(202);
    expect(first.body).toMatchObject({ status: 'requested', number: null, amountMinor: 500, invoiceNumber: invoice.number });
    const issued = await settled(first.body.id);
    expect(issued).toMatchObject({ status: 'issued', amountMinor: 500, currency: 'USD', gateway: 'paystack' });
    expect(issued.number).toMatch(/^CN-\d{4}-\d{6}$/);

    const rest = await refund(invoice.id, { reason: 'Customer left' });
    expect(rest.status, rest.text).toBe(202);
    expect(rest.body.amountMinor).toBe(invoice.totalMinor - 500);
    const second = await settled(rest.body.id);
    expect(second.status).toBe('issued');
    expect(sequenceOf(second.number)).toBe(sequenceOf(issued.number) + 1);

    const atPaystack = paystack.refunds.filter((r) => r.transaction === transaction.reference);
    expect(atPaystack.map((r) => [r.amount, r.merchant_note])).toEqual([
      [500, `refund ${first.body.id}`],
      [invoice.totalMinor - 500, `refund ${rest.body.id}`],
    ]);

    const again = await refund(invoice.id, { amountMinor: 1, reason: 'once more' });
    expect(again.status).toBe(409);
    expect(again.body.detail).toMatch(/already refunded in full/);

    // The customer sees its credit notes and reads the PDF; another customer does not.
    const mine = await test.http.get(`/api/v1/billing/credit-notes?invoiceId=${invoice.id}`, auth());
    expect(mine.body.map((n: { number: string }) => n.number)).toEqual([second.number, issued.number]);
    const text = await fetchPdfText(`${test.url}/api/v1/billing/credit-notes/${first.body.id}/pdf`, customer.accessToken);
    expect(text).toContain(`Credit note ${issued.number}`);
    expect(text).toContain(`Credits invoice: ${invoice.number}`);
    expect(text).toContain('Goodwill: two days of outage');
    expect(text).toMatch(/Total credited\s+USD 5\.00/);
    const other = await registerCustomer(test.http, 'paystack-other');
    expect((await test.http.get(`/api/v1/billing/credit-notes/${first.body.id}`, { token: other.accessToken })).status).toBe(404);
    expect((await test.http.get('/api/v1/billing/credit-notes', { token: other.accessToken })).body).toEqual([]);
  });

  it('refuses clearly: more than was paid (400 naming the field), an open invoice (409), a customer (403)', async () => {
    const { invoice } = await paidInvoice();
    const tooMuch = await refund(invoice.id, { amountMinor: invoice.totalMinor + 1, reason: 'x' });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.body.field).toBe('amountMinor');
    const noReason = await refund(invoice.id, { amountMinor: 1 });
    expect(noReason.status).toBe(400);
    expect(noReason.body.field).toBe('reason');
    expect((await refund(invoice.id, { reason: 'mine' }, customer.accessToken)).status).toBe(403);
    const open = await checkedOut();
    const unpaid = await refund(open.invoice.id, { reason: 'nothing paid' });
    expect(unpaid.status).toBe(409);
    expect(unpaid.body.detail).toMatch(/only a paid invoice can be refunded/);
    const notes = await test.http.get(`/api/v1/billing/credit-notes?invoiceId=${invoice.id}`, { token: operatorToken });
    expect(notes.body).toEqual([]);
  });

  it('a refund Paystack refuses is marked failed, takes no number, and leaves no gap', async () => {
    const { invoice, transaction } = await paidInvoice();
    paystack.settle(transaction.reference, 'failed'); // Paystack will now refuse to refund it
    const refused = await refund(invoice.id, { reason: 'will be refused' });
    expect(refused.status).toBe(202);
    const failed = await settled(refused.body.id);
    expect(failed).toMatchObject({ status: 'failed', number: null });
    expect(failed.failureReason).toMatch(/Paystack refused the refund/);
    const pdf = await test.http.get(`/api/v1/billing/credit-notes/${refused.body.id}/pdf`, { token: operatorToken });
    expect(pdf.status).toBe(409);

    const before = await test.platform.database.db
      .selectFrom('billing_refunds')
      .select((eb) => eb.fn.max('sequence').as('last'))
      .executeTakeFirstOrThrow();
    paystack.settle(transaction.reference, 'success');
    const next = await settled((await refund(invoice.id, { amountMinor: 100, reason: 'now it works' })).body.id);
    expect(next.status).toBe('issued');
    expect(sequenceOf(next.number)).toBe(Number(before.last) + 1);

    // Each change was told to the events port (webhooks and notifications subscribe there), once.
    const events = await test.platform.database.db
      .selectFrom('domain_events')
      .select('payload')
      .where('type', '=', 'billing.refund_changed')
      .where(sql<boolean>`payload->>'invoiceId' = ${invoice.id}`)
      .orderBy('id')
      .execute();
    expect(events.map((e) => e.payload)).toEqual([
      expect.objectContaining({ refundId: refused.body.id, status: 'requested', creditNoteNumber: null }),
      expect.objectContaining({ refundId: refused.body.id, status: 'failed', failureReason: expect.stringMatching(/Paystack refused/) }),
      expect.objectContaining({ refundId: next.id, status: 'requested', amountMinor: 100 }),
      expect.objectContaining({ refundId: next.id, status: 'issued', creditNoteNumber: next.number, currency: invoice.currency }),
    ]);
  });
});
