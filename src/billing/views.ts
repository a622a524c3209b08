/**
 * What the API answers about billing, declared once (the routes answer with these schemas, the
 * OpenAPI document and the dashboard's types come from them). Money is integer minor units
 * next to its currency, as everywhere in billing.
 */
import { z } from 'zod';
import { PRICE_INTERVALS } from '../plans/index.js';
import { INVOICE_REASONS, SUBSCRIPTION_STATES } from './subscription.js';

export const subscriptionStateSchema = z.enum(SUBSCRIPTION_STATES).meta({ id: 'SubscriptionState' });

const extraUnitPriceSchema = z.object({
  included: z.number().int(),
  amountMinor: z.number().int().describe("per unit above the included amount, per period, in the currency's minor unit"),
});

export const subscriptionViewSchema = z
  .object({
    id: z.string(),
    accountId: z.string(),
    tenantId: z.string().nullable(),
    state: subscriptionStateSchema,
    plan: z.string(),
    interval: z.enum(PRICE_INTERVALS),
    amountMinor: z.number().int().describe("price per period in the currency's minor unit"),
    currency: z.string(),
    taxRateBasisPoints: z.number().int(),
    trialEndsAt: z.string().nullable(),
    currentPeriodStart: z.string().nullable(),
    currentPeriodEnd: z.string().nullable(),
    cancelAtPeriodEnd: z.boolean(),
    scheduledPlan: z
      .object({ plan: z.string(), interval: z.enum(PRICE_INTERVALS) })
      .nullable()
      .describe('a downgrade or interval change that starts with the next period'),
    planAwaitingPayment: z
      .string()
      .nullable()
      .describe('an upgrade charged but not paid yet: the tenant moves to this plan once its invoice is paid'),
    pastDue: z
      .object({ day: z.number().int(), suspendsAt: z.string().nullable(), terminatesAt: z.string() })
      .nullable()
      .describe('dunning: days since the payment failed, when the tenants are suspended and terminated'),
    endedAt: z.string().nullable(),
    createdAt: z.string(),
    perUser: extraUnitPriceSchema.nullable().describe('per-user pricing of the price: users included, price of each further one'),
    perStorageGiB: extraUnitPriceSchema.nullable().describe('per-GiB pricing of storage above the included GiB'),
  })
  .meta({ id: 'Subscription' });
export type SubscriptionView = z.infer<typeof subscriptionViewSchema>;

export const invoiceLineViewSchema = z.object({
  description: z.string(),
  plan: z.string(),
  periodStart: z.string(),
  periodEnd: z.string(),
  amountMinor: z.number().int(),
});

export const invoiceViewSchema = z
  .object({
    id: z.string(),
    number: z.string().describe('INV-<year>-<sequence>: sequential per year, without gaps'),
    subscriptionId: z.string(),
    accountId: z.string(),
    reason: z.enum(INVOICE_REASONS),
    status: z.enum(['open', 'paid', 'void']),
    currency: z.string(),
    taxRateBasisPoints: z.number().int(),
    subtotalMinor: z.number().int(),
    taxMinor: z.number().int(),
    totalMinor: z.number().int(),
    issuedAt: z.string(),
    paidAt: z.string().nullable(),
    lines: z.array(invoiceLineViewSchema).optional(),
  })
  .meta({ id: 'Invoice' });
export type InvoiceView = z.infer<typeof invoiceViewSchema>;

export const creditNoteViewSchema = z
  .object({
    id: z.string(),
    number: z.string().nullable().describe('CN-<year>-<sequence>, sequential per year without gaps; null until issued'),
    status: z.enum(['requested', 'issued', 'failed']).describe('requested: the refund is on its way to the gateway'),
    invoiceId: z.string(),
    invoiceNumber: z.string(),
    accountId: z.string(),
    gateway: z.string(),
    amountMinor: z.number().int().describe('refunded, tax included'),
    taxMinor: z.number().int(),
    currency: z.string(),
    reason: z.string(),
    failureReason: z.string().nullable(),
    requestedAt: z.string(),
    issuedAt: z.string().nullable(),
  })
  .meta({ id: 'CreditNote' });
export type CreditNoteView = z.infer<typeof creditNoteViewSchema>;

export const billingOverviewSchema = z
  .object({
    counts: z.record(subscriptionStateSchema, z.number().int()),
    mrr: z.array(z.object({ currency: z.string(), amountMinor: z.number().int() })).describe('monthly recurring revenue per currency'),
    churnedLast30Days: z.number().int().describe('subscriptions cancelled or expired in the last 30 days'),
    failedPayments: z
      .array(
        z.object({
          invoiceId: z.string(),
          number: z.string(),
          accountId: z.string(),
          totalMinor: z.number().int(),
          currency: z.string(),
          failedAt: z.string(),
        }),
      )
      .describe('open invoices whose last payment attempt failed: to look at'),
  })
  .meta({ id: 'BillingOverview' });
export type BillingOverview = z.infer<typeof billingOverviewSchema>;

const metricUsageSchema = z.object({
  peak: z.number().int().nullable().describe('highest daily maximum of the period (null: nothing measured)'),
  peakDay: z.string().nullable().describe('the first UTC day that reached the peak'),
  daysSampled: z.number().int(),
  included: z.number().int().nullable().describe("the price's included amount (null: not priced per unit)"),
  extra: z.number().int().describe('units above the included amount'),
  amountMinor: z.number().int().describe('what the extra units cost'),
});

/** Billable usage of a subscription: the current period so far (an estimate) and the closed periods as billed. */
export const subscriptionUsageSchema = z
  .object({
    subscriptionId: z.string(),
    currency: z.string(),
    current: z
      .object({
        periodStart: z.string(),
        periodEnd: z.string(),
        measuredTo: z.string(),
        odooUsers: metricUsageSchema,
        storageGiB: metricUsageSchema,
        estimatedExtraMinor: z.number().int().describe('billed with the next renewal if usage stays at its peak so far'),
      })
      .nullable()
      .describe('null when the subscription has no running paid period or bills no tenant'),
    closed: z.array(
      z.object({
        periodStart: z.string(),
        periodEnd: z.string(),
        plan: z.string(),
        odooUsersPeak: z.number().int().nullable(),
        storageGiBPeak: z.number().int().nullable(),
        chargedMinor: z.number().int(),
        currency: z.string(),
      }),
    ),
  })
  .meta({ id: 'SubscriptionUsage' });
export type SubscriptionUsageView = z.infer<typeof subscriptionUsageSchema>;
