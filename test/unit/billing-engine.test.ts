import { describe, expect, it } from 'vitest';
import {
  addDays,
  type BillingEffect,
  type BillingEvent,
  type BillingPrice,
  currentPeriod,
  type Decision,
  DUNNING,
  decide,
  HOUR_MS,
  nextTimer,
  SUBSCRIPTION_STATES,
  type Subscription,
  type SubscriptionState,
  startSubscription,
} from '../../src/billing/index.js';

/*
 * The billing engine, tested as a state machine over events and a clock that the test moves.
 * The expected tables are written by hand from issue 10 ("What to build", item 1), not derived
 * from the implementation.
 */

const T0 = new Date('2026-04-01T09:00:00.000Z');
const price = (plan: string, amountMinor: number, interval: 'month' | 'year' = 'month', currency = 'USD'): BillingPrice => ({
  plan,
  interval,
  amountMinor,
  currency,
  taxRateBasisPoints: 1600,
});
const STANDARD = price('standard', 1900);
const PREMIUM = price('premium', 3900);
const BASIC_PAID = price('basic', 900);
const PREMIUM_EUR = price('premium', 3900, 'month', 'EUR');

function ok(decision: Decision): Extract<Decision, { ok: true }> {
  if (!decision.ok) throw new Error(`refused: ${decision.code}: ${decision.reason}`);
  return decision;
}

function apply(sub: Subscription, event: BillingEvent, now: Date): Subscription {
  return ok(decide(sub, event, now)).subscription;
}

const base = { id: 'sub-1', accountId: 'acc-1' };

/** A subscription in each state, reached through the engine itself (so every fixture is reachable). */
function fixtures(): Record<string, { sub: Subscription; now: Date }> {
  const pending = ok(startSubscription({ ...base, price: STANDARD, now: T0, trialDays: null, trialUsed: false })).subscription;
  const trialing = ok(startSubscription({ ...base, price: STANDARD, now: T0, trialDays: 14, trialUsed: false })).subscription;
  const paidAt = addDays(T0, 0.5);
  const active = apply(pending, { type: 'payment_succeeded', invoiceKey: pending.unpaidInvoices[0] as string }, paidAt);
  const renewedAt = (currentPeriod(active) as { end: Date }).end;
  const activeOpen = apply(active, { type: 'tick' }, renewedAt);
  const pastDue = apply(activeOpen, { type: 'payment_failed', invoiceKey: activeOpen.unpaidInvoices[0] as string }, renewedAt);
  const suspendedAt = addDays(renewedAt, DUNNING.suspendOnDay);
  const suspended = apply(pastDue, { type: 'tick' }, suspendedAt);
  const cancelling = apply(active, { type: 'cancel' }, paidAt);
  const cancelled = apply(cancelling, { type: 'tick' }, renewedAt);
  const expiredAt = addDays(renewedAt, DUNNING.terminateOnDay);
  const expired = apply(suspended, { type: 'tick' }, expiredAt);
  const reactivating = apply(cancelled, { type: 'reactivate' }, addDays(renewedAt, 1));
  return {
    pending_payment: { sub: pending, now: T0 },
    trialing: { sub: trialing, now: T0 },
    active: { sub: active, now: paidAt },
    'active (renewal open)': { sub: activeOpen, now: renewedAt },
    past_due: { sub: pastDue, now: renewedAt },
    suspended: { sub: suspended, now: suspendedAt },
    cancelled: { sub: cancelled, now: renewedAt },
    expired: { sub: expired, now: expiredAt },
    'cancelled (reactivation open)': { sub: reactivating, now: addDays(renewedAt, 1) },
  };
}

