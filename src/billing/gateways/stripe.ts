/**
 * Stripe, through its official SDK: a Checkout Session for a first payment, and webhooks
 * verified with `constructEvent` on the raw body (signature and a 5-minute timestamp
 * tolerance). Our invoice id travels in the session's and payment intent's metadata, so an event
 * names the invoice it pays.
 */
import Stripe from 'stripe';
import {
  type ChargeRequest,
  type GatewayEvent,
  type GatewayPayment,
  GatewayRefusalError,
  type PaymentGateway,
  WebhookRefusedError,
} from './types.js';

export interface StripeGatewayOptions {
  secretKey: string;
  webhookSecret: string;
  /** Another API base (stripe-mock in tests): http://127.0.0.1:12111. */
  apiUrl?: string | undefined;
  /** How old a signed event may be, in seconds (Stripe's default: 300). */
  toleranceSeconds?: number;
}

type Metadata = Record<string, string> | null | undefined;

function invoiceIdOf(...metadata: Metadata[]): string | undefined {
  for (const m of metadata) if (m?.invoiceId) return m.invoiceId;
  return undefined;
}

/**
 * What an off-session PaymentIntent's status means for the invoice: `succeeded` is paid;
 * `processing` (bank debits) is not known yet (null: left to the customer or the next attempt);
 * anything else is a failed attempt for dunning, with a reason a customer can act on.
 */
export function stripeChargeOutcome(
  intent: Pick<Stripe.PaymentIntent, 'id' | 'status' | 'amount' | 'currency'>,
  request: Pick<ChargeRequest, 'invoiceId'>,
): GatewayPayment | null {
  const base = { invoiceId: request.invoiceId, reference: intent.id, amountMinor: intent.amount, currency: intent.currency.toUpperCase() };
  switch (intent.status) {
    case 'succeeded':
      return { ...base, status: 'succeeded' };
    case 'processing':
      return null;
    case 'requires_action':
    case 'requires_confirmation':
      return {
        ...base,
        status: 'failed',
        failureReason: 'The bank asks the card holder to confirm this payment: pay the open invoice from the billing page.',
      };
    default:
      return { ...base, status: 'failed', failureReason: 'The saved card was declined: pay the open invoice with another card.' };
  }
}

/** The metadata `collection` of an off-session charge of the saved card (chargeSaved). */
const SAVED_CARD = 'saved_card';

/**
 * What a `payment_intent.succeeded|payment_failed` event reports, for our off-session charges
 * only. Their answer is usually recorded at once by chargeSaved under the same reference (the
 * intent's id: the event is then a duplicate), but an intent still `processing` there (bank
 * debits) is settled only by this event. A Checkout payment's intent is left alone: its
 * `checkout.session.completed` records it with the customer to save, and a failed attempt on
 * the Checkout page is the customer retrying there, not a failed renewal for dunning.
 */
export function stripeIntentEventPayment(type: string, intent: Stripe.PaymentIntent): GatewayPayment | null {
  const invoiceId = invoiceIdOf(intent.metadata);
  if (!invoiceId || intent.metadata?.collection !== SAVED_CARD) return null;
  if (type === 'payment_intent.succeeded' && intent.status === 'succeeded')
    return {
      invoiceId,
      reference: intent.id,
      status: 'succeeded',
      amountMinor: intent.amount_received,
      currency: intent.currency.toUpperCase(),
    };
  if (type === 'payment_intent.payment_failed')
    return {
      invoiceId,
      reference: intent.id,
      status: 'failed',
      amountMinor: intent.amount,
      currency: intent.currency.toUpperCase(),
      failureReason: `The saved card was declined (${intent.last_payment_error?.message ?? 'payment failed'}): pay the open invoice with another card.`,
    };
  return null;
}

