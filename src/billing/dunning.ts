/**
 * The dunning schedule and the other clocks of a subscription: when each timer is due, given the
 * subscription alone. The engine fires due timers in order, each at its own due time (not at the
 * time the tick happened to run), so a sweep that was down for days catches up step by step and
 * reaches exactly the state it would have reached on time.
 */
import { PAYMENT_WINDOW_MS } from '../tenants/index.js';
import { addDays, DAY_MS } from './periods.js';
import { currentPeriod, type Subscription } from './subscription.js';

/** Day 0 is the first failed payment; these are days after it. */
export const DUNNING = {
  /** Days 1-6: grace (banner shown, no plan changes). On this day the tenants are suspended. */
  suspendOnDay: 7,
  /** On this day the subscription expires and its tenants are terminated (their data kept 30 more days). */
  terminateOnDay: 30,
  /** Payment is tried again on these days. */
  retryOnDays: [1, 3, 6, 13, 29] as readonly number[],
} as const;

/** Default trial length (a plan's `trialDays` overrides it). */
export const DEFAULT_TRIAL_DAYS = 14;
/** The "your trial ends soon" mail goes this long before the trial ends. */
export const TRIAL_REMINDER_DAYS = 3;
/** How long a first payment (or a reactivation's) may take before it is given up. */
export const PAYMENT_WINDOW_DAYS = PAYMENT_WINDOW_MS / DAY_MS;

export type TimerName =
  | 'trial_reminder'
  | 'trial_end'
  | 'period_end'
  | 'payment_window'
  | 'reactivation_window'
  | 'dunning_retry'
  | 'dunning_suspend'
  | 'dunning_terminate';

export interface DueTimer {
  name: TimerName;
  at: Date;
}

function earliest(...timers: Array<DueTimer | null>): DueTimer | null {
  let first: DueTimer | null = null;
  for (const timer of timers) if (timer && (!first || timer.at < first.at)) first = timer;
  return first;
}

function dunningDay(sub: Subscription, day: number): Date {
  if (!sub.dunningStartedAt) throw new Error('dunning timers need dunningStartedAt');
  return addDays(sub.dunningStartedAt, day);
}

/** The next retry on or before `lastDay`, if dunning has one left. */
function nextRetry(sub: Subscription, lastDay: number): DueTimer | null {
  const day = DUNNING.retryOnDays[sub.dunningRetries];
  if (day === undefined || day > lastDay) return null;
  return { name: 'dunning_retry', at: dunningDay(sub, day) };
}

/** The subscription's next timer, due or not; null when nothing will happen without an event. */
export function nextTimer(sub: Subscription): DueTimer | null {
  switch (sub.state) {
    case 'pending_payment':
      return { name: 'payment_window', at: new Date(sub.stateChangedAt.getTime() + PAYMENT_WINDOW_MS) };
    case 'trialing': {
      if (!sub.trialEndsAt) throw new Error('a trialing subscription has trialEndsAt');
      const reminder = sub.trialReminderSent
        ? null
        : { name: 'trial_reminder' as const, at: addDays(sub.trialEndsAt, -TRIAL_REMINDER_DAYS) };
      return earliest(reminder, { name: 'trial_end', at: sub.trialEndsAt });
    }
    case 'active': {
      const period = currentPeriod(sub);
      return period ? { name: 'period_end', at: period.end } : null;
    }
    case 'past_due':
      // A retry falls before the suspension on the same schedule (day 6 < day 7).
      return earliest(nextRetry(sub, DUNNING.suspendOnDay - 1), { name: 'dunning_suspend', at: dunningDay(sub, DUNNING.suspendOnDay) });
    case 'suspended':
      return earliest(nextRetry(sub, DUNNING.terminateOnDay - 1), {
        name: 'dunning_terminate',
        at: dunningDay(sub, DUNNING.terminateOnDay),
      });
    case 'cancelled':
    case 'expired':
      // An unpaid reactivation invoice lapses like a first payment does.
      return sub.unpaidInvoices.length > 0 && sub.anchor
        ? { name: 'reactivation_window', at: new Date(sub.anchor.getTime() + PAYMENT_WINDOW_MS) }
        : null;
  }
}

/** Where the subscription stands in dunning, for the past-due banner. */
export function dunningStatus(sub: Subscription, now: Date): { day: number; suspendsAt: Date | null; terminatesAt: Date } | null {
  if (!sub.dunningStartedAt || (sub.state !== 'past_due' && sub.state !== 'suspended')) return null;
  return {
    day: Math.floor((now.getTime() - sub.dunningStartedAt.getTime()) / DAY_MS),
    suspendsAt: sub.state === 'past_due' ? dunningDay(sub, DUNNING.suspendOnDay) : null,
    terminatesAt: dunningDay(sub, DUNNING.terminateOnDay),
  };
}