type EventCase = (sub: Subscription) => BillingEvent;
const EVENT_CASES: Record<string, { event: EventCase; later?: number }> = {
  'tick (nothing due)': { event: () => ({ type: 'tick' }) },
  'tick (+31 days)': { event: () => ({ type: 'tick' }), later: 31 * 24 },
  'tick (+25 hours)': { event: () => ({ type: 'tick' }), later: 25 },
  'payment_succeeded (open invoice)': { event: (s) => ({ type: 'payment_succeeded', invoiceKey: s.unpaidInvoices[0] ?? 'none' }) },
  'payment_succeeded (unknown invoice)': { event: () => ({ type: 'payment_succeeded', invoiceKey: 'someone-else' }) },
  'payment_failed (open invoice)': { event: (s) => ({ type: 'payment_failed', invoiceKey: s.unpaidInvoices[0] ?? 'none' }) },
  'change_plan (upgrade)': { event: () => ({ type: 'change_plan', price: PREMIUM }) },
  'change_plan (downgrade)': { event: () => ({ type: 'change_plan', price: BASIC_PAID }) },
  'change_plan (other currency)': { event: () => ({ type: 'change_plan', price: PREMIUM_EUR }) },
  cancel: { event: () => ({ type: 'cancel' }) },
  undo_cancel: { event: () => ({ type: 'undo_cancel' }) },
  reactivate: { event: () => ({ type: 'reactivate' }) },
  extend_trial: { event: () => ({ type: 'extend_trial', days: 7 }) },
};

/**
 * State reached, or `!code` for a refusal. `=` marks "accepted, nothing changed, nothing done"
 * (an idempotent no-op); `~` "nothing changed, but something is done again" (collect the open
 * reactivation invoice once more instead of issuing a second one).
 */