export function createStripeGateway(options: StripeGatewayOptions): PaymentGateway {
  const api = options.apiUrl ? new URL(options.apiUrl) : undefined;
  const stripe = new Stripe(options.secretKey, {
    maxNetworkRetries: 2,
    ...(api
      ? {
          host: api.hostname,
          port: api.port || (api.protocol === 'https:' ? 443 : 80),
          protocol: api.protocol === 'https:' ? 'https' : 'http',
        }
      : {}),
  });
  return {
    name: 'stripe',

    // Nothing to do without a saved payment method: the customer pays the invoice at checkout.
    async collect() {},

    async chargeSaved(request) {
      const failed = (reason: string): GatewayPayment => ({
        invoiceId: request.invoiceId,
        reference: `charge-${request.attemptKey}`,
        status: 'failed',
        amountMinor: request.amountMinor,
        currency: request.currency,
        failureReason: reason,
      });
      const customer = request.method.customerRef;
      if (!customer) return failed('No Stripe customer is saved for this account: pay the open invoice from the billing page.');
      // The customer's default payment method when it has one (set in the customer portal), else
      // its first card: read at charge time, so the card the customer changed last is charged.
      const found = await stripe.customers.retrieve(customer);
      if (found.deleted) return failed('The saved Stripe customer was deleted: pay the open invoice from the billing page.');
      const preferred = found.invoice_settings?.default_payment_method;
      const paymentMethod =
        (typeof preferred === 'string' ? preferred : preferred?.id) ??
        (await stripe.paymentMethods.list({ customer, type: 'card', limit: 1 })).data[0]?.id;
      if (!paymentMethod) return failed('No saved card: pay the open invoice from the billing page.');
      try {
        const intent = await stripe.paymentIntents.create(
          {
            amount: request.amountMinor,
            currency: request.currency.toLowerCase(),
            customer,
            payment_method: paymentMethod,
            off_session: true,
            confirm: true,
            description: `Invoice ${request.invoiceNumber}`,
            // `collection` marks the renewal charges: their payment_intent.* events apply (paymentOf).
            metadata: { invoiceId: request.invoiceId, collection: SAVED_CARD },
          },
          // Stripe answers a repeated key with the first request's result: a retry after a crash
          // between Stripe's answer and our record charges once.
          { idempotencyKey: `charge-${request.attemptKey}` },
        );
        return stripeChargeOutcome(intent, request);
      } catch (error) {
        // A decline of an off-session confirmation is a card error carrying the payment intent.
        if (error instanceof Stripe.errors.StripeCardError) {
          const intent = error.payment_intent;
          return {
            ...failed(`The saved card was declined (${error.message}): pay the open invoice with another card.`),
            ...(intent?.id ? { reference: intent.id } : {}),
          };
        }
        throw error;
      }
    },

    async checkout(request) {
      const session = await stripe.checkout.sessions.create(
        {
          mode: 'payment',
          line_items: [
            {
              price_data: {
                currency: request.currency.toLowerCase(),
                unit_amount: request.amountMinor,
                product_data: { name: `Invoice ${request.invoiceNumber}` },
              },
              quantity: 1,
            },
          ],
          metadata: { invoiceId: request.invoiceId },
          // A Stripe customer with the card saved for off-session use: renewals charge it.
          customer_creation: 'always',
          payment_intent_data: { metadata: { invoiceId: request.invoiceId }, setup_future_usage: 'off_session' },
          client_reference_id: request.invoiceId,
          success_url: request.successUrl,
          cancel_url: request.cancelUrl,
          ...(request.email ? { customer_email: request.email } : {}),
        },
        // One session per invoice however often the customer clicks (and across our retries).
        { idempotencyKey: `checkout-${request.invoiceId}` },
      );
      if (!session.url) throw new Error('Stripe created a Checkout Session without a URL');
      return { id: session.id, url: session.url };
    },

    async portal(request) {
      const session = await stripe.billingPortal.sessions.create({ customer: request.customerRef, return_url: request.returnUrl });
      return { url: session.url };
    },

    async refund(request) {
      // Payments are recorded under their payment intent (Checkout) or charge id.
      const ref = request.paymentReference;
      const target = ref.startsWith('pi_') ? { payment_intent: ref } : ref.startsWith('ch_') ? { charge: ref } : null;
      if (!target)
        throw new GatewayRefusalError(`Stripe payment ${ref} names no payment intent or charge; refund it in the Stripe dashboard.`);
      try {
        const refund = await stripe.refunds.create(
          { ...target, amount: request.amountMinor, metadata: { refundId: request.refundId } },
          // The same refund however often the job retries (a crash after Stripe answered included).
          { idempotencyKey: `refund-${request.refundId}` },
        );
        return { reference: refund.id };
      } catch (error) {
        if (error instanceof Stripe.errors.StripeInvalidRequestError)
          throw new GatewayRefusalError(`Stripe refused the refund: ${error.message}`);
        throw error;
      }
    },

    verifyWebhook(rawBody, headers) {
      const signature = headers['stripe-signature'];
      if (!signature) throw new WebhookRefusedError('The Stripe-Signature header is missing.');
      try {
        const event = stripe.webhooks.constructEvent(rawBody, signature, options.webhookSecret, options.toleranceSeconds);
        return { id: event.id, type: event.type, payload: event };
      } catch (error) {
        throw new WebhookRefusedError(`The Stripe signature does not verify: ${(error as Error).message}`);
      }
    },

    paymentOf(event: GatewayEvent): GatewayPayment | null {
      const object = (event.payload as Stripe.Event).data.object as unknown as Record<string, unknown>;
      if (event.type === 'checkout.session.completed') {
        const session = object as unknown as Stripe.Checkout.Session;
        const invoiceId = invoiceIdOf(session.metadata) ?? session.client_reference_id ?? undefined;
        if (!invoiceId || session.payment_status !== 'paid' || session.amount_total === null || !session.currency) return null;
        const intent = typeof session.payment_intent === 'string' ? session.payment_intent : session.payment_intent?.id;
        const customer = typeof session.customer === 'string' ? session.customer : session.customer?.id;
        return {
          invoiceId,
          reference: intent ?? session.id,
          status: 'succeeded',
          amountMinor: session.amount_total,
          currency: session.currency.toUpperCase(),
          ...(customer
            ? { savedMethod: { customerRef: customer, authorization: null, email: session.customer_details?.email ?? null, label: null } }
            : {}),
        };
      }
      if (event.type === 'invoice.paid' || event.type === 'invoice.payment_failed') {
        const invoice = object as unknown as Stripe.Invoice;
        const invoiceId = invoiceIdOf(invoice.metadata);
        if (!invoiceId) return null;
        const paid = event.type === 'invoice.paid';
        return {
          invoiceId,
          reference: `${invoice.id}:${event.id}`,
          status: paid ? 'succeeded' : 'failed',
          amountMinor: paid ? invoice.amount_paid : invoice.amount_due,
          currency: invoice.currency.toUpperCase(),
          ...(paid ? {} : { failureReason: 'Stripe reported the payment failed' }),
        };
      }
      if (event.type === 'payment_intent.succeeded' || event.type === 'payment_intent.payment_failed')
        return stripeIntentEventPayment(event.type, object as unknown as Stripe.PaymentIntent);
      // customer.subscription.* and the others: the built-in provider owns subscriptions; kept, not applied.
      return null;
    },
  };
}
