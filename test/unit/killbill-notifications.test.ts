import { describe, expect, it } from 'vitest';
import {
  handlingOf,
  type KillbillInvoice,
  mirrorDraft,
  notificationKey,
  paymentResults,
  subscriptionIdsOf,
} from '../../src/billing/providers/killbill/index.js';
import type { Subscription } from '../../src/billing/subscription.js';

const sub: Subscription = {
  id: '11111111-1111-4111-8111-111111111111',
  accountId: '22222222-2222-4222-8222-222222222222',
  state: 'pending_payment',
  price: { plan: 'standard', interval: 'month', amountMinor: 1900, currency: 'USD', taxRateBasisPoints: 0 },
  createdAt: new Date('2026-12-07T00:00:00Z'),
  stateChangedAt: new Date('2026-12-07T00:00:00Z'),
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

/** An invoice as Kill Bill 0.22 answers GET /1.0/kb/invoices/{id}?withItems=true (fields trimmed). */
const invoice: KillbillInvoice = {
  invoiceId: '9152957d-5a9f-4155-8a5d-5aec7270ba17',
  accountId: 'f2e25610-498a-4770-bbf3-33d1b438cf56',
  invoiceNumber: '1',
  invoiceDate: '2026-12-07',
  status: 'COMMITTED',
  amount: 19,
  balance: 0,
  currency: 'USD',
  items: [
    {
      invoiceItemId: '6b3137f8-1c92-40fb-8daf-ca7987f6a5bb',
      subscriptionId: 'eb781382-8630-4824-a3a6-5b65cf9a8522',
      planName: 'standard-monthly',
      phaseName: 'standard-monthly-evergreen',
      itemType: 'RECURRING',
      description: 'standard-monthly-evergreen',
      startDate: '2026-12-07',
      endDate: '2027-01-07',
      amount: 19,
      currency: 'USD',
    },
    {
      invoiceItemId: '7b3137f8-1c92-40fb-8daf-ca7987f6a5bb',
      subscriptionId: 'eb781382-8630-4824-a3a6-5b65cf9a8522',
      planName: 'standard-monthly',
      phaseName: 'standard-monthly-trial',
      itemType: 'FIXED',
      description: 'standard-monthly-trial',
      startDate: '2026-11-23',
      endDate: null,
      amount: 0,
      currency: 'USD',
    },
  ],
};

describe('Kill Bill notifications', () => {
  it('re-reads invoices for invoice events and only acknowledges the rest (Kill Bill has no INVOICE_OVERDUE)', () => {
    expect(handlingOf({ eventType: 'INVOICE_PAYMENT_FAILED', objectType: 'INVOICE' })).toBe('invoice');
    expect(handlingOf({ eventType: 'INVOICE_PAYMENT_SUCCESS', objectType: 'INVOICE' })).toBe('invoice');
    expect(handlingOf({ eventType: 'INVOICE_CREATION', objectType: 'INVOICE' })).toBe('invoice');
    expect(handlingOf({ eventType: 'SUBSCRIPTION_CREATION', objectType: 'SUBSCRIPTION' })).toBe('acknowledge');
    expect(handlingOf({ eventType: 'OVERDUE_CHANGE', objectType: 'ACCOUNT' })).toBe('acknowledge');
    expect(handlingOf({ eventType: 'INVOICE_OVERDUE', objectType: 'INVOICE' })).toBe('acknowledge');
  });

  it('keys a notification by event and object, plus the payment attempt for payment results', () => {
    const base = { accountId: 'a', objectType: 'INVOICE', objectId: 'inv-1' };
    expect(notificationKey({ ...base, eventType: 'INVOICE_CREATION', metaData: null })).toBe('INVOICE_CREATION:inv-1');
    const failed = (cookie: string) =>
      notificationKey({
        ...base,
        eventType: 'INVOICE_PAYMENT_FAILED',
        metaData: JSON.stringify({ paymentId: 'p', paymentCookieId: cookie }),
      });
    expect(failed('t-1')).toBe('INVOICE_PAYMENT_FAILED:inv-1:t-1');
    expect(failed('t-2')).not.toBe(failed('t-1'));
    expect(
      notificationKey({ ...base, objectType: 'TENANT_KVS', eventType: 'TENANT_CONFIG_CHANGE', metaData: 'PUSH_NOTIFICATION_CB' }),
    ).toBe('TENANT_CONFIG_CHANGE:inv-1');
  });

  it('mirrors an invoice: its non-zero items as lines in minor units, no tax, keyed by its Kill Bill id', () => {
    expect(subscriptionIdsOf(invoice)).toEqual(['eb781382-8630-4824-a3a6-5b65cf9a8522']);
    expect(mirrorDraft(invoice, sub)).toEqual({
      key: 'killbill:9152957d-5a9f-4155-8a5d-5aec7270ba17',
      subscriptionId: sub.id,
      accountId: sub.accountId,
      reason: 'first_period',
      currency: 'USD',
      taxRateBasisPoints: 0,
      lines: [
        {
          description: 'standard-monthly-evergreen',
          plan: 'standard',
          periodStart: new Date('2026-12-07T00:00:00Z'),
          periodEnd: new Date('2027-01-07T00:00:00Z'),
          amountMinor: 1900,
        },
      ],
      subtotalMinor: 1900,
      taxMinor: 0,
      totalMinor: 1900,
    });
    expect(mirrorDraft(invoice, { ...sub, state: 'active' })?.reason).toBe('renewal');
    expect(mirrorDraft({ ...invoice, items: invoice.items?.slice(1) ?? [] }, sub)).toBeNull();
  });

  it('reads settled purchase attempts oldest first; pending ones wait, plugin failures count as failed', () => {
    const tx = (id: string, status: string, at: string, type = 'PURCHASE') => ({
      transactionId: id,
      transactionType: type,
      amount: 19,
      currency: 'USD',
      effectiveDate: at,
      status: status as 'SUCCESS',
      gatewayErrorMsg: null,
    });
    const results = paymentResults([
      {
        paymentId: 'p1',
        targetInvoiceId: invoice.invoiceId,
        accountId: invoice.accountId,
        currency: 'USD',
        purchasedAmount: 19,
        transactions: [tx('t3', 'SUCCESS', '2026-12-09T00:00:00Z'), tx('t1', 'PAYMENT_FAILURE', '2026-12-07T00:00:00Z')],
      },
      {
        paymentId: 'p2',
        targetInvoiceId: invoice.invoiceId,
        accountId: invoice.accountId,
        currency: 'USD',
        purchasedAmount: 0,
        transactions: [
          tx('t2', 'PLUGIN_FAILURE', '2026-12-08T00:00:00Z'),
          tx('t4', 'PENDING', '2026-12-10T00:00:00Z'),
          tx('t5', 'SUCCESS', '2026-12-11T00:00:00Z', 'REFUND'),
        ],
      },
    ]);
    expect(results.map((r) => [r.reference, r.status, r.amountMinor])).toEqual([
      ['t1', 'failed', 1900],
      ['t2', 'failed', 1900],
      ['t3', 'succeeded', 1900],
    ]);
    expect(results[1]?.failureReason).toBe('Kill Bill: plugin failure');
  });
});
