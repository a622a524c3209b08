/**
 * The Kill Bill billing provider (BILLING_PROVIDER=killbill): Kill Bill keeps subscriptions,
 * invoices and payments; the platform mirrors them and drives its subscription states through
 * the same engine as the built-in provider, from Kill Bill's push notifications.
 */
export {
  type CatalogPlan,
  CatalogRefusedError,
  catalogHasPlans,
  decimalAmount,
  killbillCatalogXml,
  killbillPlanName,
  minorAmount,
  planOfKillbillName,
} from './catalog.js';
export {
  createKillbillClient,
  KillbillApiError,
  type KillbillClient,
  type KillbillCredentials,
  type KillbillInvoice,
  type KillbillNotification,
} from './client.js';
export { registerKillbillJobs } from './jobs.js';
export { handlingOf, mirrorDraft, mirrorKey, notificationKey, paymentResults, subscriptionIdsOf } from './notifications.js';
export { killbillOverdueXml, type OverdueSchedule } from './overdue.js';
export { createKillbillBilling, type KillbillBilling, type KillbillBillingDeps } from './provider.js';
