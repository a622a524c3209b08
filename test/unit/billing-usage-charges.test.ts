import { describe, expect, it } from 'vitest';
import {
  type BillingEffect,
  type BillingPrice,
  currentPeriod,
  type Decision,
  decide,
  type PeriodUsage,
  periodUsage,
  type Subscription,
  startedGiB,
  startSubscription,
  type UsagePoint,
  usageCharges,
} from '../../src/billing/index.js';
import { planSchema, usagePricingProblem } from '../../src/plans/index.js';

/*
 * Billable usage of a period (peak of daily maxima) and its charges above the included amounts,
 * then the engine's renewal carrying them. Expected figures are worked out by hand from the rule
 * in src/billing/usage-charges.ts.
 */

const GIB = 1024 ** 3;
const START = new Date('2026-03-01T10:30:00.000Z');
const END = new Date('2026-04-01T10:30:00.000Z');
const PERIOD = { start: START, end: END };
const at = (iso: string) => new Date(iso);
const users = (iso: string, n: number | null, storageBytes: number | null = null): UsagePoint => ({
  at: at(iso),
  odooUsers: n,
  storageBytes,
});

const PRICE: BillingPrice = {
  plan: 'team',
  interval: 'month',
  amountMinor: 4900,
  currency: 'USD',
  taxRateBasisPoints: 1600,
  perUser: { included: 10, amountMinor: 500 },
  perStorageGiB: { included: 20, amountMinor: 25 },
};

describe('periodUsage: the peak of the daily maxima', () => {
  it('an empty period has no peak and bills nothing', () => {
    const usage = periodUsage([], PERIOD);
    expect(usage).toEqual({
      odoo_users: { peak: null, peakDay: null, daysSampled: 0 },
      storage_gib: { peak: null, peakDay: null, daysSampled: 0 },
    });
    expect(usageCharges(PRICE, usage)).toEqual([]);
  });

  it('takes each UTC day maximum, then the highest day (the first day reaching it)', () => {
    const usage = periodUsage(
      [
        users('2026-03-02T08:00:00Z', 9),
        users('2026-03-02T15:00:00Z', 11),
        users('2026-03-05T09:00:00Z', 13),
        users('2026-03-05T23:59:00Z', 12),
        users('2026-03-20T12:00:00Z', 13),
        users('2026-03-21T12:00:00Z', 4),
      ],
      PERIOD,
    );
    expect(usage.odoo_users).toEqual({ peak: 13, peakDay: at('2026-03-05T00:00:00Z'), daysSampled: 4 });
  });

  it('ignores points outside [start, end) and gaps (days without a sample do not count)', () => {
    const usage = periodUsage(
      [
        users('2026-03-01T10:29:59Z', 50), // before the period
        users('2026-03-03T00:00:00Z', 12),
        // nothing from 4 to 30 March: the tenant was stopped, then hibernated
        users('2026-03-31T00:00:00Z', 11),
        users('2026-04-01T10:30:00Z', 60), // the next period's first point
      ],
      PERIOD,
    );
    expect(usage.odoo_users).toEqual({ peak: 12, peakDay: at('2026-03-03T00:00:00Z'), daysSampled: 2 });
  });

  it('a tenant stopped mid-period: null measurements count as no sample', () => {
    const usage = periodUsage(
      [users('2026-03-02T12:00:00Z', 14, 3 * GIB), users('2026-03-10T12:00:00Z', null, null), users('2026-03-11T12:00:00Z', null)],
      PERIOD,
    );
    expect(usage.odoo_users).toEqual({ peak: 14, peakDay: at('2026-03-02T00:00:00Z'), daysSampled: 1 });
    expect(usage.storage_gib).toEqual({ peak: 3, peakDay: at('2026-03-02T00:00:00Z'), daysSampled: 1 });
  });

  it('overlapping sources (a raw sample and the rollups holding it) count once', () => {
    const raw = users('2026-03-07T13:05:00Z', 15);
    const hour = users('2026-03-07T13:00:00Z', 15);
    const day = users('2026-03-07T00:00:00Z', 15);
    expect(periodUsage([raw, hour, day], PERIOD).odoo_users).toEqual(periodUsage([raw], PERIOD).odoo_users);
    expect(periodUsage([raw, hour, day], PERIOD).odoo_users.daysSampled).toBe(1);
  });

  it('storage is counted in started GiB', () => {
    expect(startedGiB(0)).toBe(0);
    expect(startedGiB(1)).toBe(1);
    expect(startedGiB(5 * GIB)).toBe(5);
    expect(startedGiB(5 * GIB + 1)).toBe(6);
    const usage = periodUsage([users('2026-03-09T00:00:00Z', 1, 22 * GIB + 1)], PERIOD);
    expect(usage.storage_gib.peak).toBe(23);
  });
});

