/**
 * The billing engine: one state machine over events and a clock. `decide(subscription, event,
 * now)` returns the next subscription and the effects to carry out, or a refusal naming why;
 * `startSubscription` makes the first one. Pure: the provider loads, decides, and stores the
 * result with its effects in one transaction.
 *
 * Payment reports are idempotent by invoice key: a report about an invoice that is not unpaid
 * (paid already, voided, never ours) changes nothing, so a webhook delivered twice or a retry
 * answering late is harmless.
 */
import { DEFAULT_TRIAL_DAYS, DUNNING, type DueTimer, nextTimer, TRIAL_REMINDER_DAYS } from './dunning.js';
import { addDays, periodEnd } from './periods.js';
import {
  type BillingEffect,
  type BillingEvent,
  type BillingEventType,
  type BillingPrice,
  currentPeriod,
  type Decision,
  finalUsageInvoice,
  isUpgrade,
  periodInvoice,
  prorationInvoice,
  type RefusalCode,
  renewalInvoice,
  type Subscription,
  type SubscriptionState,
  samePrice,
  unbilledUsageSpan,
} from './subscription.js';
import { type UsageMeter, usageCharges } from './usage-charges.js';

type Step = { subscription: Subscription; effects: BillingEffect[] };

const READABLE: Record<SubscriptionState, string> = {
  pending_payment: 'waiting for its first payment',
  trialing: 'in its trial',
  active: 'active',
  past_due: 'past due',
  suspended: 'suspended for non-payment',
  cancelled: 'cancelled',
  expired: 'expired',
};

function refuse(sub: Subscription, event: BillingEventType, code: RefusalCode, reason?: string): Decision {
  return {
    ok: false,
    state: sub.state,
    event,
    code,
    reason: reason ?? `Cannot ${event.replaceAll('_', ' ')} a subscription that is ${READABLE[sub.state]}.`,
  };
}

function moveTo(sub: Subscription, state: SubscriptionState, at: Date, changes: Partial<Subscription> = {}): Subscription {
  return { ...sub, ...changes, state, stateChangedAt: at };
}

/** Issues the invoice; a zero total is not issued at all (free plans make no paperwork). */
function bill(step: Step, invoice: ReturnType<typeof periodInvoice>): Step {
  if (invoice.totalMinor === 0) return step;
  return {
    subscription: { ...step.subscription, unpaidInvoices: [...step.subscription.unpaidInvoices, invoice.key] },
    effects: [...step.effects, { type: 'issue_invoice', invoice }, { type: 'collect_payment', invoiceKey: invoice.key }],
  };
}

function voidUnpaid(sub: Subscription): BillingEffect[] {
  return sub.unpaidInvoices.map((invoiceKey) => ({ type: 'void_invoice', invoiceKey }));
}

function tenants(sub: Subscription, action: Extract<BillingEffect, { type: 'tenants' }>['action']): BillingEffect {
  return { type: 'tenants', action, plan: sub.price.plan };
}

// ----- creation ---------------------------------------------------------------------------------

export interface StartRequest {
  id: string;
  accountId: string;
  price: BillingPrice;
  now: Date;
  /** Days of trial wanted (the plan's trialDays, or the default); null: pay now. */
  trialDays: number | null;
  /** The account had a trial before (any plan): a second one is refused. */
  trialUsed: boolean;
}

/**
 * A new subscription: a trial (once per account), free (active at once), or paid now (pending
 * payment: its tenants wait, unprovisioned, until the first invoice is paid or 24 h pass; the
 * `provision` effect then releases them).
 */
