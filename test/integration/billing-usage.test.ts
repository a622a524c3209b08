import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BillingReads, type BuiltinBilling, DAY_MS, HOUR_MS } from '../../src/billing/index.js';
import { changeTenantState } from '../../src/tenants/index.js';
import { insertSample, rollUp } from '../../src/usage/store.js';
import {
  registerCustomer,
  requestTenantAsOperator,
  startPlatformForTenantRequests,
  type TenantRequestsPlatform,
} from '../helpers/platform.js';

/**
 * Usage pricing on the real platform (real PostgreSQL, the billing clock moved by the test): a
 * plan priced per user above its included users, a tenant's usage samples written by usage/'s own
 * store, the period closing in the billing sweep, and the renewal invoice read back from its PDF.
 */
let platform: TenantRequestsPlatform;
let now = new Date();
let provider: BuiltinBilling;
let reads: BillingReads;
const run = promisify(execFile);
const GIB = 1024 ** 3;

const db = () => platform.test.platform.database.db;
const http = () => platform.test.http;
const operator = () => ({ token: platform.operator.accessToken });
const customer = () => ({ token: platform.customer.accessToken });

const SEATS = {
  code: 'seats',
  name: 'Seats',
  limits: { cpu: 2, memoryMiB: 2048, storageGiB: 10, odooUsers: 10 },
  placement: { databaseStrategy: 'shared', processStrategy: 'dedicated', replicas: 1, limitPolicy: 'warn' },
  prices: [
    {
      interval: 'month',
      amountCents: 4900,
      currency: 'USD',
      taxRateBasisPoints: 1600,
      perUser: { included: 2, amountCents: 500 },
      perStorageGiB: { included: 5, amountCents: 25 },
    },
  ],
  trialDays: 0,
};

beforeAll(async () => {
  platform = await startPlatformForTenantRequests('usagebill', { clock: () => now });
  provider = platform.test.platform.billing.provider;
  reads = platform.test.platform.billing.reads;
}, 120_000);

afterAll(async () => {
  await platform?.test.stop();
});

async function pdfText(pdf: Buffer): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'usage-invoice-'));
  try {
    writeFileSync(join(dir, 'invoice.pdf'), pdf);
    const { stdout } = await run('pdftotext', ['-layout', join(dir, 'invoice.pdf'), '-']).catch((error: NodeJS.ErrnoException) => {
      throw new Error(
        error.code === 'ENOENT' ? 'pdftotext is not installed: install poppler-utils (scripts/lib.sh ensure_pdftotext)' : String(error),
      );
    });
    return stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the plan catalog with per-user prices', () => {
  it('refuses bad usage pricing with a 400 naming the field, and makes nothing', async () => {
    const cases: Array<[unknown, string]> = [
      [{ included: 2, amountCents: 0 }, 'prices.0.perUser.amountCents'],
      [{ included: -1, amountCents: 500 }, 'prices.0.perUser.included'],
      [{ included: 11, amountCents: 500 }, 'prices.0.perUser.included'],
    ];
    for (const [perUser, field] of cases) {
      const response = await http().post(
        '/api/v1/plans',
        { ...SEATS, code: 'bad-seats', prices: [{ ...SEATS.prices[0], perUser }] },
        operator(),
      );
      expect(response.status, response.text).toBe(400);
      expect(JSON.stringify(response.body)).toContain(field);
    }
    expect((await http().get('/api/v1/plans/bad-seats')).status).toBe(404);
  });

  it('is created by an operator and shown on the public plans page', async () => {
    const created = await http().post('/api/v1/plans', SEATS, operator());
    expect(created.status, created.text).toBe(201);
    const plans = await http().get('/api/v1/plans');
    const seats = (plans.body as Array<{ code: string; prices: unknown[] }>).find((p) => p.code === 'seats');
    expect(seats?.prices[0]).toMatchObject({ perUser: { included: 2, amountCents: 500 }, perStorageGiB: { included: 5, amountCents: 25 } });
  });
});