const EXPECTED: Record<string, Record<string, string>> = {
  pending_payment: {
    'tick (nothing due)': '= pending_payment',
    'tick (+31 days)': 'expired',
    'tick (+25 hours)': 'expired',
    'payment_succeeded (open invoice)': 'active',
    'payment_succeeded (unknown invoice)': '= pending_payment',
    'payment_failed (open invoice)': 'pending_payment',
    'change_plan (upgrade)': '!not_allowed_in_state',
    'change_plan (downgrade)': '!not_allowed_in_state',
    'change_plan (other currency)': '!not_allowed_in_state',
    cancel: 'expired',
    undo_cancel: '!not_allowed_in_state',
    reactivate: '!not_allowed_in_state',
    extend_trial: '!not_allowed_in_state',
  },
  trialing: {
    'tick (nothing due)': '= trialing',
    'tick (+31 days)': 'active',
    'tick (+25 hours)': '= trialing',
    'payment_succeeded (open invoice)': '= trialing',
    'payment_succeeded (unknown invoice)': '= trialing',
    'payment_failed (open invoice)': '= trialing',
    'change_plan (upgrade)': 'trialing',
    'change_plan (downgrade)': 'trialing',
    'change_plan (other currency)': '!invalid_change',
    cancel: 'trialing',
    undo_cancel: '!nothing_to_undo',
    reactivate: '!not_allowed_in_state',
    extend_trial: 'trialing',
  },
  active: {
    'tick (nothing due)': '= active',
    'tick (+31 days)': 'active',
    'tick (+25 hours)': '= active',
    'payment_succeeded (open invoice)': '= active',
    'payment_succeeded (unknown invoice)': '= active',
    'payment_failed (open invoice)': '= active',
    'change_plan (upgrade)': 'active',
    'change_plan (downgrade)': 'active',
    'change_plan (other currency)': '!invalid_change',
    cancel: 'active',
    undo_cancel: '!nothing_to_undo',
    reactivate: '!not_allowed_in_state',
    extend_trial: '!not_allowed_in_state',
  },
  'active (renewal open)': {
    'tick (nothing due)': '= active',
    'tick (+31 days)': 'active',
    'tick (+25 hours)': '= active',
    'payment_succeeded (open invoice)': 'active',
    'payment_succeeded (unknown invoice)': '= active',
    'payment_failed (open invoice)': 'past_due',
    'change_plan (upgrade)': 'active',
    'change_plan (downgrade)': 'active',
    'change_plan (other currency)': '!invalid_change',
    cancel: 'active',
    undo_cancel: '!nothing_to_undo',
    reactivate: '!not_allowed_in_state',
    extend_trial: '!not_allowed_in_state',
  },
  past_due: {
    'tick (nothing due)': '= past_due',
    'tick (+31 days)': 'expired',
    'tick (+25 hours)': 'past_due',
    'payment_succeeded (open invoice)': 'active',
    'payment_succeeded (unknown invoice)': '= past_due',
    'payment_failed (open invoice)': 'past_due',
    'change_plan (upgrade)': '!no_plan_changes_in_dunning',
    'change_plan (downgrade)': '!no_plan_changes_in_dunning',
    'change_plan (other currency)': '!no_plan_changes_in_dunning',
    cancel: 'cancelled',
    undo_cancel: '!not_allowed_in_state',
    reactivate: '!not_allowed_in_state',
    extend_trial: '!not_allowed_in_state',
  },
  suspended: {
    'tick (nothing due)': '= suspended',
    'tick (+31 days)': 'expired',
    'tick (+25 hours)': '= suspended',
    'payment_succeeded (open invoice)': 'active',
    'payment_succeeded (unknown invoice)': '= suspended',
    'payment_failed (open invoice)': 'suspended',
    'change_plan (upgrade)': '!no_plan_changes_in_dunning',
    'change_plan (downgrade)': '!no_plan_changes_in_dunning',
    'change_plan (other currency)': '!no_plan_changes_in_dunning',
    cancel: 'cancelled',
    undo_cancel: '!not_allowed_in_state',
    reactivate: '!not_allowed_in_state',
    extend_trial: '!not_allowed_in_state',
  },
  cancelled: {
    'tick (nothing due)': '= cancelled',
    'tick (+31 days)': '= cancelled',
    'tick (+25 hours)': '= cancelled',
    'payment_succeeded (open invoice)': '= cancelled',
    'payment_succeeded (unknown invoice)': '= cancelled',
    'payment_failed (open invoice)': '= cancelled',
    'change_plan (upgrade)': '!not_allowed_in_state',
    'change_plan (downgrade)': '!not_allowed_in_state',
    'change_plan (other currency)': '!not_allowed_in_state',
    cancel: '!not_allowed_in_state',
    undo_cancel: '!not_allowed_in_state',
    reactivate: 'cancelled',
    extend_trial: '!not_allowed_in_state',
  },
  expired: {
    'tick (nothing due)': '= expired',
    'tick (+31 days)': '= expired',
    'tick (+25 hours)': '= expired',
    'payment_succeeded (open invoice)': '= expired',
    'payment_succeeded (unknown invoice)': '= expired',
    'payment_failed (open invoice)': '= expired',
    'change_plan (upgrade)': '!not_allowed_in_state',
    'change_plan (downgrade)': '!not_allowed_in_state',
    'change_plan (other currency)': '!not_allowed_in_state',
    cancel: '!not_allowed_in_state',
    undo_cancel: '!not_allowed_in_state',
    reactivate: 'expired',
    extend_trial: '!not_allowed_in_state',
  },
  'cancelled (reactivation open)': {
    'tick (nothing due)': '= cancelled',
    'tick (+31 days)': 'cancelled',
    'tick (+25 hours)': 'cancelled',
    'payment_succeeded (open invoice)': 'active',
    'payment_succeeded (unknown invoice)': '= cancelled',
    'payment_failed (open invoice)': 'cancelled',
    'change_plan (upgrade)': '!not_allowed_in_state',
    'change_plan (downgrade)': '!not_allowed_in_state',
    'change_plan (other currency)': '!not_allowed_in_state',
    cancel: '!not_allowed_in_state',
    undo_cancel: '!not_allowed_in_state',
    reactivate: '~ cancelled',
    extend_trial: '!not_allowed_in_state',
  },
};

function outcome(decision: Decision): string {
  if (!decision.ok) return `!${decision.code}`;
  if (decision.changed) return decision.subscription.state;
  return `${decision.effects.length > 0 ? '~' : '='} ${decision.subscription.state}`;
}

const tenantActions = (effects: BillingEffect[]) => effects.flatMap((e) => (e.type === 'tenants' ? [e.action] : []));
const issued = (effects: BillingEffect[]) => effects.flatMap((e) => (e.type === 'issue_invoice' ? [e.invoice] : []));
const collected = (effects: BillingEffect[]) => effects.flatMap((e) => (e.type === 'collect_payment' ? [e.invoiceKey] : []));
const mails = (effects: BillingEffect[]) => effects.flatMap((e) => (e.type === 'mail' ? [e.mail] : []));

