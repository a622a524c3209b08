/**
 * A subscription as the billing engine sees it (pure data, no I/O), what it can be asked to do,
 * and what deciding produces: the next subscription and the effects the provider carries out
 * (issue an invoice, collect a payment, suspend tenants, send a mail). The engine never performs
 * an effect itself, so every decision is a function of (subscription, event, clock).
 */
import type { PriceInterval } from '../plans/index.js';
import { money, shareOf, sumMoney, taxOn } from './money.js';
import { periodEnd } from './periods.js';
import type { ExtraUnitPrice, PeriodUsageRecord, UsageCharge } from './usage-charges.js';

export const SUBSCRIPTION_STATES = ['pending_payment', 'trialing', 'active', 'past_due', 'suspended', 'cancelled', 'expired'] as const;
export type SubscriptionState = (typeof SUBSCRIPTION_STATES)[number];

/** What can happen to a subscription: the clock (`tick`), payment results, and people's requests. */
export const BILLING_EVENTS = [
  'tick',
  'payment_succeeded',
  'payment_failed',
  'change_plan',
  'cancel',
  'undo_cancel',
  'reactivate',
  'extend_trial',
] as const;
export type BillingEventType = (typeof BILLING_EVENTS)[number];

/** A plan's price as a subscription holds it: a snapshot, so a later catalog edit changes no running period. */
export interface BillingPrice {
  plan: string;
  interval: PriceInterval;
  amountMinor: number;
  currency: string;
  taxRateBasisPoints: number;
  /** Per-user pricing: users included, and the price of each further one (billed when the period closes). */
  perUser?: ExtraUnitPrice | undefined;
  /** Per-GiB pricing of storage above the included GiB, the same way. */
  perStorageGiB?: ExtraUnitPrice | undefined;
}

export interface Subscription {
  id: string;
  accountId: string;
  state: SubscriptionState;
  price: BillingPrice;
  createdAt: Date;
  stateChangedAt: Date;
  trialEndsAt: Date | null;
  trialReminderSent: boolean;
  /** Start of the first period of the current run; period n ends at anchor + n intervals. */
  anchor: Date | null;
  /** The current period's number (1 = the first); 0 before any paid period. */
  periodNumber: number;
  cancelAtPeriodEnd: boolean;
  /** A downgrade (or interval change) that takes effect when the current period ends. */
  scheduledChange: BillingPrice | null;
  /**
   * An upgrade charged but not yet paid: its tenant moves to this plan (the live plan change)
   * once no invoice is left unpaid. Null when nothing waits.
   */
  planAwaitingPayment: string | null;
  /**
   * Where the current period's unbilled usage begins: set by an upgrade mid-period, which bills the
   * usage before it at the old price's terms at once. Null or absent: the period's start.
   */
  usageFrom?: Date | null;
  /** Keys of issued invoices not yet paid (the provider keeps the invoices themselves). */
  unpaidInvoices: string[];
  /** Day 0 of dunning: when the first payment failed. */
  dunningStartedAt: Date | null;
  /** Payment retries dunning has made so far. */
  dunningRetries: number;
  /** When the subscription was cancelled or expired (starts the data-retention window of its tenants). */
  endedAt: Date | null;
}

export type BillingEvent =
  | { type: 'tick' }
  | { type: 'payment_succeeded'; invoiceKey: string }
  | { type: 'payment_failed'; invoiceKey: string; reason?: string }
  | { type: 'change_plan'; price: BillingPrice }
  | { type: 'cancel' }
  | { type: 'undo_cancel' }
  | { type: 'reactivate'; price?: BillingPrice }
  | { type: 'extend_trial'; days: number };

/** `final_usage`: the usage of the last period of a subscription cancelled at the end of its term. */
export const INVOICE_REASONS = ['first_period', 'renewal', 'proration', 'reactivation', 'final_usage'] as const;
export type InvoiceReason = (typeof INVOICE_REASONS)[number];

export interface InvoiceLineDraft {
  description: string;
  plan: string;
  periodStart: Date;
  periodEnd: Date;
  amountMinor: number;
}

/**
 * An invoice to issue. `key` is decided here from the subscription and the period, so issuing
 * the same decision twice (a crash between deciding and recording) finds the first invoice.
 */
