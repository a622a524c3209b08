/**
 * What Kill Bill's push notifications mean to the platform (pure). They are unsigned and only
 * hints: the provider re-reads the object a notification names and applies what Kill Bill says
 * now, never what the notification carried. Kill Bill's real event names are used; there is no
 * INVOICE_OVERDUE (overdue shows as OVERDUE_CHANGE and BLOCKING_STATE).
 */
import type { InvoiceDraft, InvoiceReason, Subscription } from '../../subscription.js';
import { minorAmount, planOfKillbillName } from './catalog.js';
import type { KillbillInvoice, KillbillInvoicePayment, KillbillNotification } from './client.js';

/** How the provider handles each kind of notification. */
export type NotificationHandling =
  /** Re-read the invoice and its payments: mirror it, record its payments through the engine. */
  | 'invoice'
  /** Kept for the record: our own subscription already decided it (we asked Kill Bill for it). */
  | 'acknowledge';

const INVOICE_EVENTS = new Set(['INVOICE_CREATION', 'INVOICE_ADJUSTMENT', 'INVOICE_PAYMENT_SUCCESS', 'INVOICE_PAYMENT_FAILED']);

export function handlingOf(notification: Pick<KillbillNotification, 'eventType' | 'objectType'>): NotificationHandling {
  return notification.objectType === 'INVOICE' && INVOICE_EVENTS.has(notification.eventType) ? 'invoice' : 'acknowledge';
}

/**
 * The key a notification is kept under: event type and object id, plus the payment attempt for
 * payment results (a second failed attempt on the same invoice is news, its redelivery is not).
 */
export function notificationKey(notification: KillbillNotification): string {
  let attempt = '';
  if (notification.metaData) {
    try {
      const meta = JSON.parse(notification.metaData) as { paymentCookieId?: unknown; paymentTransactionId?: unknown };
      const id = meta.paymentCookieId ?? meta.paymentTransactionId;
      if (typeof id === 'string') attempt = `:${id}`;
    } catch {
      // Kill Bill's metaData is JSON for payment events and a plain word for others (TENANT_CONFIG_CHANGE).
    }
  }
  return `${notification.eventType}:${notification.objectId ?? '-'}${attempt}`.slice(0, 300);
}

/** The key of our mirror of a Kill Bill invoice (billing_invoices.key). */
export function mirrorKey(invoiceId: string): string {
  return `killbill:${invoiceId}`;
}

/** The Kill Bill subscriptions an invoice bills (from its items). */
export function subscriptionIdsOf(invoice: KillbillInvoice): string[] {
  return [...new Set((invoice.items ?? []).map((item) => item.subscriptionId).filter((id): id is string => Boolean(id)))];
}

/**
 * Our mirror of a Kill Bill invoice: its non-zero items as lines, no tax (Kill Bill adds none
 * without a plugin, and the catalog refuses taxed prices). Null for an invoice of nothing (a
 * trial's zero fixed price): the built-in provider issues no zero invoices either.
 */
export function mirrorDraft(invoice: KillbillInvoice, sub: Subscription): InvoiceDraft | null {
  const currency = invoice.currency;
  const lines = (invoice.items ?? [])
    .filter((item) => item.amount !== 0)
    .map((item) => ({
      description: item.description ?? item.phaseName ?? item.itemType,
      plan: (item.planName ? planOfKillbillName(item.planName)?.plan : undefined) ?? sub.price.plan,
      periodStart: new Date(`${item.startDate ?? invoice.invoiceDate}T00:00:00Z`),
      periodEnd: new Date(`${item.endDate ?? item.startDate ?? invoice.invoiceDate}T00:00:00Z`),
      amountMinor: minorAmount(item.amount, currency),
    }));
  if (lines.length === 0) return null;
  const total = lines.reduce((sum, line) => sum + line.amountMinor, 0);
  const reason: InvoiceReason = sub.state === 'pending_payment' || sub.state === 'trialing' ? 'first_period' : 'renewal';
  return {
    key: mirrorKey(invoice.invoiceId),
    subscriptionId: sub.id,
    accountId: sub.accountId,
    reason,
    currency,
    taxRateBasisPoints: 0,
    lines,
    subtotalMinor: total,
    taxMinor: 0,
    totalMinor: total,
  };
}

export interface PaymentResult {
  /** Kill Bill's payment transaction id: a result is recorded once per transaction. */
  reference: string;
  status: 'succeeded' | 'failed';
  amountMinor: number;
  currency: string;
  failureReason?: string;
}

/**
 * The settled purchase attempts on an invoice, oldest first. Pending and unknown ones are left
 * for a later notification; a plugin failure counts as a failed payment (the customer's money
 * did not arrive either way).
 */
export function paymentResults(payments: KillbillInvoicePayment[]): PaymentResult[] {
  const results: Array<PaymentResult & { at: string }> = [];
  for (const payment of payments)
    for (const transaction of payment.transactions) {
      if (transaction.transactionType !== 'PURCHASE') continue;
      if (transaction.status === 'SUCCESS')
        results.push({
          reference: transaction.transactionId,
          status: 'succeeded',
          amountMinor: minorAmount(transaction.amount, transaction.currency),
          currency: transaction.currency,
          at: transaction.effectiveDate,
        });
      else if (transaction.status === 'PAYMENT_FAILURE' || transaction.status === 'PLUGIN_FAILURE')
        results.push({
          reference: transaction.transactionId,
          status: 'failed',
          amountMinor: minorAmount(transaction.amount, transaction.currency),
          currency: transaction.currency,
          failureReason: transaction.gatewayErrorMsg ?? `Kill Bill: ${transaction.status.toLowerCase().replace('_', ' ')}`,
          at: transaction.effectiveDate,
        });
    }
  return results.sort((a, b) => a.at.localeCompare(b.at)).map(({ at: _at, ...result }) => result);
}