describe('every state x every event', () => {
  const all = fixtures();

  it('has a fixture for every state and a row for every fixture', () => {
    expect(new Set(Object.values(all).map((f) => f.sub.state))).toEqual(new Set(SUBSCRIPTION_STATES));
    expect(Object.keys(EXPECTED).sort()).toEqual(Object.keys(all).sort());
  });

  for (const [name, row] of Object.entries(EXPECTED)) {
    for (const [eventName, expected] of Object.entries(row)) {
      it(`${name} + ${eventName} -> ${expected}`, () => {
        const fixture = all[name] as { sub: Subscription; now: Date };
        const eventCase = EVENT_CASES[eventName] as (typeof EVENT_CASES)[string];
        const now = new Date(fixture.now.getTime() + (eventCase.later ?? 0) * HOUR_MS);
        const decision = decide(fixture.sub, eventCase.event(fixture.sub), now);
        expect(outcome(decision)).toBe(expected);
        // Deciding never mutates its input.
        expect(fixture.sub).toEqual((all[name] as { sub: Subscription }).sub);
      });
    }
  }

  it('covers every event type', () => {
    const types = new Set(Object.values(EVENT_CASES).map((c) => c.event(all.active?.sub as Subscription).type));
    expect(types.size).toBe(8);
  });
});

/** Moves the clock forward one hour at a time, collecting what the engine decided on each tick. */
function travel(sub: Subscription, from: Date, hours: number) {
  const log: Array<{ day: number; effects: BillingEffect[]; state: SubscriptionState }> = [];
  let current = sub;
  for (let h = 1; h <= hours; h++) {
    const now = new Date(from.getTime() + h * HOUR_MS);
    const decision = ok(decide(current, { type: 'tick' }, now));
    if (decision.effects.length > 0 || decision.subscription.state !== current.state)
      log.push({ day: (h / 24) | 0, effects: decision.effects, state: decision.subscription.state });
    current = decision.subscription;
  }
  return { sub: current, log };
}