describe('usageCharges: what is above the included amount', () => {
  const usage = (userPeak: number | null, gib: number | null = null): PeriodUsage => ({
    odoo_users: { peak: userPeak, peakDay: userPeak === null ? null : at('2026-03-05T00:00:00Z'), daysSampled: userPeak === null ? 0 : 1 },
    storage_gib: { peak: gib, peakDay: gib === null ? null : at('2026-03-06T00:00:00Z'), daysSampled: gib === null ? 0 : 1 },
  });

  it('nothing at or below the included amount', () => {
    expect(usageCharges(PRICE, usage(9, 19))).toEqual([]);
    expect(usageCharges(PRICE, usage(10, 20))).toEqual([]);
  });

  it('extra users x unit price, with the quantity explained', () => {
    const [charge, ...rest] = usageCharges(PRICE, usage(13));
    expect(rest).toEqual([]);
    expect(charge).toMatchObject({ metric: 'odoo_users', peak: 13, included: 10, extra: 3, unitAmountMinor: 500, amountMinor: 1500 });
    expect(charge?.description).toBe('3 extra users x USD 5.00: peak of 13 active users on 2026-03-05, 10 included');
    expect(usageCharges(PRICE, usage(11))[0]?.description).toMatch(/^1 extra user x USD 5\.00/);
  });

  it('extra GiB the same way, both metrics on one period', () => {
    const charges = usageCharges(PRICE, usage(12, 23));
    expect(charges.map((c) => [c.metric, c.extra, c.amountMinor])).toEqual([
      ['odoo_users', 2, 1000],
      ['storage_gib', 3, 75],
    ]);
  });

  it('a price without per-unit pricing charges nothing, whatever the usage', () => {
    const flat: BillingPrice = { plan: 'flat', interval: 'month', amountMinor: 1900, currency: 'USD', taxRateBasisPoints: 0 };
    expect(usageCharges(flat, usage(500, 500))).toEqual([]);
  });

  it('uses the currency minor unit (JPY has none)', () => {
    const yen = { currency: 'JPY', perUser: { included: 0, amountMinor: 700 } };
    expect(usageCharges(yen, usage(2))[0]?.description).toMatch(/^2 extra users x JPY 700:/);
  });
});

// ----- the engine at renewal ----------------------------------------------------------------------

function ok(decision: Decision): Extract<Decision, { ok: true }> {
  if (!decision.ok) throw new Error(`refused: ${decision.code}: ${decision.reason}`);
  return decision;
}

/** An active subscription whose first period runs START..END (paid at once). */
function active(price: BillingPrice = PRICE): Subscription {
  const pending = ok(startSubscription({ id: 'sub-u', accountId: 'acc-u', price, now: START, trialDays: null, trialUsed: false }));
  const key = pending.subscription.unpaidInvoices[0] as string;
  return ok(decide(pending.subscription, { type: 'payment_succeeded', invoiceKey: key }, START)).subscription;
}

