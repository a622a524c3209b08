import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemDeviations } from '../helpers/openapi.js';
import {
  registerCustomer,
  requestTenantAsOperator,
  startPlatformForTenantRequests,
  type TenantRequestsPlatform,
} from '../helpers/platform.js';

/**
 * Billing over HTTP: a customer's subscription and invoices (PDF download included), what another
 * customer cannot see, and the operator's overview and manual payment. Real platform, real
 * PostgreSQL, no job workers.
 */
let platform: TenantRequestsPlatform;
let other: Awaited<ReturnType<typeof registerCustomer>>;
const http = () => platform.test.http;
const customer = () => ({ token: platform.customer.accessToken });
const operator = () => ({ token: platform.operator.accessToken });

beforeAll(async () => {
  platform = await startPlatformForTenantRequests('billingapi');
  other = await registerCustomer(http(), 'other');
}, 120_000);

afterAll(async () => {
  await platform?.test.stop();
});

describe('a customer subscribing and paying', () => {
  let subscriptionId: string;
  let invoiceId: string;

  it('subscribes a tenant to a paid plan: pending payment, with an open invoice', async () => {
    const { name } = await requestTenantAsOperator(platform, 'api');
    const created = await http().post('/api/v1/billing/subscriptions', { plan: 'standard', interval: 'month', tenant: name }, customer());
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ state: 'pending_payment', plan: 'standard', amountMinor: 1900, currency: 'USD' });
    subscriptionId = created.body.id;
    const invoices = await http().get('/api/v1/billing/invoices', customer());
    expect(invoices.status).toBe(200);
    expect(invoices.body.map((i: { subscriptionId: string }) => i.subscriptionId)).toEqual([subscriptionId]);
    invoiceId = invoices.body[0].id;
    expect(invoices.body[0]).toMatchObject({ status: 'open', totalMinor: 1900, reason: 'first_period' });
  });

  it('downloads the invoice PDF', async () => {
    const pdf = await http().get(`/api/v1/billing/invoices/${invoiceId}/pdf`, customer());
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    expect(pdf.headers.get('content-disposition')).toMatch(/^attachment; filename="INV-\d{4}-\d{6}\.pdf"$/);
    expect(pdf.text.startsWith('%PDF-')).toBe(true);
  });

  it('another customer sees none of it', async () => {
    const token = { token: other.accessToken };
    expect((await http().get(`/api/v1/billing/subscriptions/${subscriptionId}`, token)).status).toBe(404);
    expect((await http().get(`/api/v1/billing/invoices/${invoiceId}`, token)).status).toBe(404);
    expect((await http().get(`/api/v1/billing/invoices/${invoiceId}/pdf`, token)).status).toBe(404);
    expect((await http().get('/api/v1/billing/invoices', token)).body).toEqual([]);
    expect((await http().get(`/api/v1/billing/subscriptions?accountId=${platform.customer.accountId}`, token)).body).toEqual([]);
    expect((await http().post(`/api/v1/billing/subscriptions/${subscriptionId}/cancel`, undefined, token)).status).toBe(404);
    expect((await http().post(`/api/v1/billing/invoices/${invoiceId}/mark-paid`, { reference: 'x' }, token)).status).toBe(403);
  });

  it('the operator marks the invoice paid: the subscription turns active and MRR moves', async () => {
    const before = await http().get('/api/v1/billing/overview', operator());
    expect(before.status).toBe(200);
    const usd = (body: { mrr: Array<{ currency: string; amountMinor: number }> }) =>
      body.mrr.find((m) => m.currency === 'USD')?.amountMinor ?? 0;
    const paid = await http().post(`/api/v1/billing/invoices/${invoiceId}/mark-paid`, { reference: 'transfer-42' }, operator());
    expect(paid.status, paid.text).toBe(200);
    expect(paid.body).toMatchObject({ status: 'paid', payments: [{ status: 'succeeded', gateway: 'manual' }] });
    const sub = await http().get(`/api/v1/billing/subscriptions/${subscriptionId}`, customer());
    expect(sub.body.state).toBe('active');
    const after = await http().get('/api/v1/billing/overview', operator());
    expect(usd(after.body) - usd(before.body)).toBe(1900);
    expect(after.body.counts.active).toBe(before.body.counts.active + 1);
    // The same transfer recorded again changes nothing.
    const again = await http().post(`/api/v1/billing/invoices/${invoiceId}/mark-paid`, { reference: 'transfer-42' }, operator());
    expect(again.body.payments).toHaveLength(1);
  });

  it('shows the prorated price of an upgrade before it is confirmed, and a downgrade waits for the period end', async () => {
    const preview = (interval: string) =>
      http().post(`/api/v1/billing/subscriptions/${subscriptionId}/change-preview`, { plan: 'premium', interval }, customer());
    const upgrade = await preview('month');
    expect(upgrade.status, upgrade.text).toBe(200);
    expect(upgrade.body.appliesAt).toBe('now');
    expect(upgrade.body.invoice.totalMinor).toBeGreaterThan(0);
    expect(upgrade.body.invoice.totalMinor).toBeLessThanOrEqual(2000);
    const yearly = await preview('year');
    expect(yearly.body).toEqual({ appliesAt: 'period_end', invoice: null });
  });
});

describe('refusals that say what is wrong', () => {
  it('a second trial of one account is a 409 naming the trial', async () => {
    const first = await http().post('/api/v1/billing/subscriptions', { plan: 'premium', interval: 'month', trial: true }, customer());
    expect(first.status, first.text).toBe(201);
    expect(first.body.state).toBe('trialing');
    const second = await http().post('/api/v1/billing/subscriptions', { plan: 'premium', interval: 'year', trial: true }, customer());
    expect(second.status).toBe(409);
    expect(problemDeviations(second)).toEqual([]);
    expect(second.body.field).toBe('trial');
    expect(second.body.detail).toMatch(/already had its free trial/);
  });

  it('a plan without that interval, or an unknown plan, is a 400 naming the field', async () => {
    const monthOnly = await http().post('/api/v1/billing/subscriptions', { plan: 'standard', interval: 'year' }, customer());
    expect(monthOnly.status).toBe(400);
    expect(monthOnly.body.field).toBe('interval');
    const free = await http().post('/api/v1/billing/subscriptions', { plan: 'basic', interval: 'month' }, customer());
    expect(free.status).toBe(400);
    expect(free.body.detail).toMatch(/free and needs no subscription/);
    const unknown = await http().post('/api/v1/billing/subscriptions', { plan: 'platinum', interval: 'month' }, customer());
    expect(unknown.status).toBe(400);
    expect(unknown.body.field).toBe('plan');
  });
});