export function startSubscription(request: StartRequest): Decision {
  const { now, price } = request;
  const base: Subscription = {
    id: request.id,
    accountId: request.accountId,
    state: 'pending_payment',
    price,
    createdAt: now,
    stateChangedAt: now,
    trialEndsAt: null,
    trialReminderSent: false,
    anchor: null,
    periodNumber: 0,
    cancelAtPeriodEnd: false,
    scheduledChange: null,
    planAwaitingPayment: null,
    unpaidInvoices: [],
    dunningStartedAt: null,
    dunningRetries: 0,
    endedAt: null,
  };
  if (request.trialDays !== null) {
    if (request.trialUsed)
      return refuse(base, 'tick', 'trial_already_used', 'This account has already had its free trial; subscribe without a trial instead.');
    if (!Number.isInteger(request.trialDays) || request.trialDays < 1 || request.trialDays > 365)
      return refuse(base, 'tick', 'invalid_input', 'A trial lasts 1 to 365 days.');
    // A trial's or a free plan's tenant is provisioned when it is created: nothing to wait for.
    // Its tenant moves to the plan at once (an existing tenant on another plan: a live plan change).
    const trial = { ...base, state: 'trialing' as const, trialEndsAt: addDays(now, request.trialDays) };
    return { ok: true, subscription: trial, effects: [tenants(trial, 'apply_plan')], changed: true };
  }
  const first = { ...base, anchor: now, periodNumber: 1 };
  if (price.amountMinor === 0) {
    return { ok: true, subscription: { ...first, state: 'active' }, effects: [tenants(first, 'apply_plan')], changed: true };
  }
  const step = bill(
    { subscription: first, effects: [] },
    periodInvoice(first, 'first_period', price, now, periodEnd(now, price.interval, 1)),
  );
  return { ok: true, subscription: step.subscription, effects: step.effects, changed: true };
}

/** The trial length of a plan: its own trialDays, else the default. */
export function trialDaysOf(plan: { trialDays: number }): number {
  return plan.trialDays > 0 ? plan.trialDays : DEFAULT_TRIAL_DAYS;
}

// ----- the clock ------------------------------------------------------------------------------

/** Fires one due timer at its own due time. */
function fire(sub: Subscription, timer: DueTimer, meter: UsageMeter | undefined): Step {
  const at = timer.at;
  switch (timer.name) {
    case 'trial_reminder':
      return { subscription: { ...sub, trialReminderSent: true }, effects: [{ type: 'mail', mail: 'trial_will_end' }] };
    case 'trial_end': {
      if (sub.cancelAtPeriodEnd) return endRun(sub, 'cancelled', at);
      const active = moveTo(sub, 'active', at, { anchor: at, periodNumber: 1 });
      const period = currentPeriod(active) as { start: Date; end: Date };
      return bill({ subscription: active, effects: [] }, periodInvoice(active, 'first_period', active.price, period.start, period.end));
    }
    case 'period_end':
      return renew(sub, at, meter);
    case 'payment_window':
      return {
        subscription: moveTo(sub, 'expired', at, { endedAt: at, unpaidInvoices: [] }),
        effects: [...voidUnpaid(sub), tenants(sub, 'delete_unpaid'), { type: 'mail', mail: 'payment_window_expired' }],
      };
    case 'reactivation_window':
      return { subscription: { ...sub, unpaidInvoices: [] }, effects: voidUnpaid(sub) };
    case 'dunning_retry':
      return {
        subscription: { ...sub, dunningRetries: sub.dunningRetries + 1 },
        effects: sub.unpaidInvoices.map((invoiceKey) => ({ type: 'collect_payment', invoiceKey })),
      };
    case 'dunning_suspend':
      return {
        subscription: moveTo(sub, 'suspended', at),
        effects: [tenants(sub, 'suspend'), { type: 'mail', mail: 'tenants_suspended' }],
      };
    case 'dunning_terminate':
      return endRun(sub, 'expired', at);
  }
}

/**
 * The end of a run (cancelled at the end of its term, or expired in dunning): the tenants are
 * terminated (their data kept for the reactivation window) and what is still unpaid is voided,
 * so the only invoice an ended subscription can have open is a reactivation's.
 */
function endRun(sub: Subscription, state: 'cancelled' | 'expired', at: Date): Step {
  return {
    subscription: moveTo(sub, state, at, {
      endedAt: at,
      cancelAtPeriodEnd: false,
      scheduledChange: null,
      planAwaitingPayment: null,
      usageFrom: null,
      dunningStartedAt: null,
      dunningRetries: 0,
      unpaidInvoices: [],
    }),
    effects: [...voidUnpaid(sub), tenants(sub, 'terminate'), { type: 'mail', mail: 'subscription_ended' }],
  };
}

/**
 * The end of a paid period: its usage is recorded (when metered); then the subscription is
 * cancelled as asked, or a scheduled change applies and the next period is billed with the closed
 * period's usage above its included amounts, at the closed period's price.
 */