const issued = (effects: BillingEffect[]) => effects.flatMap((e) => (e.type === 'issue_invoice' ? [e.invoice] : []));
const recorded = (effects: BillingEffect[]) => effects.flatMap((e) => (e.type === 'record_usage' ? [e.usage] : []));

describe('the renewal carries the closed period usage', () => {
  const points = [users('2026-03-05T09:00:00Z', 13, 21 * GIB), users('2026-03-06T09:00:00Z', 12)];
  const meter = (period: { start: Date; end: Date }) => periodUsage(points, period);

  it('records the period and adds one line per extra metric, taxed like the others', () => {
    const decision = ok(decide(active(), { type: 'tick' }, END, meter));
    const [invoice, ...more] = issued(decision.effects);
    expect(more).toEqual([]);
    expect(invoice?.reason).toBe('renewal');
    expect(invoice?.lines.map((l) => [l.amountMinor, l.periodStart.toISOString(), l.periodEnd.toISOString()])).toEqual([
      [4900, END.toISOString(), '2026-05-01T10:30:00.000Z'], // the new period, in advance
      [1500, START.toISOString(), END.toISOString()], // 3 extra users of the closed period, in arrears
      [25, START.toISOString(), END.toISOString()], // 1 extra GiB
    ]);
    // 4900 + 1500 + 25 = 6425; tax 16 % = 1028 (1028.0)
    expect(invoice).toMatchObject({ subtotalMinor: 6425, taxMinor: 1028, totalMinor: 7453 });
    expect(recorded(decision.effects)).toEqual([
      {
        subscriptionId: 'sub-u',
        plan: 'team',
        interval: 'month',
        periodStart: START,
        periodEnd: END,
        usage: meter(PERIOD),
        chargedMinor: 1525,
        currency: 'USD',
      },
    ]);
  });

  it('without a meter (no tenant) the renewal is the flat price, nothing recorded', () => {
    const decision = ok(decide(active(), { type: 'tick' }, END));
    expect(issued(decision.effects)[0]?.lines).toHaveLength(1);
    expect(recorded(decision.effects)).toEqual([]);
  });

  it('an empty period is recorded with no peak and adds no line', () => {
    const decision = ok(decide(active(), { type: 'tick' }, END, (period) => periodUsage([], period)));
    expect(issued(decision.effects)[0]?.lines).toHaveLength(1);
    expect(recorded(decision.effects)[0]).toMatchObject({ chargedMinor: 0, usage: { odoo_users: { peak: null, daysSampled: 0 } } });
  });

  it('two periods closing in one tick (the sweep was down) each get their own usage and invoice', () => {
    const later = new Date('2026-05-01T10:30:00.000Z');
    const both = [...points, users('2026-04-10T09:00:00Z', 10), users('2026-04-11T09:00:00Z', 16)];
    const sub = active();
    // The first renewal stays unpaid; the second period closes too (no dunning: payment never failed).
    const decision = ok(decide(sub, { type: 'tick' }, later, (period) => periodUsage(both, period)));
    const invoices = issued(decision.effects);
    expect(invoices.map((i) => i.lines.slice(1).map((l) => l.amountMinor))).toEqual([[1500, 25], [3000]]);
    expect(recorded(decision.effects).map((r) => [r.periodStart.toISOString(), r.usage.odoo_users.peak, r.chargedMinor])).toEqual([
      [START.toISOString(), 13, 1525],
      [END.toISOString(), 16, 3000],
    ]);
  });

  it('an upgrade mid-period bills the usage so far at the old terms on the prorated invoice; the renewal only the rest, at the new', () => {
    const bigger: BillingPrice = { ...PRICE, plan: 'business', amountMinor: 9900, perUser: { included: 12, amountMinor: 400 } };
    const upgradeAt = at('2026-03-15T00:00:00Z');
    const all = [...points, users('2026-03-20T09:00:00Z', 14, 1 * GIB)];
    const metered = (period: { start: Date; end: Date }) => periodUsage(all, period);
    const upgrade = ok(decide(active(), { type: 'change_plan', price: bigger }, upgradeAt, metered));
    expect(upgrade.subscription).toMatchObject({ price: { plan: 'business' }, usageFrom: upgradeAt, planAwaitingPayment: 'business' });
    const [proration] = issued(upgrade.effects);
    expect(proration?.reason).toBe('proration');
    // Peak 13 before the upgrade, 10 included on team: 3 extra users at 5.00, and 1 extra GiB at 0.25.
    expect(proration?.lines.slice(2).map((l) => [l.plan, l.amountMinor, l.periodStart.toISOString(), l.periodEnd.toISOString()])).toEqual([
      ['team', 1500, START.toISOString(), upgradeAt.toISOString()],
      ['team', 25, START.toISOString(), upgradeAt.toISOString()],
    ]);
    expect(recorded(upgrade.effects)).toEqual([
      expect.objectContaining({ plan: 'team', periodStart: START, periodEnd: upgradeAt, chargedMinor: 1525 }),
    ]);
    // Paid; at the period end only the days after the upgrade are billed, at business terms:
    // peak 14, 12 included: 2 extra users at 4.00 (the 13 of 5 March is not billed twice).
    const paid = ok(decide(upgrade.subscription, { type: 'payment_succeeded', invoiceKey: proration?.key as string }, upgradeAt));
    const renewal = ok(decide(paid.subscription, { type: 'tick' }, END, metered));
    const [invoice] = issued(renewal.effects);
    expect(invoice?.lines.slice(1).map((l) => [l.plan, l.amountMinor, l.periodStart.toISOString(), l.periodEnd.toISOString()])).toEqual([
      ['business', 800, upgradeAt.toISOString(), END.toISOString()],
    ]);
    expect(invoice?.lines[1]?.description).toMatch(/^2 extra users x USD 4\.00: peak of 14 active users on 2026-03-20, 12 included$/);
    expect(recorded(renewal.effects)).toEqual([
      expect.objectContaining({ plan: 'business', periodStart: upgradeAt, periodEnd: END, chargedMinor: 800 }),
    ]);
    // The next period is metered whole again.
    expect(renewal.subscription.usageFrom).toBeNull();
  });

  it('a second upgrade in the same period bills only the usage since the first', () => {
    const bigger: BillingPrice = { ...PRICE, plan: 'business', amountMinor: 9900, perUser: { included: 12, amountMinor: 400 } };
    const biggest: BillingPrice = { ...PRICE, plan: 'corp', amountMinor: 19900, perUser: { included: 50, amountMinor: 300 } };
    const all = [...points, users('2026-03-20T09:00:00Z', 14)];
    const metered = (period: { start: Date; end: Date }) => periodUsage(all, period);
    const first = ok(decide(active(), { type: 'change_plan', price: bigger }, at('2026-03-15T00:00:00Z'), metered));
    const key = issued(first.effects)[0]?.key as string;
    const paid = ok(decide(first.subscription, { type: 'payment_succeeded', invoiceKey: key }, at('2026-03-15T00:00:00Z'))).subscription;
    const second = ok(decide(paid, { type: 'change_plan', price: biggest }, at('2026-03-25T00:00:00Z'), metered));
    // 15 to 25 March at business terms: peak 14, 12 included: 2 x 4.00.
    expect(
      issued(second.effects)[0]
        ?.lines.slice(2)
        .map((l) => [l.plan, l.amountMinor, l.periodStart.toISOString()]),
    ).toEqual([['business', 800, '2026-03-15T00:00:00.000Z']]);
    expect(second.subscription.usageFrom).toEqual(at('2026-03-25T00:00:00Z'));
  });

  it('limit changes: an upgrade without a meter (no tenant) bills the closed period at the price it closes under', () => {
    const bigger: BillingPrice = { ...PRICE, plan: 'business', amountMinor: 9900, perUser: { included: 12, amountMinor: 400 } };
    const upgraded = ok(decide(active(), { type: 'change_plan', price: bigger }, at('2026-03-15T00:00:00Z'))).subscription;
    expect(upgraded.price.plan).toBe('business');
    const decision = ok(decide(upgraded, { type: 'tick' }, END, meter));
    const lines = issued(decision.effects)[0]?.lines ?? [];
    // Peak 13, 12 included on the new plan: 1 extra user at 4.00; the storage pricing is unchanged.
    expect(lines.slice(1).map((l) => [l.plan, l.amountMinor, l.description.split(':')[0]])).toEqual([
      ['business', 400, '1 extra user x USD 4.00'],
      ['business', 25, '1 extra GiB x USD 0.25'],
    ]);
  });

  it('limit changes: a downgrade scheduled for the period end bills the closed period at the old price', () => {
    const smaller: BillingPrice = { ...PRICE, plan: 'small', amountMinor: 1900, perUser: { included: 3, amountMinor: 900 } };
    const scheduled = ok(decide(active(), { type: 'change_plan', price: smaller }, at('2026-03-15T00:00:00Z'))).subscription;
    expect(scheduled.scheduledChange?.plan).toBe('small');
    const decision = ok(decide(scheduled, { type: 'tick' }, END, meter));
    const lines = issued(decision.effects)[0]?.lines ?? [];
    expect(lines.map((l) => [l.plan, l.amountMinor])).toEqual([
      ['small', 1900],
      ['team', 1500],
      ['team', 25],
    ]);
  });

  it('a subscription cancelled at the end of its term bills its last period usage on a final invoice, once', () => {
    const cancelling = ok(decide(active(), { type: 'cancel' }, at('2026-03-20T00:00:00Z'))).subscription;
    const decision = ok(decide(cancelling, { type: 'tick' }, END, meter));
    expect(decision.subscription).toMatchObject({ state: 'cancelled', unpaidInvoices: [] });
    const [final, ...more] = issued(decision.effects);
    expect(more).toEqual([]);
    // Only the usage, in arrears (no next period): 1500 + 25, tax 16 % = 244.
    expect(final).toMatchObject({ reason: 'final_usage', subtotalMinor: 1525, taxMinor: 244, totalMinor: 1769 });
    expect(final?.lines.map((l) => [l.plan, l.amountMinor, l.periodStart.toISOString(), l.periodEnd.toISOString()])).toEqual([
      ['team', 1500, START.toISOString(), END.toISOString()],
      ['team', 25, START.toISOString(), END.toISOString()],
    ]);
    expect(final?.key).toBe(`sub-u:final_usage:${START.toISOString()}`);
    expect(decision.effects).toContainEqual({ type: 'collect_payment', invoiceKey: final?.key });
    expect(recorded(decision.effects)).toEqual([expect.objectContaining({ chargedMinor: 1525 })]);
    // Deciding the same end again (a crash before the commit) gives the same invoice key: issued once.
    expect(issued(ok(decide(cancelling, { type: 'tick' }, END, meter)).effects)[0]?.key).toBe(final?.key);
    // Nothing more happens to the ended run: later ticks issue nothing.
    expect(issued(ok(decide(decision.subscription, { type: 'tick' }, at('2026-06-01T00:00:00Z'), meter)).effects)).toEqual([]);

    // Paying it settles the invoice, not the subscription: no reactivation.
    const paid = ok(
      decide(decision.subscription, { type: 'payment_succeeded', invoiceKey: final?.key as string }, at('2026-04-03T00:00:00Z')),
    );
    expect(paid.subscription.state).toBe('cancelled');
    expect(paid.effects.filter((e) => e.type === 'tenants')).toEqual([]);
    // A reactivation is its own upfront invoice, whatever the final one's status.
    const reactivating = ok(decide(decision.subscription, { type: 'reactivate' }, at('2026-04-03T00:00:00Z')));
    expect(issued(reactivating.effects).map((i) => i.reason)).toEqual(['reactivation']);
  });

  it('a cancelled run without usage above the included amounts gets no final invoice', () => {
    const cancelling = ok(decide(active(), { type: 'cancel' }, at('2026-03-20T00:00:00Z'))).subscription;
    const decision = ok(decide(cancelling, { type: 'tick' }, END, (period) => periodUsage([users('2026-03-05T09:00:00Z', 2)], period)));
    expect(decision.subscription.state).toBe('cancelled');
    expect(issued(decision.effects)).toEqual([]);
    expect(recorded(decision.effects)).toEqual([expect.objectContaining({ chargedMinor: 0 })]);
  });

  it('a zero base price with per-user pricing still bills the extra users', () => {
    const seats: BillingPrice = { ...PRICE, amountMinor: 0, taxRateBasisPoints: 0, perStorageGiB: undefined };
    const sub = ok(startSubscription({ id: 'sub-z', accountId: 'acc-z', price: seats, now: START, trialDays: null, trialUsed: false }));
    expect(sub.subscription.state).toBe('active');
    expect(currentPeriod(sub.subscription)?.end).toEqual(END);
    const decision = ok(decide(sub.subscription, { type: 'tick' }, END, meter));
    expect(issued(decision.effects).map((i) => i.lines.map((l) => l.amountMinor))).toEqual([[0, 1500]]);
  });
});