export interface InvoiceDraft {
  key: string;
  subscriptionId: string;
  accountId: string;
  reason: InvoiceReason;
  currency: string;
  taxRateBasisPoints: number;
  lines: InvoiceLineDraft[];
  subtotalMinor: number;
  taxMinor: number;
  totalMinor: number;
}

/** What the platform's tenants of the account should undergo (carried out through the tenant lifecycle). */
export const TENANT_BILLING_ACTIONS = ['provision', 'delete_unpaid', 'apply_plan', 'suspend', 'resume', 'terminate', 'reactivate'] as const;
export type TenantBillingAction = (typeof TENANT_BILLING_ACTIONS)[number];

export const BILLING_MAILS = [
  'trial_will_end',
  'payment_received',
  'payment_failed',
  'tenants_suspended',
  'subscription_ended',
  'payment_window_expired',
] as const;
export type BillingMail = (typeof BILLING_MAILS)[number];

export type BillingEffect =
  | { type: 'issue_invoice'; invoice: InvoiceDraft }
  | { type: 'collect_payment'; invoiceKey: string }
  | { type: 'void_invoice'; invoiceKey: string }
  | { type: 'tenants'; action: TenantBillingAction; plan: string }
  | { type: 'mail'; mail: BillingMail }
  /** A closed period's billable usage, recorded once per subscription and period. */
  | { type: 'record_usage'; usage: PeriodUsageRecord };

export type RefusalCode =
  | 'not_allowed_in_state'
  | 'trial_already_used'
  | 'no_plan_changes_in_dunning'
  | 'invalid_change'
  | 'nothing_to_undo'
  | 'already_cancelling'
  | 'invalid_input';

export type Decision =
  | {
      ok: true;
      subscription: Subscription;
      effects: BillingEffect[];
      /** False when the event was a no-op (a duplicate payment report, a tick with nothing due). */
      changed: boolean;
    }
  | { ok: false; state: SubscriptionState; event: BillingEventType; code: RefusalCode; reason: string };

/** The part of the current period whose usage is not billed yet (from an upgrade mid-period, else all of it). */
export function unbilledUsageSpan(sub: Subscription): { start: Date; end: Date } | null {
  const period = currentPeriod(sub);
  if (!period) return null;
  const from = sub.usageFrom;
  return from && from > period.start && from < period.end ? { start: from, end: period.end } : period;
}

/** The current period, when the subscription has one. */
export function currentPeriod(sub: Subscription): { start: Date; end: Date } | null {
  if (!sub.anchor || sub.periodNumber < 1) return null;
  return {
    start: periodEnd(sub.anchor, sub.price.interval, sub.periodNumber - 1),
    end: periodEnd(sub.anchor, sub.price.interval, sub.periodNumber),
  };
}

function describePeriod(price: BillingPrice): string {
  return `${price.plan} plan, ${price.interval === 'year' ? 'yearly' : 'monthly'}`;
}

/** An invoice for whole-period lines (or a proration line): totals computed once, here. */
export function invoiceDraft(
  sub: Pick<Subscription, 'id' | 'accountId'>,
  reason: InvoiceReason,
  price: BillingPrice,
  lines: InvoiceLineDraft[],
): InvoiceDraft {
  const subtotal = sumMoney(
    price.currency,
    lines.map((line) => money(line.amountMinor, price.currency)),
  );
  const tax = taxOn(subtotal, price.taxRateBasisPoints);
  const first = lines[0];
  return {
    key: `${sub.id}:${reason}:${first ? first.periodStart.toISOString() : ''}`,
    subscriptionId: sub.id,
    accountId: sub.accountId,
    reason,
    currency: price.currency,
    taxRateBasisPoints: price.taxRateBasisPoints,
    lines,
    subtotalMinor: subtotal.amountMinor,
    taxMinor: tax.amountMinor,
    totalMinor: subtotal.amountMinor + tax.amountMinor,
  };
}

/** One whole period at `price`. */
export function periodInvoice(
  sub: Pick<Subscription, 'id' | 'accountId'>,
  reason: InvoiceReason,
  price: BillingPrice,
  start: Date,
  end: Date,
): InvoiceDraft {
  return invoiceDraft(sub, reason, price, [
    { description: describePeriod(price), plan: price.plan, periodStart: start, periodEnd: end, amountMinor: price.amountMinor },
  ]);
}