function renew(sub: Subscription, at: Date, meter: UsageMeter | undefined): Step {
  // After an upgrade mid-period, the usage before it was billed with the upgrade: only the rest is.
  const closed = unbilledUsageSpan(sub) as { start: Date; end: Date };
  const usage = meter?.(closed) ?? null;
  const charges = usage ? usageCharges(sub.price, usage) : [];
  const effects: BillingEffect[] = [];
  if (usage) effects.push(usageRecord(sub, closed, usage, charges));
  if (sub.cancelAtPeriodEnd) {
    const ended = endRun(sub, 'cancelled', at);
    if (charges.length === 0) return { subscription: ended.subscription, effects: [...effects, ...ended.effects] };
    // No renewal carries the last period's usage: a final invoice of its own does, issued and
    // collected with the end of the run (same transaction, key of the closed period: once). It is
    // not one the subscription waits for (not in unpaidInvoices): paying it changes no state, and
    // an unpaid one stays open for the operator; an ended run has nothing left to dun.
    const final = finalUsageInvoice(sub, sub.price, closed, charges);
    return {
      subscription: ended.subscription,
      effects: [
        ...effects,
        ...ended.effects,
        { type: 'issue_invoice', invoice: final },
        { type: 'collect_payment', invoiceKey: final.key },
      ],
    };
  }
  const change = sub.scheduledChange;
  let next: Subscription = { ...sub, periodNumber: sub.periodNumber + 1, usageFrom: null };
  if (change) {
    // A new interval restarts the anchor; the same interval keeps the calendar.
    next =
      change.interval === sub.price.interval
        ? { ...next, price: change, scheduledChange: null }
        : { ...next, price: change, scheduledChange: null, anchor: at, periodNumber: 1 };
    effects.push(tenants(next, 'apply_plan'));
  }
  const period = currentPeriod(next) as { start: Date; end: Date };
  return bill({ subscription: next, effects }, renewalInvoice(next, next.price, period, { ...closed, plan: sub.price.plan }, charges));
}

/** The record of a span's usage (a closed period, or the part of one before an upgrade) as billed at `sub`'s price. */
function usageRecord(
  sub: Subscription,
  span: { start: Date; end: Date },
  usage: NonNullable<ReturnType<UsageMeter>>,
  charges: readonly { amountMinor: number }[],
): BillingEffect {
  return {
    type: 'record_usage',
    usage: {
      subscriptionId: sub.id,
      plan: sub.price.plan,
      interval: sub.price.interval,
      periodStart: span.start,
      periodEnd: span.end,
      usage,
      chargedMinor: charges.reduce((sum, charge) => sum + charge.amountMinor, 0),
      currency: sub.price.currency,
    },
  };
}

/** Fires every timer due at `now`, in order; the subscription afterwards has none due. */
function tick(sub: Subscription, now: Date, meter: UsageMeter | undefined): Step {
  let step: Step = { subscription: sub, effects: [] };
  for (let guard = 0; guard < 10_000; guard++) {
    const timer = nextTimer(step.subscription);
    if (!timer || timer.at > now) return step;
    const fired = fire(step.subscription, timer, meter);
    step = { subscription: fired.subscription, effects: [...step.effects, ...fired.effects] };
  }
  throw new Error(`billing timers of subscription ${sub.id} did not settle`);
}

// ----- payments -----------------------------------------------------------------------------

function paymentSucceeded(sub: Subscription, invoiceKey: string, now: Date): Step {
  const unpaid = sub.unpaidInvoices.filter((key) => key !== invoiceKey);
  let paid: Subscription = { ...sub, unpaidInvoices: unpaid };
  const effects: BillingEffect[] = [{ type: 'mail', mail: 'payment_received' }];
  if (unpaid.length > 0) return { subscription: paid, effects };
  if (sub.planAwaitingPayment) {
    // The upgrade is paid for (nothing is owed any more): its tenant moves to the plan now.
    paid = { ...paid, planAwaitingPayment: null };
    effects.push(tenants(paid, 'apply_plan'));
  }
  const restored = { dunningStartedAt: null, dunningRetries: 0 };
  switch (sub.state) {
    case 'pending_payment':
      // A tenant made for this subscription is released; an existing one on another plan moves to it.
      return {
        subscription: moveTo(paid, 'active', now, restored),
        effects: [...effects, tenants(sub, 'provision'), tenants(sub, 'apply_plan')],
      };
    case 'past_due':
      return { subscription: moveTo(paid, 'active', now, restored), effects };
    case 'suspended':
      return { subscription: moveTo(paid, 'active', now, restored), effects: [...effects, tenants(sub, 'resume')] };
    case 'cancelled':
    case 'expired':
      // The tenant comes back, then follows the plan the reactivation was paid for (the live
      // plan change; a no-op when it is the plan the tenant ended on).
      return {
        subscription: moveTo(paid, 'active', now, { ...restored, endedAt: null }),
        effects: [...effects, tenants(sub, 'reactivate'), tenants(sub, 'apply_plan')],
      };
    default:
      return { subscription: paid, effects };
  }
}