describe('time travel', () => {
  it('trial of 14 days: reminder on day 11, first invoice on day 14, then the whole dunning schedule to day 30', () => {
    const trial = ok(startSubscription({ ...base, price: STANDARD, now: T0, trialDays: 14, trialUsed: false }));
    // Its tenant is on the trial's plan at once (an existing tenant on another plan moves to it).
    expect(trial.effects).toEqual([{ type: 'tenants', action: 'apply_plan', plan: 'standard' }]);
    const untilTrialEnd = travel(trial.subscription, T0, 14 * 24);
    expect(untilTrialEnd.log.map((l) => [l.day, l.state, mails(l.effects)])).toEqual([
      [11, 'trialing', ['trial_will_end']],
      [14, 'active', []],
    ]);
    const invoice = issued(untilTrialEnd.log[1]?.effects ?? [])[0];
    expect(invoice).toMatchObject({ reason: 'first_period', subtotalMinor: 1900, taxMinor: 304, totalMinor: 2204, currency: 'USD' });
    const trialEnd = addDays(T0, 14);
    // Day 0 of dunning: the first payment fails.
    const failed = ok(decide(untilTrialEnd.sub, { type: 'payment_failed', invoiceKey: invoice?.key as string }, trialEnd));
    expect(failed.subscription.state).toBe('past_due');
    expect(mails(failed.effects)).toEqual(['payment_failed']);
    const dunning = travel(failed.subscription, trialEnd, 31 * 24);
    expect(dunning.log.map((l) => [l.day, l.state, collected(l.effects).length, tenantActions(l.effects), mails(l.effects)])).toEqual([
      [1, 'past_due', 1, [], []],
      [3, 'past_due', 1, [], []],
      [6, 'past_due', 1, [], []],
      [7, 'suspended', 0, ['suspend'], ['tenants_suspended']],
      [13, 'suspended', 1, [], []],
      [29, 'suspended', 1, [], []],
      [30, 'expired', 0, ['terminate'], ['subscription_ended']],
    ]);
    expect(dunning.sub.endedAt).toEqual(addDays(trialEnd, 30));
  });

  it('each dunning step happens at its exact instant, not a millisecond before', () => {
    const { sub, now } = fixtures().past_due as { sub: Subscription; now: Date };
    const day7 = addDays(now, 7);
    expect(ok(decide(sub, { type: 'tick' }, new Date(day7.getTime() - 1))).subscription.state).toBe('past_due');
    expect(ok(decide(sub, { type: 'tick' }, day7)).subscription.state).toBe('suspended');
    expect(nextTimer(sub)).toEqual({ name: 'dunning_retry', at: addDays(now, 1) });
  });

  it('a late sweep catches up to exactly the state and effects of an on-time one', () => {
    for (const [name, fixture] of Object.entries(fixtures())) {
      for (const hours of [5, 24, 24 * 8, 24 * 31, 24 * 400]) {
        const stepped = travel(fixture.sub, fixture.now, hours);
        const jumped = ok(decide(fixture.sub, { type: 'tick' }, new Date(fixture.now.getTime() + hours * HOUR_MS)));
        expect(jumped.subscription, `${name} +${hours}h`).toEqual(stepped.sub);
        expect(jumped.effects, `${name} +${hours}h`).toEqual(stepped.log.flatMap((l) => l.effects));
      }
    }
  });

  it('any successful payment in dunning restores active at once and resumes suspended tenants', () => {
    const { sub, now } = fixtures().suspended as { sub: Subscription; now: Date };
    const paid = ok(decide(sub, { type: 'payment_succeeded', invoiceKey: sub.unpaidInvoices[0] as string }, addDays(now, 3)));
    expect(paid.subscription).toMatchObject({ state: 'active', dunningStartedAt: null, dunningRetries: 0, unpaidInvoices: [] });
    expect(tenantActions(paid.effects)).toEqual(['resume']);
    const pastDue = fixtures().past_due as { sub: Subscription; now: Date };
    const early = ok(
      decide(pastDue.sub, { type: 'payment_succeeded', invoiceKey: pastDue.sub.unpaidInvoices[0] as string }, addDays(pastDue.now, 2)),
    );
    expect(early.subscription.state).toBe('active');
    expect(tenantActions(early.effects)).toEqual([]);
  });

  it('a payment reported twice is applied once', () => {
    const { sub, now } = fixtures().past_due as { sub: Subscription; now: Date };
    const event: BillingEvent = { type: 'payment_succeeded', invoiceKey: sub.unpaidInvoices[0] as string };
    const once = ok(decide(sub, event, now));
    const twice = ok(decide(once.subscription, event, now));
    expect(twice.changed).toBe(false);
    expect(twice.effects).toEqual([]);
    expect(twice.subscription).toEqual(once.subscription);
  });

  it('pending payment: deleted after exactly 24 h unpaid, provisioned when paid', () => {
    const pending = ok(startSubscription({ ...base, price: STANDARD, now: T0, trialDays: null, trialUsed: false }));
    expect(pending.subscription.state).toBe('pending_payment');
    expect(tenantActions(pending.effects)).toEqual([]);
    expect(issued(pending.effects)[0]).toMatchObject({ reason: 'first_period', totalMinor: 2204 });
    const justBefore = ok(decide(pending.subscription, { type: 'tick' }, new Date(T0.getTime() + 24 * HOUR_MS - 1)));
    expect(justBefore.subscription.state).toBe('pending_payment');
    const lapsed = ok(decide(pending.subscription, { type: 'tick' }, new Date(T0.getTime() + 24 * HOUR_MS)));
    expect(lapsed.subscription.state).toBe('expired');
    expect(tenantActions(lapsed.effects)).toEqual(['delete_unpaid']);
    expect(lapsed.effects.filter((e) => e.type === 'void_invoice')).toHaveLength(1);
    const paid = ok(
      decide(
        pending.subscription,
        { type: 'payment_succeeded', invoiceKey: pending.subscription.unpaidInvoices[0] as string },
        addDays(T0, 0.9),
      ),
    );
    expect(paid.subscription.state).toBe('active');
    // Released, and on the paid plan (a no-op for a tenant made for it; a live change for one that was on another).
    expect(tenantActions(paid.effects)).toEqual(['provision', 'apply_plan']);
    // A payment arriving after the window closed finds the subscription expired and the invoice void.
    const late = ok(
      decide(
        pending.subscription,
        { type: 'payment_succeeded', invoiceKey: pending.subscription.unpaidInvoices[0] as string },
        addDays(T0, 1.5),
      ),
    );
    expect(late.subscription.state).toBe('expired');
    expect(tenantActions(late.effects)).toEqual(['delete_unpaid']);
  });

  it('one trial per account: a second one is refused with trial_already_used', () => {
    const refused = startSubscription({ ...base, price: STANDARD, now: T0, trialDays: 14, trialUsed: true });
    expect(refused).toMatchObject({ ok: false, code: 'trial_already_used' });
    expect(startSubscription({ ...base, price: STANDARD, now: T0, trialDays: null, trialUsed: true }).ok).toBe(true);
  });

  it('a free plan is active at once and never invoiced', () => {
    const free = ok(startSubscription({ ...base, price: price('basic', 0), now: T0, trialDays: null, trialUsed: false }));
    expect(free.subscription.state).toBe('active');
    expect(free.effects).toEqual([{ type: 'tenants', action: 'apply_plan', plan: 'basic' }]);
    const year = travel(free.subscription, T0, 366 * 24);
    expect(year.log.flatMap((l) => issued(l.effects))).toEqual([]);
    expect(year.sub.periodNumber).toBe(13);
  });
});

