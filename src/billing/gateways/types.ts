/**
 * The payment gateway port: how an open invoice gets paid. A gateway starts a collection (charge a saved
 * payment method, or nothing for manual invoices), may offer a hosted checkout for a first
 * payment, and reports outcomes through webhooks: verified on the raw body, kept once per event
 * id, processed by a durable job that records the payment (billing/providers/builtin).
 */
export interface CollectRequest {
  invoiceId: string;
  invoiceNumber: string;
  accountId: string;
  amountMinor: number;
  currency: string;
}

/** Money back on a payment the gateway collected. */
export interface RefundRequest {
  /** Our refund's id: the idempotency key, so a retried request refunds once. */
  refundId: string;
  /** The gateway's reference of the payment (as recorded with it). */
  paymentReference: string;
  amountMinor: number;
  currency: string;
}

/**
 * A payment method the gateway lets us charge again without the customer (renewals), saved from
 * a verified payment. Stripe: the customer (`customerRef`; its default payment method is charged).
 * Paystack: the reusable authorization code (`authorization`, a secret: sealed at rest) and the
 * email Paystack charges it under.
 */
export interface SavedMethod {
  customerRef: string | null;
  authorization: string | null;
  email: string | null;
  /** For people: "visa ending 4081". */
  label: string | null;
}

/** A charge of a saved method (a renewal, a dunning retry), without the customer present. */
export interface ChargeRequest extends CollectRequest {
  method: SavedMethod;
  /**
   * This attempt's key, fixed when the attempt was queued: the gateway's idempotency key (Stripe)
   * or transaction reference (Paystack), so a retry after a crash finds the first charge instead
   * of charging again. A later attempt (a dunning retry) has its own key.
   */
  attemptKey: string;
}

/** A verified webhook event, as the gateway sent it. */
export interface GatewayEvent {
  id: string;
  type: string;
  payload: unknown;
}

/** A payment a gateway event reports (the provider records it once per reference). */
export interface GatewayPayment {
  invoiceId: string;
  reference: string;
  status: 'succeeded' | 'failed';
  amountMinor: number;
  currency: string;
  failureReason?: string | undefined;
  /** A method the payment lets us charge again (kept for renewals). */
  savedMethod?: SavedMethod | undefined;
}

export interface PaymentGateway {
  /** Recorded with each payment (with the gateway's own reference, unique per gateway). */
  readonly name: string;
  /** Starts collecting; resolves once the gateway accepted the request (not once paid). */
  collect(request: CollectRequest): Promise<void>;
  /**
   * Charges a saved payment method off-session, once per `attemptKey` however often it is called.
   * Answers the outcome the gateway gave at once, or null when it is still pending (its webhook
   * reports it). A decline is a `failed` payment (dunning), not an error; errors are retried.
   */
  chargeSaved?(request: ChargeRequest): Promise<GatewayPayment | null>;
  /**
   * A hosted page where the customer manages the payment method saved at this gateway (Stripe's
   * customer portal). A gateway without one leaves it out and says why in `noPortalReason`.
   */
  portal?(request: { customerRef: string; returnUrl: string }): Promise<{ url: string }>;
  /** Why this gateway offers no portal, and what the customer does instead (shown to them). */
  readonly noPortalReason?: string;
  /** A hosted page where the customer pays the invoice (first payments). */
  checkout?(
    request: CollectRequest & { successUrl: string; cancelUrl: string; email: string | null },
  ): Promise<{ id: string; url: string }>;
  /**
   * Refunds (part of) a collected payment, once per `refundId` however often it is called.
   * Throws GatewayRefusalError when the gateway refuses for good (nothing to retry).
   */
  refund?(request: RefundRequest): Promise<{ reference: string }>;
  /** Verifies a webhook on its raw body (throws WebhookRefusedError) and answers the event. */
  verifyWebhook?(rawBody: Buffer, headers: Record<string, string | string[] | undefined>): GatewayEvent;
  /**
   * The payment an event reports, or null for events that report none. A gateway whose webhooks
   * are only hints (Paystack) re-reads the payment from its API here, so this may be async; it
   * throws WebhookRefusedError when the gateway's own answer contradicts the event (kept with
   * the reason, never applied).
   */
  paymentOf?(event: GatewayEvent): GatewayPayment | null | Promise<GatewayPayment | null>;
  /**
   * For an event that reports no payment: what it is about, verified with the gateway's API, for
   * the event's kept outcome (`nothing to apply: <note>`); null when there is nothing to say.
   * Throws WebhookRefusedError like paymentOf when the gateway contradicts the event.
   */
  noteOf?(event: GatewayEvent): Promise<string | null>;
}

/** A webhook whose signature, timestamp or shape is wrong: refused with 400, never applied. */
export class WebhookRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookRefusedError';
  }
}

/** The gateway refused a request for good (a refund of an unrefundable payment): not retried. */
export class GatewayRefusalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GatewayRefusalError';
  }
}
