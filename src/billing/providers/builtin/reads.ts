/**
 * What the built-in provider answers about subscriptions and invoices, scoped: a customer's scope
 * is its account (another account's subscription or invoice is "not found", like a missing one);
 * an operator's scope is every account.
 */
import type { BillingInvoiceRow, BillingRefundRow, BillingSubscriptionRow, Db } from '../../../db/index.js';
import { ConflictError, NotFoundError } from '../../../errors/index.js';
import { renderCreditNotePdf } from '../../credit-note-pdf.js';
import { dunningStatus } from '../../dunning.js';
import { renderInvoicePdf } from '../../invoice-pdf.js';
import { divideRounded } from '../../money.js';
import { DAY_MS } from '../../periods.js';
import { currentPeriod, SUBSCRIPTION_STATES, type Subscription, type SubscriptionState, unbilledUsageSpan } from '../../subscription.js';
import {
  type ExtraUnitPrice,
  type MetricPeak,
  type PeriodUsage,
  periodUsage,
  type UsageCharge,
  usageCharges,
} from '../../usage-charges.js';
import type { BillingOverview, CreditNoteView, InvoiceView, SubscriptionUsageView, SubscriptionView } from '../../views.js';
import type { UsagePoints } from './provider.js';
import {
  endedSince,
  invoiceById,
  invoicesWithFailedPayments,
  listInvoices,
  listRefunds,
  liveSubscriptionOfTenant,
  paymentsOf,
  recurringPrices,
  refundWithInvoice,
  type StoredInvoice,
  subscriptionById,
  subscriptionCounts,
  subscriptionsOf,
  toSubscription,
  usageOfSubscription,
} from './store.js';

/** Who is asking: a customer's account, or null for an operator (every account). */
export interface BillingScope {
  accountId: string | null;
}

export function subscriptionView(row: BillingSubscriptionRow, now: Date): SubscriptionView {
  const sub = toSubscription(row);
  const period = currentPeriod(sub);
  const dunning = dunningStatus(sub, now);
  return {
    id: sub.id,
    accountId: sub.accountId,
    tenantId: row.tenant_id,
    state: sub.state,
    plan: sub.price.plan,
    interval: sub.price.interval,
    amountMinor: sub.price.amountMinor,
    currency: sub.price.currency,
    taxRateBasisPoints: sub.price.taxRateBasisPoints,
    trialEndsAt: sub.trialEndsAt?.toISOString() ?? null,
    currentPeriodStart: period?.start.toISOString() ?? null,
    currentPeriodEnd: period?.end.toISOString() ?? null,
    cancelAtPeriodEnd: sub.cancelAtPeriodEnd,
    scheduledPlan: sub.scheduledChange ? { plan: sub.scheduledChange.plan, interval: sub.scheduledChange.interval } : null,
    planAwaitingPayment: sub.planAwaitingPayment,
    pastDue: dunning
      ? { day: dunning.day, suspendsAt: dunning.suspendsAt?.toISOString() ?? null, terminatesAt: dunning.terminatesAt.toISOString() }
      : null,
    endedAt: sub.endedAt?.toISOString() ?? null,
    createdAt: sub.createdAt.toISOString(),
    perUser: sub.price.perUser ?? null,
    perStorageGiB: sub.price.perStorageGiB ?? null,
  };
}

/** One metric of a period's usage under `price`, for people. */
function metricView(usage: MetricPeak, pricing: ExtraUnitPrice | undefined, charge: UsageCharge | undefined) {
  return {
    peak: usage.peak,
    peakDay: usage.peakDay?.toISOString().slice(0, 10) ?? null,
    daysSampled: usage.daysSampled,
    included: pricing?.included ?? null,
    extra: charge?.extra ?? 0,
    amountMinor: charge?.amountMinor ?? 0,
  };
}

/** The current period's usage so far and what it would add to the next renewal. */
export function currentUsageView(sub: Subscription, usage: PeriodUsage, measuredTo: Date): SubscriptionUsageView['current'] {
  // After an upgrade mid-period, the part before it is billed already: the view is of the rest.
  const period = unbilledUsageSpan(sub);
  if (!period) return null;
  const charges = usageCharges(sub.price, usage);
  const chargeOf = (metric: UsageCharge['metric']) => charges.find((c) => c.metric === metric);
  return {
    periodStart: period.start.toISOString(),
    periodEnd: period.end.toISOString(),
    measuredTo: measuredTo.toISOString(),
    odooUsers: metricView(usage.odoo_users, sub.price.perUser, chargeOf('odoo_users')),
    storageGiB: metricView(usage.storage_gib, sub.price.perStorageGiB, chargeOf('storage_gib')),
    estimatedExtraMinor: charges.reduce((sum, c) => sum + c.amountMinor, 0),
  };
}