function paymentFailed(sub: Subscription, now: Date): Step {
  if (sub.state === 'active') {
    return {
      subscription: moveTo(sub, 'past_due', now, { dunningStartedAt: now, dunningRetries: 0 }),
      effects: [{ type: 'mail', mail: 'payment_failed' }],
    };
  }
  // Pending, dunning and reactivation: the schedule (or the payment window) goes on as it was.
  return { subscription: sub, effects: sub.state === 'pending_payment' ? [{ type: 'mail', mail: 'payment_failed' }] : [] };
}

// ----- requests -------------------------------------------------------------------------------

function changePlan(sub: Subscription, to: BillingPrice, now: Date, meter: UsageMeter | undefined): Decision {
  if (sub.state === 'past_due' || sub.state === 'suspended')
    return refuse(
      sub,
      'change_plan',
      'no_plan_changes_in_dunning',
      'The plan cannot change while a payment is overdue: pay the open invoice first.',
    );
  if (sub.state !== 'trialing' && sub.state !== 'active') return refuse(sub, 'change_plan', 'not_allowed_in_state');
  if (to.currency !== sub.price.currency)
    return refuse(
      sub,
      'change_plan',
      'invalid_change',
      `The new price is in ${to.currency}; this subscription is billed in ${sub.price.currency}.`,
    );
  if (samePrice(to, sub.price)) {
    if (!sub.scheduledChange) return refuse(sub, 'change_plan', 'invalid_change', `The subscription is already on this price.`);
    // Going back to the current price before a scheduled downgrade happened: forget the downgrade.
    return { ok: true, subscription: { ...sub, scheduledChange: null }, effects: [], changed: true };
  }
  if (sub.state === 'trialing') {
    // Nothing is paid in a trial: the tenant moves to the new plan at once.
    const changed = { ...sub, price: to, scheduledChange: null, planAwaitingPayment: null };
    return { ok: true, subscription: changed, effects: [tenants(changed, 'apply_plan')], changed: true };
  }
  if (to.interval === sub.price.interval && isUpgrade(sub.price, to)) {
    // The usage of the period so far is billed now, at the old price's terms (its included users
    // and unit price), on the prorated invoice; the rest of the period is metered at the new one's.
    const span = unbilledUsageSpan(sub);
    const before = span && meter && now > span.start ? { start: span.start, end: now } : null;
    const usage = before ? (meter?.(before) ?? null) : null;
    const charges = usage ? usageCharges(sub.price, usage) : [];
    const effects: BillingEffect[] = [];
    if (before && usage) effects.push(usageRecord(sub, before, usage, charges));
    const invoice = prorationInvoice(sub, to, now, charges);
    const upgraded = { ...sub, price: to, scheduledChange: null, usageFrom: before ? now : (sub.usageFrom ?? null) };
    if (invoice.totalMinor === 0) {
      // Nothing to charge (the period is over to the second): the tenant moves at once.
      return { ok: true, subscription: upgraded, effects: [...effects, tenants(upgraded, 'apply_plan')], changed: true };
    }
    // The tenant moves once the prorated invoice is paid (paymentSucceeded), never before.
    const step = bill({ subscription: { ...upgraded, planAwaitingPayment: to.plan }, effects }, invoice);
    return { ok: true, subscription: step.subscription, effects: step.effects, changed: true };
  }
  // Downgrades and interval changes take effect when the paid period ends.
  return { ok: true, subscription: { ...sub, scheduledChange: to }, effects: [], changed: true };
}

function cancel(sub: Subscription, now: Date): Decision {
  switch (sub.state) {
    case 'trialing':
    case 'active':
      if (sub.cancelAtPeriodEnd)
        return refuse(sub, 'cancel', 'already_cancelling', 'The subscription is already cancelled at the end of its term.');
      return { ok: true, subscription: { ...sub, cancelAtPeriodEnd: true }, effects: [], changed: true };
    case 'pending_payment': {
      const ended = moveTo(sub, 'expired', now, { endedAt: now, unpaidInvoices: [] });
      return { ok: true, subscription: ended, effects: [...voidUnpaid(sub), tenants(sub, 'delete_unpaid')], changed: true };
    }
    case 'past_due':
    case 'suspended': {
      // The current period was never paid for, so there is no term to wait out.
      return { ok: true, ...endRun(sub, 'cancelled', now), changed: true };
    }
    default:
      return refuse(sub, 'cancel', 'not_allowed_in_state');
  }
}