describe('samples -> the period closes -> the renewal bills the extra users', () => {
  it('shows the usage so far, then invoices it once, read back from the PDF', async () => {
    const accountId = platform.customer.accountId as string;
    const { id: tenantId } = await requestTenantAsOperator(platform, 'usage', 'seats');
    await changeTenantState(db(), tenantId, 'provisioning_succeeded');
    await changeTenantState(db(), tenantId, 'start_succeeded');
    const sub = await provider.subscribe({ accountId, tenantId, plan: 'seats', interval: 'month', trial: false });
    const [first] = await reads.invoices({ accountId }, { subscriptionId: sub.id, limit: 10, offset: 0 });
    if (!first) throw new Error('no first invoice');
    await provider.recordPayment({
      invoiceId: first.id,
      gateway: 'test-gateway',
      reference: `${sub.id}-first`,
      status: 'succeeded',
      amountMinor: first.totalMinor,
      currency: first.currency,
    });
    const start = now;

    // Usage through the period, as the sampler records it: 1 user, then 5 on day 3 (the peak),
    // then 4; a gap of five days (the tenant was stopped); storage peaks at 6.2 GiB.
    const sample = async (day: number, odooUsers: number | null, storage: number | null) => {
      const slot = new Date(start.getTime() + day * DAY_MS + HOUR_MS);
      const measure = { odooUsers, databaseBytes: storage, filestoreBytes: null, cpuSeconds: null, memoryBytes: null };
      expect(await insertSample(tenantId, slot, slot, measure, db())).toBe(true);
      // The sampler rolls up after its rounds: raw samples older than 7 days are gone by the end,
      // the period is then known from its hourly and daily maxima.
      await rollUp(slot, db());
    };
    await sample(0, 1, 1 * GIB);
    await sample(3, 5, 2 * GIB);
    await sample(4, 4, Math.round(6.2 * GIB));
    await sample(10, null, null);
    await sample(16, 3, 3 * GIB);
    now = new Date(start.getTime() + 17 * DAY_MS);
    expect(await db().selectFrom('usage_samples').select('slot').where('tenant_id', '=', tenantId).execute()).toHaveLength(2);

    // The subscription page's figures: the period so far and what it would add to the renewal.
    const usage = await http().get(`/api/v1/billing/subscriptions/${sub.id}/usage`, customer());
    expect(usage.status, usage.text).toBe(200);
    expect(usage.body.current).toMatchObject({
      odooUsers: { peak: 5, included: 2, extra: 3, amountMinor: 1500, daysSampled: 4 },
      storageGiB: { peak: 7, included: 5, extra: 2, amountMinor: 50 },
      estimatedExtraMinor: 1550,
    });
    expect(usage.body.closed).toEqual([]);
    const view = await http().get(`/api/v1/billing/subscriptions/${sub.id}`, customer());
    expect(view.body).toMatchObject({ perUser: { included: 2, amountMinor: 500 }, perStorageGiB: { included: 5, amountMinor: 25 } });
    // Another customer cannot read it.
    const other = await registerCustomer(http(), 'usage-other');
    expect((await http().get(`/api/v1/billing/subscriptions/${sub.id}/usage`, { token: other.accessToken })).status).toBe(404);

    // The period ends; the sweep renews. Then the sweep again (a second replica, a retry): no second record.
    const period = await reads.subscription({ accountId }, sub.id);
    now = new Date(period.currentPeriodEnd as string);
    await provider.sweep();
    await provider.sweep();
    await provider.act(sub.id, { type: 'tick' });

    const renewals = (await reads.invoices({ accountId }, { subscriptionId: sub.id, limit: 10, offset: 0 })).filter(
      (i) => i.reason === 'renewal',
    );
    expect(renewals).toHaveLength(1);
    const renewal = await reads.invoice({ accountId }, (renewals[0] as { id: string }).id);
    const stored = await db()
      .selectFrom('billing_invoice_lines')
      .select(['amount_minor', 'description'])
      .where('invoice_id', '=', renewal.id)
      .orderBy('position')
      .execute();
    expect(stored.map((l) => l.amount_minor)).toEqual([4900, 1500, 50]);
    // 6450 + 16 % tax (1032) = 7482
    expect(renewal).toMatchObject({ subtotalMinor: 6450, taxMinor: 1032, totalMinor: 7482, currency: 'USD' });

    const recorded = await db().selectFrom('billing_usage').selectAll().where('subscription_id', '=', sub.id).execute();
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      odoo_users_peak: 5,
      odoo_users_days: 4,
      storage_gib_peak: 7,
      charged_minor: 1550,
      currency: 'USD',
      plan_code: 'seats',
    });
    expect(recorded[0]?.period_start.toISOString()).toBe(period.currentPeriodStart);

    const peakDay = new Date(start.getTime() + 3 * DAY_MS + HOUR_MS).toISOString().slice(0, 10);
    const text = (await pdfText((await reads.invoicePdf({ accountId }, renewal.id)).pdf)).replace(/\s+/g, ' ');
    expect(text).toContain(`Invoice ${renewal.number}`);
    expect(text).toContain(`3 extra users x USD 5.00: peak of 5 active users on ${peakDay}, 2 included`);
    expect(text).toMatch(/2 extra GiB x USD 0\.25: peak of 7 GiB of storage on \d{4}-\d{2}-\d{2}, 5 included .*USD 0\.50/);
    expect(text).toMatch(/Subtotal USD 64\.50 Tax \(16%\) USD 10\.32 Total USD 74\.82/);

    // The new period starts with nothing measured yet; the closed one is listed as billed.
    const after = await http().get(`/api/v1/billing/subscriptions/${sub.id}/usage`, customer());
    expect(after.body.current).toMatchObject({ odooUsers: { peak: null, extra: 0 }, estimatedExtraMinor: 0 });
    expect(after.body.closed).toEqual([expect.objectContaining({ odooUsersPeak: 5, storageGiBPeak: 7, chargedMinor: 1550 })]);
  });
});