describe('plan catalog: usage pricing is validated', () => {
  const plan = {
    code: 'team',
    name: 'Team',
    limits: { cpu: 2, memoryMiB: 2048, storageGiB: 20, odooUsers: 25 },
    placement: { databaseStrategy: 'shared', processStrategy: 'dedicated', replicas: 1, limitPolicy: 'block' },
    prices: [{ interval: 'month', amountCents: 4900, currency: 'USD', perUser: { included: 10, amountCents: 500 } }],
  };

  it('accepts per-user and per-GiB pricing', () => {
    const parsed = planSchema.parse({
      ...plan,
      prices: [{ ...plan.prices[0], perStorageGiB: { included: 20, amountCents: 25 } }],
    });
    expect(parsed.prices[0]).toMatchObject({
      perUser: { included: 10, amountCents: 500 },
      perStorageGiB: { included: 20, amountCents: 25 },
    });
    expect(usagePricingProblem(parsed)).toBeNull();
  });

  it.each([
    [{ included: -1, amountCents: 500 }, 'perUser.included'],
    [{ included: 1.5, amountCents: 500 }, 'perUser.included'],
    [{ included: 10, amountCents: 0 }, 'perUser.amountCents'],
    [{ included: 10 }, 'perUser.amountCents'],
    [{ included: 10, amountCents: 500, extra: true }, 'perUser'],
  ])('refuses %j naming %s', (perUser, field) => {
    const result = planSchema.safeParse({ ...plan, prices: [{ ...plan.prices[0], perUser }] });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.join('.')).toBe(`prices.0.${field}`);
  });

  it('refuses an included amount above the plan limit, naming the field', () => {
    const parsed = planSchema.parse({ ...plan, prices: [{ ...plan.prices[0], perUser: { included: 30, amountCents: 500 } }] });
    expect(usagePricingProblem(parsed)).toMatchObject({ field: 'prices.0.perUser.included' });
    expect(usagePricingProblem(parsed)?.message).toContain("more than the plan's limit of 25");
    const storage = planSchema.parse({ ...plan, prices: [{ ...plan.prices[0], perStorageGiB: { included: 21, amountCents: 5 } }] });
    expect(usagePricingProblem(storage)).toMatchObject({ field: 'prices.0.perStorageGiB.included' });
  });
});