function reactivate(sub: Subscription, price: BillingPrice | undefined, now: Date): Decision {
  if (sub.state !== 'cancelled' && sub.state !== 'expired') return refuse(sub, 'reactivate', 'not_allowed_in_state');
  if (sub.unpaidInvoices.length > 0) {
    // Asked again while the upfront invoice is open: collect it again, never bill twice.
    const effects: BillingEffect[] = sub.unpaidInvoices.map((invoiceKey) => ({ type: 'collect_payment', invoiceKey }));
    return { ok: true, subscription: sub, effects, changed: false };
  }
  const to = price ?? sub.price;
  const restarted: Subscription = { ...sub, price: to, anchor: now, periodNumber: 1, scheduledChange: null };
  const step = bill(
    { subscription: restarted, effects: [] },
    periodInvoice(restarted, 'reactivation', to, now, periodEnd(now, to.interval, 1)),
  );
  if (step.effects.length === 0) {
    // A free plan: nothing to pay upfront.
    return {
      ok: true,
      subscription: moveTo(restarted, 'active', now, { endedAt: null }),
      effects: [tenants(restarted, 'reactivate'), tenants(restarted, 'apply_plan')],
      changed: true,
    };
  }
  return { ok: true, subscription: step.subscription, effects: step.effects, changed: true };
}

// ----- the one entry point ----------------------------------------------------------------------

/**
 * Applies `event` at `now`. Every event first lets the clock catch up (timers due before `now`
 * fire first), so a payment reported after the period ended is judged against the state the
 * subscription is really in. `meter` measures the usage of the periods that close on the way
 * (omitted: none is metered).
 */
export function decide(sub: Subscription, event: BillingEvent, now: Date, meter?: UsageMeter): Decision {
  const caughtUp = tick(sub, now, meter);
  const current = caughtUp.subscription;
  const decision = decideNow(current, event, now, meter);
  if (!decision.ok) return decision;
  const effects = [...caughtUp.effects, ...decision.effects];
  return { ...decision, effects, changed: decision.changed || caughtUp.effects.length > 0 || current !== sub };
}

function decideNow(sub: Subscription, event: BillingEvent, now: Date, meter: UsageMeter | undefined): Decision {
  const done = (step: Step, changed = true): Decision => ({ ok: true, ...step, changed });
  switch (event.type) {
    case 'tick':
      return done({ subscription: sub, effects: [] }, false);
    case 'payment_succeeded':
    case 'payment_failed':
      if (!sub.unpaidInvoices.includes(event.invoiceKey)) return done({ subscription: sub, effects: [] }, false);
      return done(event.type === 'payment_succeeded' ? paymentSucceeded(sub, event.invoiceKey, now) : paymentFailed(sub, now));
    case 'change_plan':
      return changePlan(sub, event.price, now, meter);
    case 'cancel':
      return cancel(sub, now);
    case 'undo_cancel':
      if (sub.state !== 'trialing' && sub.state !== 'active') return refuse(sub, 'undo_cancel', 'not_allowed_in_state');
      if (!sub.cancelAtPeriodEnd) return refuse(sub, 'undo_cancel', 'nothing_to_undo', 'The subscription is not cancelled.');
      return done({ subscription: { ...sub, cancelAtPeriodEnd: false }, effects: [] });
    case 'reactivate':
      return reactivate(sub, event.price, now);
    case 'extend_trial': {
      if (sub.state !== 'trialing' || !sub.trialEndsAt) return refuse(sub, 'extend_trial', 'not_allowed_in_state');
      if (!Number.isInteger(event.days) || event.days < 1 || event.days > 365)
        return refuse(sub, 'extend_trial', 'invalid_input', 'A trial is extended by 1 to 365 days.');
      const trialEndsAt = addDays(sub.trialEndsAt, event.days);
      // A new end far enough away deserves its own reminder.
      const remindAgain = addDays(trialEndsAt, -TRIAL_REMINDER_DAYS) > now;
      return done({ subscription: { ...sub, trialEndsAt, trialReminderSent: sub.trialReminderSent && !remindAgain }, effects: [] });
    }
  }
}

export { DUNNING };