/**
 * A renewal: the new period at `price`, in advance, and the closed period's usage above its
 * included amounts, in arrears (`charges`, priced at the closed period's price).
 */
export function renewalInvoice(
  sub: Pick<Subscription, 'id' | 'accountId'>,
  price: BillingPrice,
  period: { start: Date; end: Date },
  closed: { start: Date; end: Date; plan: string },
  charges: readonly UsageCharge[],
): InvoiceDraft {
  return invoiceDraft(sub, 'renewal', price, [
    {
      description: describePeriod(price),
      plan: price.plan,
      periodStart: period.start,
      periodEnd: period.end,
      amountMinor: price.amountMinor,
    },
    ...charges.map((charge) => ({
      description: charge.description,
      plan: closed.plan,
      periodStart: closed.start,
      periodEnd: closed.end,
      amountMinor: charge.amountMinor,
    })),
  ]);
}

/**
 * The last period's usage of a subscription that ends (cancelled at the end of its term): only
 * the usage lines, in arrears, at the price the period closed under. Its key is the closed
 * period's, so the sweep that closes the period twice (a crash) issues it once.
 */
export function finalUsageInvoice(
  sub: Pick<Subscription, 'id' | 'accountId'>,
  price: BillingPrice,
  closed: { start: Date; end: Date },
  charges: readonly UsageCharge[],
): InvoiceDraft {
  return invoiceDraft(
    sub,
    'final_usage',
    price,
    charges.map((charge) => ({
      description: charge.description,
      plan: price.plan,
      periodStart: closed.start,
      periodEnd: closed.end,
      amountMinor: charge.amountMinor,
    })),
  );
}

/**
 * An upgrade mid-period: the difference between the new and the old price for the share of the
 * period still to run, charged at once, with the usage of the period so far (`usage`, priced at
 * the old price's terms). Time is counted in whole seconds (a millisecond share
 * would only add noise to the rounding).
 */
export function prorationInvoice(sub: Subscription, to: BillingPrice, now: Date, usage: readonly UsageCharge[] = []): InvoiceDraft {
  const period = currentPeriod(sub);
  if (!period) throw new Error('proration needs a current period');
  const whole = Math.round((period.end.getTime() - period.start.getTime()) / 1000);
  const left = Math.max(0, Math.min(whole, Math.round((period.end.getTime() - now.getTime()) / 1000)));
  const credit = shareOf(money(sub.price.amountMinor, sub.price.currency), left, whole);
  const charge = shareOf(money(to.amountMinor, to.currency), left, whole);
  return invoiceDraft(sub, 'proration', to, [
    {
      description: `Unused time on ${describePeriod(sub.price)}`,
      plan: sub.price.plan,
      periodStart: now,
      periodEnd: period.end,
      amountMinor: -credit.amountMinor,
    },
    {
      description: `Remaining time on ${describePeriod(to)}`,
      plan: to.plan,
      periodStart: now,
      periodEnd: period.end,
      amountMinor: charge.amountMinor,
    },
    // The usage of the period before the upgrade, in arrears, at the old price's terms.
    ...usage.map((u) => ({
      description: u.description,
      plan: sub.price.plan,
      periodStart: unbilledUsageSpan(sub)?.start ?? period.start,
      periodEnd: now,
      amountMinor: u.amountMinor,
    })),
  ]);
}

/** True when `to` costs more per day than `from` (an upgrade, charged at once). */
export function isUpgrade(from: BillingPrice, to: BillingPrice): boolean {
  const perYear = (p: BillingPrice) => BigInt(p.amountMinor) * (p.interval === 'year' ? 1n : 12n);
  return perYear(to) > perYear(from);
}

export function samePrice(a: BillingPrice, b: BillingPrice): boolean {
  return (
    a.plan === b.plan &&
    a.interval === b.interval &&
    a.amountMinor === b.amountMinor &&
    a.currency === b.currency &&
    a.taxRateBasisPoints === b.taxRateBasisPoints &&
    sameUnitPrice(a.perUser, b.perUser) &&
    sameUnitPrice(a.perStorageGiB, b.perStorageGiB)
  );
}

function sameUnitPrice(a: ExtraUnitPrice | undefined, b: ExtraUnitPrice | undefined): boolean {
  return a?.included === b?.included && a?.amountMinor === b?.amountMinor;
}
