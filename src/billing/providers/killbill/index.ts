/**
 * The Kill Bill billing provider (BILLING_PROVIDER=killbill): Kill Bill keeps subscriptions,
 * invoices and payments; the platform mirrors them and drives its subscription states through
 * the same engine as the built-in provider, from Kill Bill's push notifications.
 */
export {
  type CatalogPlan,
  CatalogRefusedError,
  decimalAmount,
  killbillCatalogXml,
  killbillPlanName,
  minorAmount,
  planOfKillbillName,
} from './catalog.js';
