/** Payment gateways: the port (types.ts), `manual`, Stripe (stripe.ts) and Paystack (paystack.ts, its plans: paystack-plans.ts). */
import type { PaymentGateway } from './types.js';

export {
  createPaystackGateway,
  PaystackApiError,
  type PaystackGatewayOptions,
  type PaystackPlanApi,
  type PaystackSubscription,
} from './paystack.js';
export { type PaystackPlan, type PaystackPlanSpec, paystackPlanSpecs, planChange, syncPaystackPlans } from './paystack-plans.js';
export { createStripeGateway, type StripeGatewayOptions } from './stripe.js';
export {
  type ChargeRequest,
  type CollectRequest,
  type GatewayEvent,
  type GatewayPayment,
  GatewayRefusalError,
  type PaymentGateway,
  type RefundRequest,
  type SavedMethod,
  WebhookRefusedError,
} from './types.js';

/**
 * No gateway (free plans, invoices paid by bank transfer): collecting does nothing; an operator
 * records the payment ("mark invoice paid") and dunning runs its course meanwhile.
 */
export const manualGateway: PaymentGateway = {
  name: 'manual',
  noPortalReason: 'This platform takes no online payments: invoices are paid by bank transfer. Contact the operator to change how you pay.',
  async collect() {},
};