export function invoiceView(row: BillingInvoiceRow & { lines?: StoredInvoice['lines'] }): InvoiceView {
  return {
    id: row.id,
    number: row.number,
    subscriptionId: row.subscription_id,
    accountId: row.account_id,
    reason: row.reason as InvoiceView['reason'],
    status: row.status,
    currency: row.currency,
    taxRateBasisPoints: row.tax_rate_basis_points,
    subtotalMinor: row.subtotal_minor,
    taxMinor: row.tax_minor,
    totalMinor: row.total_minor,
    issuedAt: row.issued_at.toISOString(),
    paidAt: row.paid_at?.toISOString() ?? null,
    ...(row.lines
      ? {
          lines: row.lines.map((line) => ({
            description: line.description,
            plan: line.plan_code,
            periodStart: line.period_start.toISOString(),
            periodEnd: line.period_end.toISOString(),
            amountMinor: line.amount_minor,
          })),
        }
      : {}),
  };
}

export function creditNoteView(row: BillingRefundRow & { invoice_number: string }): CreditNoteView {
  return {
    id: row.id,
    number: row.number,
    status: row.status,
    invoiceId: row.invoice_id,
    invoiceNumber: row.invoice_number,
    accountId: row.account_id,
    gateway: row.gateway,
    amountMinor: row.amount_minor,
    taxMinor: row.tax_minor,
    currency: row.currency,
    reason: row.reason,
    failureReason: row.failure_reason,
    requestedAt: row.requested_at.toISOString(),
    issuedAt: row.issued_at?.toISOString() ?? null,
  };
}

function visible<T extends { account_id: string }>(row: T | undefined, scope: BillingScope, what: string, field: string): T {
  if (!row || (scope.accountId !== null && row.account_id !== scope.accountId)) throw new NotFoundError(what, { field });
  return row;
}