describe('an upgrade mid-period: the days before it are billed at the old terms', () => {
  it('bills the usage so far on the prorated invoice at the old price, and only the rest with the renewal', async () => {
    const plus = {
      ...SEATS,
      code: 'seats-plus',
      name: 'Seats plus',
      limits: { ...SEATS.limits, odooUsers: 20 },
      prices: [{ ...SEATS.prices[0], amountCents: 9900, perUser: { included: 8, amountCents: 300 } }],
    };
    expect((await http().post('/api/v1/plans', plus, operator())).status).toBe(201);
    const accountId = platform.customer.accountId as string;
    const { id: tenantId } = await requestTenantAsOperator(platform, 'usageup', 'seats');
    await changeTenantState(db(), tenantId, 'provisioning_succeeded');
    await changeTenantState(db(), tenantId, 'start_succeeded');
    const sub = await provider.subscribe({ accountId, tenantId, plan: 'seats', interval: 'month', trial: false });
    const [first] = await reads.invoices({ accountId }, { subscriptionId: sub.id, limit: 10, offset: 0 });
    if (!first) throw new Error('no first invoice');
    await provider.recordPayment({
      invoiceId: first.id,
      gateway: 'test-gateway',
      reference: `${sub.id}-first`,
      status: 'succeeded',
      amountMinor: first.totalMinor,
      currency: first.currency,
    });
    const start = now;
    const sample = async (day: number, odooUsers: number) => {
      const slot = new Date(start.getTime() + day * DAY_MS + HOUR_MS);
      await insertSample(
        tenantId,
        slot,
        slot,
        { odooUsers, databaseBytes: GIB, filestoreBytes: null, cpuSeconds: null, memoryBytes: null },
        db(),
      );
      await rollUp(slot, db());
    };
    await sample(1, 6);
    const upgradeAt = new Date(start.getTime() + 10 * DAY_MS);
    now = upgradeAt;

    const preview = await http().post(
      `/api/v1/billing/subscriptions/${sub.id}/change-preview`,
      { plan: 'seats-plus', interval: 'month' },
      customer(),
    );
    expect(preview.status, preview.text).toBe(200);
    const upgraded = await http().post(
      `/api/v1/billing/subscriptions/${sub.id}/change-plan`,
      { plan: 'seats-plus', interval: 'month' },
      customer(),
    );
    expect(upgraded.status, upgraded.text).toBe(200);
    const proration = (await reads.invoices({ accountId }, { subscriptionId: sub.id, limit: 10, offset: 0 })).find(
      (i) => i.reason === 'proration',
    );
    if (!proration) throw new Error('no prorated invoice');
    // The preview showed what was charged, usage included.
    expect(preview.body.invoice.totalMinor).toBe(proration.totalMinor);
    const lines = await db()
      .selectFrom('billing_invoice_lines')
      .select(['amount_minor', 'description', 'plan_code'])
      .where('invoice_id', '=', proration.id)
      .orderBy('position')
      .execute();
    // Unused seats time (credit), seats-plus time, then 6 users on seats' terms: 4 extra at 5.00.
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ amount_minor: 2000, plan_code: 'seats' });
    expect(lines[2]?.description).toMatch(/^4 extra users x USD 5\.00: peak of 6 active users on \d{4}-\d{2}-\d{2}, 2 included$/);
    const segment = await db().selectFrom('billing_usage').selectAll().where('subscription_id', '=', sub.id).execute();
    expect(segment).toEqual([expect.objectContaining({ plan_code: 'seats', odoo_users_peak: 6, charged_minor: 2000 })]);
    expect(segment[0]?.period_end.toISOString()).toBe(upgradeAt.toISOString());
    // The page's "so far" starts at the upgrade, on the new terms.
    const usage = await http().get(`/api/v1/billing/subscriptions/${sub.id}/usage`, customer());
    expect(usage.body.current).toMatchObject({
      periodStart: upgradeAt.toISOString(),
      odooUsers: { peak: null, included: 8 },
      estimatedExtraMinor: 0,
    });

    // After the upgrade 9 users: 1 above seats-plus' 8, at 3.00, billed with the renewal; the 6 before are not billed again.
    await sample(12, 9);
    const period = await reads.subscription({ accountId }, sub.id);
    now = new Date(period.currentPeriodEnd as string);
    await provider.sweep();
    const renewal = (await reads.invoices({ accountId }, { subscriptionId: sub.id, limit: 10, offset: 0 })).find(
      (i) => i.reason === 'renewal',
    );
    if (!renewal) throw new Error('no renewal');
    const renewalLines = await db()
      .selectFrom('billing_invoice_lines')
      .select(['amount_minor', 'plan_code'])
      .where('invoice_id', '=', renewal.id)
      .orderBy('position')
      .execute();
    expect(renewalLines.map((l) => [l.plan_code, l.amount_minor])).toEqual([
      ['seats-plus', 9900],
      ['seats-plus', 300],
    ]);
    const records = await db()
      .selectFrom('billing_usage')
      .select(['plan_code', 'period_start', 'charged_minor'])
      .where('subscription_id', '=', sub.id)
      .orderBy('period_start')
      .execute();
    expect(records.map((r) => [r.plan_code, r.period_start.toISOString(), r.charged_minor])).toEqual([
      ['seats', period.currentPeriodStart, 2000],
      ['seats-plus', upgradeAt.toISOString(), 300],
    ]);
  });
});
