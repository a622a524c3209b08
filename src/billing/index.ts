/**
 * Billing: the subscription engine (pure: engine.ts, subscription.ts, dunning.ts, money.ts,
 * periods.ts), the built-in provider (providers/) and the payment gateways (gateways/).
 */

export { type CreditNoteDocument, renderCreditNotePdf } from './credit-note-pdf.js';
export {
  DEFAULT_TRIAL_DAYS,
  DUNNING,
  type DueTimer,
  dunningStatus,
  nextTimer,
  PAYMENT_WINDOW_DAYS,
  TRIAL_REMINDER_DAYS,
} from './dunning.js';
export { decide, type StartRequest, startSubscription, trialDaysOf } from './engine.js';
export {
  type CollectRequest,
  createPaystackGateway,
  createStripeGateway,
  type GatewayEvent,
  type GatewayPayment,
  GatewayRefusalError,
  manualGateway,
  type PaymentGateway,
  type PaystackPlanApi,
  paystackPlanSpecs,
  type RefundRequest,
  WebhookRefusedError,
} from './gateways/index.js';
export { type InvoiceDocument, renderInvoicePdf } from './invoice-pdf.js';
export { registerBillingJobs } from './jobs.js';
export { billingMailText } from './mails.js';
export {
  addMoney,
  divideRounded,
  formatMoney,
  formatTaxRate,
  type Money,
  minorUnitDigits,
  money,
  shareOf,
  subtractMoney,
  sumMoney,
  taxOn,
} from './money.js';
export { addBillingWebhookEvents, BILLING_WEBHOOK_EVENTS } from './outbound.js';
export { ourPaystackPlan, runPaystackPlanSync } from './paystack-plans-sync.js';
export { addDays, addMonths, DAY_MS, HOUR_MS, periodEnd } from './periods.js';
export { applyBilledPlan, type BilledTenant, type PlanChangePorts } from './plan-change.js';
export type { TenantControl } from './providers/builtin/effects.js';
export {
  type BuiltinBilling,
  type BuiltinBillingDeps,
  createBuiltinBilling,
  type PaymentReport,
  priceOf,
  type SubscribeInput,
  type UsagePoints,
} from './providers/builtin/provider.js';
export {
  type BillingReads,
  type BillingScope,
  createBillingReads,
  creditNoteView,
  invoiceView,
  subscriptionView,
} from './providers/builtin/reads.js';
export type { RefundInput, Refunds } from './providers/builtin/refunds.js';
export { formatCreditNoteNumber, formatInvoiceNumber } from './providers/builtin/store.js';
export {
  type CatalogPlan,
  createKillbillBilling,
  createKillbillClient,
  type KillbillBilling,
  killbillCatalogXml,
  registerKillbillJobs,
} from './providers/killbill/index.js';
export {
  BILLING_EVENTS,
  BILLING_MAILS,
  type BillingEffect,
  type BillingEvent,
  type BillingEventType,
  type BillingMail,
  type BillingPrice,
  currentPeriod,
  type Decision,
  INVOICE_REASONS,
  type InvoiceDraft,
  type InvoiceLineDraft,
  type InvoiceReason,
  isUpgrade,
  type RefusalCode,
  SUBSCRIPTION_STATES,
  type Subscription,
  type SubscriptionState,
  TENANT_BILLING_ACTIONS,
  type TenantBillingAction,
} from './subscription.js';
export {
  type ExtraUnitPrice,
  type PeriodUsage,
  type PeriodUsageRecord,
  periodUsage,
  startedGiB,
  USAGE_METRICS,
  type UsageCharge,
  type UsageMeter,
  type UsageMetric,
  type UsagePoint,
  usageCharges,
} from './usage-charges.js';
export {
  type BillingOverview,
  billingOverviewSchema,
  type CreditNoteView,
  creditNoteViewSchema,
  type InvoiceView,
  invoiceViewSchema,
  type SubscriptionUsageView,
  type SubscriptionView,
  subscriptionStateSchema,
  subscriptionUsageSchema,
  subscriptionViewSchema,
} from './views.js';