export function createBillingReads(deps: {
  db: Db;
  clock: () => Date;
  /** The buyer printed on an invoice (the account's name and billing email). */
  buyerOf: (accountId: string) => Promise<{ name: string; email: string | null }>;
  sellerName: string;
  /** The tenants' measured usage (usage/): the current period's usage so far. */
  usage?: UsagePoints;
}) {
  const { db } = deps;
  return {
    /** The subscription's billable usage: the running period so far, and the closed periods as recorded. */
    async usage(scope: BillingScope, id: string): Promise<SubscriptionUsageView> {
      const row = visible(await subscriptionById(db, id), scope, 'Subscription', 'id');
      const sub = toSubscription(row);
      const period = unbilledUsageSpan(sub);
      const now = deps.clock();
      let current: SubscriptionUsageView['current'] = null;
      if (deps.usage && row.tenant_id && period && sub.state !== 'cancelled' && sub.state !== 'expired') {
        const to = new Date(Math.min(now.getTime(), period.end.getTime()));
        const points = await deps.usage.pointsOf(row.tenant_id, period.start, to, db);
        current = currentUsageView(sub, periodUsage(points, period), to);
      }
      const closed = await usageOfSubscription(db, sub.id);
      return {
        subscriptionId: sub.id,
        currency: sub.price.currency,
        current,
        closed: closed.map((r) => ({
          periodStart: r.period_start.toISOString(),
          periodEnd: r.period_end.toISOString(),
          plan: r.plan_code,
          odooUsersPeak: r.odoo_users_peak,
          storageGiBPeak: r.storage_gib_peak,
          chargedMinor: r.charged_minor,
          currency: r.currency,
        })),
      };
    },

    async subscriptions(scope: BillingScope, filter: { accountId?: string | undefined } = {}): Promise<SubscriptionView[]> {
      const rows = await subscriptionsOf(db, { accountId: scope.accountId ?? filter.accountId });
      return rows.map((row) => subscriptionView(row, deps.clock()));
    },

    /** The subscription billing a tenant now, if one does (any account: callers have checked the tenant is visible). */
    async liveSubscriptionOfTenant(tenantId: string): Promise<SubscriptionView | undefined> {
      const row = await liveSubscriptionOfTenant(db, tenantId);
      return row && subscriptionView(row, deps.clock());
    },

    async subscription(scope: BillingScope, id: string): Promise<SubscriptionView> {
      return subscriptionView(visible(await subscriptionById(db, id), scope, 'Subscription', 'id'), deps.clock());
    },

    async invoices(
      scope: BillingScope,
      query: { accountId?: string | undefined; subscriptionId?: string | undefined; limit: number; offset: number },
    ): Promise<InvoiceView[]> {
      const rows = await listInvoices(db, { ...query, accountId: scope.accountId ?? query.accountId });
      return rows.map((row) => invoiceView(row));
    },

    async invoice(scope: BillingScope, id: string): Promise<InvoiceView & { payments: Array<{ status: string; gateway: string }> }> {
      const invoice = visible(await invoiceById(db, id), scope, 'Invoice', 'id');
      const payments = await paymentsOf(db, invoice.id);
      return { ...invoiceView(invoice), payments: payments.map((p) => ({ status: p.status, gateway: p.gateway })) };
    },

    /** The operator's overview: counts per state, MRR per currency, churn, failed payments. */
    async overview(): Promise<BillingOverview> {
      const counts = Object.fromEntries(SUBSCRIPTION_STATES.map((state) => [state, 0])) as Record<SubscriptionState, number>;
      for (const row of await subscriptionCounts(db)) counts[row.state as SubscriptionState] = row.count;
      // Yearly prices count a twelfth; summed per currency in twelfths and rounded once.
      const twelfths = new Map<string, bigint>();
      for (const price of await recurringPrices(db)) {
        const perYearish = BigInt(price.amountMinor) * (price.interval === 'year' ? 1n : 12n);
        twelfths.set(price.currency, (twelfths.get(price.currency) ?? 0n) + perYearish);
      }
      const failed = await invoicesWithFailedPayments(db, 50);
      return {
        counts,
        mrr: [...twelfths].map(([currency, total]) => ({ currency, amountMinor: divideRounded(total, 12n) })),
        churnedLast30Days: await endedSince(db, new Date(deps.clock().getTime() - 30 * DAY_MS)),
        failedPayments: failed.map((f) => ({
          invoiceId: f.id,
          number: f.number,
          accountId: f.account_id,
          totalMinor: f.total_minor,
          currency: f.currency,
          failedAt: new Date(f.failed_at).toISOString(),
        })),
      };
    },

    async creditNotes(
      scope: BillingScope,
      query: { accountId?: string | undefined; invoiceId?: string | undefined; limit: number; offset: number },
    ): Promise<CreditNoteView[]> {
      const rows = await listRefunds(db, { ...query, accountId: scope.accountId ?? query.accountId });
      return rows.map(creditNoteView);
    },

    async creditNote(scope: BillingScope, id: string): Promise<CreditNoteView> {
      return creditNoteView(visible(await refundWithInvoice(db, id), scope, 'Credit note', 'id'));
    },

    /** The credit note as a PDF; 409 while its refund is not issued (there is no credit note yet). */
    async creditNotePdf(scope: BillingScope, id: string): Promise<{ number: string; pdf: Buffer }> {
      const note = visible(await refundWithInvoice(db, id), scope, 'Credit note', 'id');
      if (note.status !== 'issued' || !note.number || !note.issued_at)
        throw new ConflictError(
          note.status === 'failed'
            ? `This refund failed (${note.failure_reason ?? 'see the gateway'}): no credit note was issued.`
            : 'This refund is still on its way to the payment gateway: its credit note is issued once it is refunded.',
        );
      const pdf = await renderCreditNotePdf({
        number: note.number,
        issuedAt: note.issued_at,
        invoiceNumber: note.invoice_number,
        reason: note.reason,
        currency: note.currency,
        taxRateBasisPoints: note.tax_rate_basis_points,
        totalMinor: note.amount_minor,
        taxMinor: note.tax_minor,
        seller: { name: deps.sellerName },
        buyer: await deps.buyerOf(note.account_id),
      });
      return { number: note.number, pdf };
    },

    async invoicePdf(scope: BillingScope, id: string): Promise<{ number: string; pdf: Buffer }> {
      const invoice = visible(await invoiceById(db, id), scope, 'Invoice', 'id');
      const pdf = await renderInvoicePdf({
        number: invoice.number,
        status: invoice.status,
        issuedAt: invoice.issued_at,
        paidAt: invoice.paid_at,
        currency: invoice.currency,
        taxRateBasisPoints: invoice.tax_rate_basis_points,
        subtotalMinor: invoice.subtotal_minor,
        taxMinor: invoice.tax_minor,
        totalMinor: invoice.total_minor,
        lines: invoice.lines.map((line) => ({
          description: line.description,
          periodStart: line.period_start,
          periodEnd: line.period_end,
          amountMinor: line.amount_minor,
        })),
        seller: { name: deps.sellerName },
        buyer: await deps.buyerOf(invoice.account_id),
      });
      return { number: invoice.number, pdf };
    },
  };
}
export type BillingReads = ReturnType<typeof createBillingReads>;