describe('periods, proration and plan changes', () => {
  it('monthly periods keep their anchor day: 31 Jan -> 28 Feb -> 31 Mar', () => {
    const jan31 = new Date('2026-01-31T10:00:00Z');
    const sub = ok(startSubscription({ ...base, price: STANDARD, now: jan31, trialDays: null, trialUsed: false })).subscription;
    const active = apply(sub, { type: 'payment_succeeded', invoiceKey: sub.unpaidInvoices[0] as string }, jan31);
    expect(currentPeriod(active)?.end.toISOString()).toBe('2026-02-28T10:00:00.000Z');
    const renewals = travel(active, jan31, 24 * 70).log.flatMap((l) => issued(l.effects));
    expect(renewals.map((i) => [i.lines[0]?.periodStart.toISOString(), i.lines[0]?.periodEnd.toISOString()])).toEqual([
      ['2026-02-28T10:00:00.000Z', '2026-03-31T10:00:00.000Z'],
      ['2026-03-31T10:00:00.000Z', '2026-04-30T10:00:00.000Z'],
    ]);
  });

  it('an upgrade mid-period charges the prorated difference at once and applies the new plan once it is paid', () => {
    // April has 30 days: upgraded with 20 of them left.
    const start = new Date('2026-04-01T00:00:00Z');
    const pending = ok(startSubscription({ ...base, price: STANDARD, now: start, trialDays: null, trialUsed: false })).subscription;
    const active = apply(pending, { type: 'payment_succeeded', invoiceKey: pending.unpaidInvoices[0] as string }, start);
    const upgraded = ok(decide(active, { type: 'change_plan', price: PREMIUM }, addDays(start, 10)));
    const invoice = issued(upgraded.effects)[0];
    // credit 1900 x 20/30 = 1266.67 -> 1267; charge 3900 x 20/30 = 2600; net 1333; tax 16 % = 213.28 -> 213.
    expect(invoice?.lines.map((l) => l.amountMinor)).toEqual([-1267, 2600]);
    expect(invoice).toMatchObject({ reason: 'proration', subtotalMinor: 1333, taxMinor: 213, totalMinor: 1546 });
    expect(upgraded.subscription.price.plan).toBe('premium');
    // Billed for premium now; the tenant moves when the prorated invoice is paid, not before.
    expect(tenantActions(upgraded.effects)).toEqual([]);
    expect(upgraded.subscription.planAwaitingPayment).toBe('premium');
    expect(collected(upgraded.effects)).toEqual([invoice?.key]);
    const failed = ok(decide(upgraded.subscription, { type: 'payment_failed', invoiceKey: invoice?.key as string }, addDays(start, 10)));
    expect(tenantActions(failed.effects)).toEqual([]);
    expect(failed.subscription).toMatchObject({ state: 'past_due', planAwaitingPayment: 'premium' });
    const paid = ok(decide(failed.subscription, { type: 'payment_succeeded', invoiceKey: invoice?.key as string }, addDays(start, 11)));
    expect(paid.effects.filter((e) => e.type === 'tenants')).toEqual([{ type: 'tenants', action: 'apply_plan', plan: 'premium' }]);
    expect(paid.subscription).toMatchObject({ state: 'active', planAwaitingPayment: null });
    // Reported twice, the payment changes nothing the second time: the plan change is asked for once.
    const again = ok(decide(paid.subscription, { type: 'payment_succeeded', invoiceKey: invoice?.key as string }, addDays(start, 11)));
    expect(again).toMatchObject({ changed: false, effects: [] });
    // The next renewal bills the new price for a whole period.
    const renewal = travel(upgraded.subscription, addDays(start, 10), 21 * 24).log.flatMap((l) => issued(l.effects));
    expect(renewal.map((i) => [i.reason, i.subtotalMinor])).toEqual([['renewal', 3900]]);
  });

  it('an upgrade during a trial, or with nothing left to charge, applies the new plan at once', () => {
    const trialing = ok(startSubscription({ ...base, price: STANDARD, now: T0, trialDays: 14, trialUsed: false })).subscription;
    const upgraded = ok(decide(trialing, { type: 'change_plan', price: PREMIUM }, addDays(T0, 2)));
    expect(upgraded.effects).toEqual([{ type: 'tenants', action: 'apply_plan', plan: 'premium' }]);
    expect(upgraded.subscription.planAwaitingPayment).toBeNull();
    const { sub } = fixtures().active as { sub: Subscription; now: Date };
    const end = (currentPeriod(sub) as { end: Date }).end;
    // One second before the period ends: both shares round to nothing, so there is no invoice to wait for.
    const last = ok(decide(sub, { type: 'change_plan', price: PREMIUM }, new Date(end.getTime() - 1000)));
    expect(issued(last.effects)).toEqual([]);
    expect(tenantActions(last.effects)).toEqual(['apply_plan']);
  });

  it('a subscription that ends while an upgrade waits for payment forgets it', () => {
    const start = new Date('2026-04-01T00:00:00Z');
    const pending = ok(startSubscription({ ...base, price: STANDARD, now: start, trialDays: null, trialUsed: false })).subscription;
    const active = apply(pending, { type: 'payment_succeeded', invoiceKey: pending.unpaidInvoices[0] as string }, start);
    const upgraded = apply(active, { type: 'change_plan', price: PREMIUM }, addDays(start, 10));
    const cancelled = apply(upgraded, { type: 'cancel' }, addDays(start, 10));
    // Unpaid past the end of the term: the run ends, the upgrade is void with its invoice.
    const ended = travel(cancelled, addDays(start, 10), 25 * 24).sub;
    expect(ended.state).not.toBe('active');
    expect(ended.planAwaitingPayment).toBeNull();
  });

  it('a downgrade waits for the end of the term; changing back before then forgets it', () => {
    const { sub, now } = fixtures().active as { sub: Subscription; now: Date };
    const scheduled = ok(decide(sub, { type: 'change_plan', price: BASIC_PAID }, now));
    expect(scheduled.effects).toEqual([]);
    expect(scheduled.subscription.price.plan).toBe('standard');
    const renewed = travel(scheduled.subscription, now, 31 * 24);
    const renewedEffects = renewed.log.flatMap((l) => l.effects);
    expect(issued(renewedEffects).map((i) => [i.lines[0]?.plan, i.subtotalMinor])).toEqual([['basic', 900]]);
    expect(tenantActions(renewedEffects)).toEqual(['apply_plan']);
    const back = ok(decide(scheduled.subscription, { type: 'change_plan', price: STANDARD }, now));
    expect(back.subscription.scheduledChange).toBeNull();
  });

  it('monthly -> yearly starts a yearly period at the end of the month', () => {
    const { sub, now } = fixtures().active as { sub: Subscription; now: Date };
    const yearly = price('standard', 19000, 'year');
    const scheduled = apply(sub, { type: 'change_plan', price: yearly }, now);
    const end = (currentPeriod(sub) as { end: Date }).end;
    const after = travel(scheduled, now, 40 * 24);
    expect(after.sub.anchor).toEqual(end);
    // The pending subscription's period began when it was created (T0, 09:00), not when it was paid.
    expect(end.toISOString()).toBe('2026-05-01T09:00:00.000Z');
    expect(currentPeriod(after.sub)?.end.toISOString()).toBe('2027-05-01T09:00:00.000Z');
    expect(after.log.flatMap((l) => issued(l.effects)).map((i) => i.subtotalMinor)).toEqual([19000]);
  });

  it('cancellation at end of term: active until the period ends, then cancelled and terminated; reactivation needs payment upfront', () => {
    const { sub, now } = fixtures().active as { sub: Subscription; now: Date };
    const cancelling = apply(sub, { type: 'cancel' }, now);
    expect(cancelling.state).toBe('active');
    const end = (currentPeriod(sub) as { end: Date }).end;
    const ended = ok(decide(cancelling, { type: 'tick' }, end));
    expect(ended.subscription).toMatchObject({ state: 'cancelled', endedAt: end });
    expect(tenantActions(ended.effects)).toEqual(['terminate']);
    expect(issued(ended.effects)).toEqual([]);
    const later = addDays(end, 5);
    const asked = ok(decide(ended.subscription, { type: 'reactivate' }, later));
    expect(asked.subscription.state).toBe('cancelled');
    expect(tenantActions(asked.effects)).toEqual([]);
    const invoice = issued(asked.effects)[0];
    expect(invoice).toMatchObject({ reason: 'reactivation', totalMinor: 2204 });
    const back = ok(decide(asked.subscription, { type: 'payment_succeeded', invoiceKey: invoice?.key as string }, later));
    expect(back.subscription).toMatchObject({ state: 'active', endedAt: null, anchor: later, periodNumber: 1 });
    expect(tenantActions(back.effects)).toEqual(['reactivate', 'apply_plan']);
    // Undoing a cancellation before the term ends keeps the subscription renewing.
    const kept = apply(cancelling, { type: 'undo_cancel' }, now);
    expect(ok(decide(kept, { type: 'tick' }, end)).subscription.state).toBe('active');
  });

  it('a reactivation onto another plan moves the tenant to that plan once paid, not before', () => {
    const { sub, now } = fixtures().active as { sub: Subscription; now: Date };
    const end = (currentPeriod(sub) as { end: Date }).end;
    const ended = apply(apply(sub, { type: 'cancel' }, now), { type: 'tick' }, end);
    const later = addDays(end, 3);
    const asked = ok(decide(ended, { type: 'reactivate', price: PREMIUM }, later));
    expect(asked.effects.filter((e) => e.type === 'tenants')).toEqual([]);
    const invoice = issued(asked.effects)[0];
    expect(invoice).toMatchObject({ reason: 'reactivation', subtotalMinor: 3900 });
    const back = ok(decide(asked.subscription, { type: 'payment_succeeded', invoiceKey: invoice?.key as string }, later));
    expect(back.subscription).toMatchObject({ state: 'active', price: PREMIUM });
    // Back first (the tenant's data comes back), then the live plan change to the plan paid for.
    expect(back.effects.filter((e) => e.type === 'tenants')).toEqual([
      { type: 'tenants', action: 'reactivate', plan: 'premium' },
      { type: 'tenants', action: 'apply_plan', plan: 'premium' },
    ]);
  });

  it('extending a trial moves its end and sends a new reminder', () => {
    const trial = ok(startSubscription({ ...base, price: STANDARD, now: T0, trialDays: 14, trialUsed: false })).subscription;
    const reminded = apply(trial, { type: 'tick' }, addDays(T0, 12));
    expect(reminded.trialReminderSent).toBe(true);
    const extended = apply(reminded, { type: 'extend_trial', days: 7 }, addDays(T0, 12));
    expect(extended.trialEndsAt).toEqual(addDays(T0, 21));
    expect(travel(extended, addDays(T0, 12), 10 * 24).log.map((l) => [l.day, mails(l.effects)])).toEqual([
      [6, ['trial_will_end']],
      [9, []],
    ]);
    expect(decide(trial, { type: 'extend_trial', days: 0 }, T0)).toMatchObject({ ok: false, code: 'invalid_input' });
  });
});
