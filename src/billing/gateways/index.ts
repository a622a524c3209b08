/**
 * Payment gateways: how an open invoice gets paid. A gateway starts a collection (charge a saved
 * payment method, or nothing for manual invoices) and reports the outcome later through the
 * provider's `recordPayment` (a webhook, an operator marking the invoice paid), recorded once per
 * gateway reference. Stripe and Paystack implement this interface beside `manual`.
 */
export interface CollectRequest {
  invoiceId: string;
  invoiceNumber: string;
  accountId: string;
  amountMinor: number;
  currency: string;
}

export interface PaymentGateway {
  /** Recorded with each payment (with the gateway's own reference, unique per gateway). */
  readonly name: string;
  /** Starts collecting; resolves once the gateway accepted the request (not once paid). */
  collect(request: CollectRequest): Promise<void>;
}

/**
 * No gateway (free plans, invoices paid by bank transfer): collecting does nothing; an operator
 * records the payment ("mark invoice paid") and dunning runs its course meanwhile.
 */
export const manualGateway: PaymentGateway = {
  name: 'manual',
  async collect() {},
};
