/**
 * Paystack, through its REST API (it publishes no SDK of its own worth depending on): a hosted
 * payment page from `/transaction/initialize` for a payment, and webhooks signed with
 * `x-paystack-signature` (HMAC-SHA512 of the raw body with the secret key). Paystack's
 * signature carries no timestamp and its events no id, so an event is only a hint: it is kept
 * once per (event, object) and, before it changes anything, the transaction is read back with
 * `/transaction/verify/{reference}`; the amount, currency, status and our invoice id applied are
 * Paystack's answer, never the webhook's body.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConflictError } from '../../errors/index.js';
import type { PaystackPlan, PaystackPlanSpec } from './paystack-plans.js';
import {
  type GatewayEvent,
  type GatewayPayment,
  GatewayRefusalError,
  type PaymentGateway,
  type SavedMethod,
  WebhookRefusedError,
} from './types.js';

export interface PaystackGatewayOptions {
  secretKey: string;
  /** Another API base (the loopback server in tests); default https://api.paystack.co. */
  apiUrl?: string | undefined;
  /** Which of our plan prices a Paystack plan code is (the synced plans), to describe subscription events. */
  ourPlanOf?: (paystackPlanCode: string) => Promise<{ plan: string; interval: string } | null>;
  /** The email Paystack requires for a payment, when the caller has none (the account's first customer). */
  emailOf?: (accountId: string) => Promise<string | null>;
}

/** A transaction as `/transaction/verify/{reference}` answers it (the fields we read). */
interface PaystackTransaction {
  id: number;
  status: string;
  reference: string;
  amount: number;
  currency: string;
  gateway_response?: string | null;
  metadata?: unknown;
  /** The card used; `reusable` ones can be charged again with `/transaction/charge_authorization`. */
  authorization?: {
    authorization_code?: string | null;
    reusable?: boolean | null;
    last4?: string | null;
    card_type?: string | null;
  } | null;
  customer?: { email?: string | null; customer_code?: string | null } | null;
  /** The plan of a charge Paystack made for one of its subscriptions (a code, or the plan object). */
  plan?: string | { plan_code?: string | null } | null;
  plan_object?: { plan_code?: string | null } | null;
}

/** The Paystack plan a transaction charged for, if any. */
function planCodeOf(transaction: PaystackTransaction): string | null {
  const plan = transaction.plan;
  if (typeof plan === 'string' && plan) return plan;
  if (plan && typeof plan === 'object' && plan.plan_code) return plan.plan_code;
  return transaction.plan_object?.plan_code ?? null;
}

interface PaystackEnvelope<T> {
  status: boolean;
  message: string;
  data: T;
}

/** A failure of Paystack's API (network, 5xx, or `status: false`): the job retries it. */
export class PaystackApiError extends Error {
  constructor(
    message: string,
    readonly httpStatus: number | null,
  ) {
    super(message);
    this.name = 'PaystackApiError';
  }
}

/** Our invoice id, from metadata Paystack gives back as an object or as a JSON string. */
function invoiceIdOf(metadata: unknown): string | undefined {
  let value = metadata;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  const id = (value as { invoiceId?: unknown } | null | undefined)?.invoiceId;
  return typeof id === 'string' ? id : undefined;
}

/**
 * The key an event is kept under. Paystack sends no event id: the event name with the object it
 * is about (a transaction's reference, a subscription's or invoice's code) names one event, so a
 * redelivery (Paystack retries for 72 h) or a replay finds its row. A body without any of these
 * is kept under the hash of its bytes.
 */
function eventIdOf(rawBody: Buffer, event: string, data: Record<string, unknown>): string {
  const about =
    (event.startsWith('charge.') || event.startsWith('refund.')) && typeof data.reference === 'string'
      ? data.reference
      : event.startsWith('subscription.') && typeof data.subscription_code === 'string'
        ? data.subscription_code
        : event.startsWith('invoice.') && typeof data.invoice_code === 'string'
          ? data.invoice_code
          : `sha256:${createHash('sha256').update(rawBody).digest('hex')}`;
  return `${event}:${about}`.slice(0, 255);
}

/** The reusable card of a successful transaction, to charge renewals with; null when Paystack says it is not reusable. */
function savedMethodOf(transaction: PaystackTransaction): SavedMethod | null {
  const card = transaction.authorization;
  const email = transaction.customer?.email ?? null;
  if (!card?.reusable || !card.authorization_code || !email) return null;
  const label = [card.card_type?.trim(), card.last4 ? `ending ${card.last4}` : null].filter(Boolean).join(' ') || null;
  return { customerRef: transaction.customer?.customer_code ?? null, authorization: card.authorization_code, email, label };
}

/** What a transaction's status means for the invoice (null: not settled yet, e.g. `send_otp`, `pending`). */
function outcomeOf(status: string): 'succeeded' | 'failed' | null {
  return status === 'success' ? 'succeeded' : status === 'failed' || status === 'abandoned' ? 'failed' : null;
}

/** Paystack's `/plan` endpoints (the plan sync) and `/subscription/{code}` (events read back). */
export interface PaystackPlanApi {
  getPlan(code: string): Promise<PaystackPlan | null>;
  listPlans(): Promise<PaystackPlan[]>;
  createPlan(spec: PaystackPlanSpec): Promise<PaystackPlan>;
  updatePlan(code: string, spec: PaystackPlanSpec): Promise<void>;
  getSubscription(code: string): Promise<PaystackSubscription | null>;
}

/** The statuses Paystack gives a subscription after each event (a verified event must agree). */
const SUBSCRIPTION_STATUSES: Record<string, readonly string[]> = {
  'subscription.create': ['active', 'non-renewing', 'attention', 'complete', 'cancelled'],
  'subscription.disable': ['complete', 'cancelled'],
  'subscription.not_renew': ['non-renewing', 'complete', 'cancelled'],
};

/** A subscription as `/subscription/{code}` answers it (the fields we read). */
export interface PaystackSubscription {
  subscription_code: string;
  status: string;
  plan?: { plan_code?: string | null; name?: string | null } | null;
  customer?: { email?: string | null; customer_code?: string | null } | null;
  next_payment_date?: string | null;
}

export function createPaystackGateway(options: PaystackGatewayOptions): PaymentGateway & {
  verifyTransaction(reference: string): Promise<PaystackTransaction | null>;
  plans: PaystackPlanApi;
} {
  const base = (options.apiUrl ?? 'https://api.paystack.co').replace(/\/+$/, '');

  async function call<T>(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    body?: unknown,
  ): Promise<{ httpStatus: number; envelope: PaystackEnvelope<T> }> {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${options.secretKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(20_000),
      });
    } catch (error) {
      throw new PaystackApiError(`Paystack could not be reached (${method} ${path}): ${(error as Error).message}`, null);
    }
    const text = await response.text();
    let envelope: PaystackEnvelope<T>;
    try {
      envelope = JSON.parse(text) as PaystackEnvelope<T>;
    } catch {
      throw new PaystackApiError(`Paystack answered ${method} ${path} with ${response.status} and no JSON`, response.status);
    }
    return { httpStatus: response.status, envelope };
  }

  async function verifyTransaction(reference: string): Promise<PaystackTransaction | null> {
    const { httpStatus, envelope } = await call<PaystackTransaction>('GET', `/transaction/verify/${encodeURIComponent(reference)}`);
    // Paystack answers an unknown reference with 400/404 and status false: no such transaction.
    if ((httpStatus === 400 || httpStatus === 404) && envelope.status === false) return null;
    if (httpStatus !== 200 || !envelope.status)
      throw new PaystackApiError(`Paystack could not verify transaction ${reference}: ${envelope.message}`, httpStatus);
    return envelope.data;
  }

  /** The payment a transaction is, read back from Paystack; refused when it contradicts the event. */
  async function verifiedPayment(reference: string, claimed: 'succeeded' | 'failed'): Promise<GatewayPayment | null> {
    const transaction = await verifyTransaction(reference);
    if (!transaction) throw new WebhookRefusedError(`Paystack knows no transaction ${reference}.`);
    const invoiceId = invoiceIdOf(transaction.metadata);
    if (!invoiceId) return null; // Not one of our invoices (a payment made elsewhere on the same Paystack account).
    const status = transaction.status === 'success' ? 'succeeded' : transaction.status === 'failed' ? 'failed' : null;
    const saved = status === 'succeeded' ? savedMethodOf(transaction) : null;
    if (status !== claimed)
      throw new WebhookRefusedError(`the event reports ${claimed}, Paystack reports transaction ${reference} as ${transaction.status}.`);
    return {
      invoiceId,
      reference: transaction.reference,
      status,
      amountMinor: transaction.amount,
      currency: transaction.currency.toUpperCase(),
      ...(status === 'failed' ? { failureReason: `Paystack: ${transaction.gateway_response ?? 'payment failed'}` } : {}),
      ...(saved ? { savedMethod: saved } : {}),
    };
  }

  /** GET of one object: null when Paystack answers that it does not exist (400/404 with status false). */
  async function getOne<T>(path: string, what: string): Promise<T | null> {
    const { httpStatus, envelope } = await call<T>('GET', path);
    if ((httpStatus === 400 || httpStatus === 404) && envelope.status === false) return null;
    if (httpStatus !== 200 || !envelope.status)
      throw new PaystackApiError(`Paystack could not read ${what}: ${envelope.message}`, httpStatus);
    return envelope.data;
  }

  const plans: PaystackPlanApi = {
    getPlan: (code) => getOne<PaystackPlan>(`/plan/${encodeURIComponent(code)}`, `plan ${code}`),
    async listPlans() {
      const all: PaystackPlan[] = [];
      for (let page = 1; ; page++) {
        const { httpStatus, envelope } = await call<PaystackPlan[]>('GET', `/plan?perPage=100&page=${page}`);
        if (httpStatus !== 200 || !envelope.status)
          throw new PaystackApiError(`Paystack could not list plans: ${envelope.message}`, httpStatus);
        all.push(...(envelope.data ?? []));
        if ((envelope.data ?? []).length < 100) return all;
      }
    },
    async createPlan(spec) {
      const { httpStatus, envelope } = await call<PaystackPlan>('POST', '/plan', {
        name: spec.name,
        amount: spec.amount,
        interval: spec.paystackInterval,
        currency: spec.currency,
        description: `Plan ${spec.plan}, billed ${spec.interval}ly by the platform (tax included).`,
      });
      if (httpStatus !== 200 && httpStatus !== 201)
        throw new PaystackApiError(`Paystack refused plan ${spec.name}: ${envelope.message}`, httpStatus);
      if (!envelope.status || !envelope.data?.plan_code)
        throw new PaystackApiError(`Paystack refused plan ${spec.name}: ${envelope.message}`, httpStatus);
      return envelope.data;
    },
    async updatePlan(code, spec) {
      // Existing Paystack subscriptions keep their amount: the platform makes none, and one made
      // elsewhere should not change price behind its customer's back.
      const { httpStatus, envelope } = await call<unknown>('PUT', `/plan/${encodeURIComponent(code)}`, {
        name: spec.name,
        amount: spec.amount,
        interval: spec.paystackInterval,
        currency: spec.currency,
        update_existing_subscriptions: false,
      });
      if (httpStatus !== 200 || !envelope.status)
        throw new PaystackApiError(`Paystack refused to update plan ${code}: ${envelope.message}`, httpStatus);
    },
    getSubscription: (code) => getOne<PaystackSubscription>(`/subscription/${encodeURIComponent(code)}`, `subscription ${code}`),
  };

  return {
    name: 'paystack',
    verifyTransaction,
    plans,
    // Paystack's "manage subscription" link exists only for subscriptions made at Paystack, and
    // the built-in provider makes none; a card is replaced by paying with the new one.
    noPortalReason:
      'Paystack offers no page to manage a saved card. The card you pay an invoice with online is the one charged for renewals: to change it, pay your next open invoice from the billing page with the new card.',

    // Nothing to do without a saved authorization: the customer pays the invoice at checkout.
    async collect() {},

    async chargeSaved(request) {
      const { authorization, email } = request.method;
      // The attempt's own reference: Paystack refuses a reference twice and /transaction/verify
      // finds it, so a retry after a crash reads the first charge back instead of charging again.
      const reference = `ren_${request.attemptKey.replaceAll('-', '')}`.slice(0, 100);
      const settled = (t: PaystackTransaction): GatewayPayment | null => {
        const status = outcomeOf(t.status);
        if (!status) return null;
        return {
          invoiceId: request.invoiceId,
          reference: t.reference,
          status,
          amountMinor: t.amount,
          currency: t.currency.toUpperCase(),
          ...(status === 'failed'
            ? {
                failureReason: `Paystack declined the saved card (${t.gateway_response ?? 'failed'}): pay the open invoice with another card.`,
              }
            : {}),
        };
      };
      const earlier = await verifyTransaction(reference);
      if (earlier) return settled(earlier);
      if (!authorization || !email)
        return {
          invoiceId: request.invoiceId,
          reference,
          status: 'failed',
          amountMinor: request.amountMinor,
          currency: request.currency,
          failureReason: 'No reusable card is saved for this account: pay the open invoice from the billing page.',
        };
      const { httpStatus, envelope } = await call<PaystackTransaction>('POST', '/transaction/charge_authorization', {
        authorization_code: authorization,
        email,
        amount: request.amountMinor,
        currency: request.currency,
        reference,
        metadata: { invoiceId: request.invoiceId, invoiceNumber: request.invoiceNumber },
      });
      // A 4xx (an authorization Paystack no longer accepts) is a failed attempt for dunning; 5xx and 429 are retried.
      if (httpStatus >= 400 && httpStatus < 500 && httpStatus !== 429)
        return {
          invoiceId: request.invoiceId,
          reference,
          status: 'failed',
          amountMinor: request.amountMinor,
          currency: request.currency,
          failureReason: `Paystack refused to charge the saved card (${envelope.message}): pay the open invoice with another card.`,
        };
      if (httpStatus !== 200 || !envelope.status || !envelope.data)
        throw new PaystackApiError(`Paystack could not charge the saved card: ${envelope.message}`, httpStatus);
      return settled(envelope.data);
    },

    async checkout(request) {
      const email = request.email ?? (await options.emailOf?.(request.accountId)) ?? null;
      if (!email)
        throw new ConflictError(
          'Online payment needs an email address on the account; please add one to your profile or contact the operator.',
        );
      // A fresh reference per attempt: Paystack refuses a reference used before, and a customer
      // may abandon one page and come back. Every attempt names the invoice in its metadata.
      const reference = `inv_${request.invoiceId.replaceAll('-', '')}_${randomBytes(4).toString('hex')}`;
      const { httpStatus, envelope } = await call<{ authorization_url: string; access_code: string; reference: string }>(
        'POST',
        '/transaction/initialize',
        {
          email,
          amount: request.amountMinor,
          currency: request.currency,
          reference,
          callback_url: request.successUrl,
          metadata: { invoiceId: request.invoiceId, invoiceNumber: request.invoiceNumber, cancel_action: request.cancelUrl },
        },
      );
      if (httpStatus !== 200 || !envelope.status || !envelope.data?.authorization_url)
        throw new PaystackApiError(`Paystack refused to start the payment: ${envelope.message}`, httpStatus);
      return { id: envelope.data.reference, url: envelope.data.authorization_url };
    },

    async refund(request) {
      // Paystack's /refund takes no idempotency key: the refund carries our id in its merchant
      // note, and every attempt first looks for it among the transaction's refunds, so a retry
      // after a crash (Paystack answered, we had not recorded it) finds it instead of refunding twice.
      const transaction = await verifyTransaction(request.paymentReference);
      if (!transaction) throw new GatewayRefusalError(`Paystack knows no transaction ${request.paymentReference}.`);
      const note = `refund ${request.refundId}`;
      const listed = await call<Array<{ id: number; merchant_note?: string | null }>>('GET', `/refund?transaction=${transaction.id}`);
      if (listed.httpStatus !== 200 || !listed.envelope.status)
        throw new PaystackApiError(
          `Paystack could not list the refunds of ${request.paymentReference}: ${listed.envelope.message}`,
          listed.httpStatus,
        );
      const earlier = (listed.envelope.data ?? []).find((r) => r.merchant_note === note);
      if (earlier) return { reference: String(earlier.id) };
      const { httpStatus, envelope } = await call<{ id: number }>('POST', '/refund', {
        transaction: request.paymentReference,
        amount: request.amountMinor,
        currency: request.currency,
        merchant_note: note,
      });
      if (httpStatus >= 400 && httpStatus < 500 && httpStatus !== 429)
        throw new GatewayRefusalError(`Paystack refused the refund: ${envelope.message}`);
      if (httpStatus !== 200 || !envelope.status || !envelope.data)
        throw new PaystackApiError(`Paystack could not refund ${request.paymentReference}: ${envelope.message}`, httpStatus);
      return { reference: String(envelope.data.id) };
    },

    verifyWebhook(rawBody, headers) {
      const header = headers['x-paystack-signature'];
      const signature = Array.isArray(header) ? header[0] : header;
      if (!signature) throw new WebhookRefusedError('The x-paystack-signature header is missing.');
      const expected = createHmac('sha512', options.secretKey).update(rawBody).digest();
      const given = Buffer.from(signature, 'hex');
      // Same length first: timingSafeEqual throws on a length mismatch, and the length is no secret.
      if (given.length !== expected.length || !timingSafeEqual(given, expected))
        throw new WebhookRefusedError('The Paystack signature does not verify (x-paystack-signature).');
      let body: { event?: unknown; data?: unknown };
      try {
        body = JSON.parse(rawBody.toString('utf8'));
      } catch {
        throw new WebhookRefusedError('The Paystack event is not JSON.');
      }
      if (typeof body.event !== 'string' || typeof body.data !== 'object' || body.data === null)
        throw new WebhookRefusedError('The Paystack event has no event name or data.');
      return { id: eventIdOf(rawBody, body.event, body.data as Record<string, unknown>), type: body.event, payload: body };
    },

    async paymentOf(event: GatewayEvent): Promise<GatewayPayment | null> {
      const data = ((event.payload as { data?: unknown }).data ?? {}) as Record<string, unknown>;
      if (event.type === 'charge.success') {
        if (typeof data.reference !== 'string') return null;
        return verifiedPayment(data.reference, 'succeeded');
      }
      if (event.type === 'invoice.payment_failed') {
        // A failed charge of a Paystack invoice: the transaction it names, read back.
        const transaction = data.transaction as { reference?: unknown } | undefined;
        if (typeof transaction?.reference !== 'string') return null;
        return verifiedPayment(transaction.reference, 'failed');
      }
      // subscription.create|disable|not_renew: described by noteOf, never applied (the platform
      // renews itself; see docs/operations/billing.md on Paystack subscriptions).
      return null;
    },

    async noteOf(event: GatewayEvent): Promise<string | null> {
      const data = ((event.payload as { data?: unknown }).data ?? {}) as Record<string, unknown>;
      if (event.type === 'charge.success' && typeof data.reference === 'string') {
        // Not one of our invoices (paymentOf answered null). A charge Paystack made for its own
        // subscription on one of our plans is money the platform did not bill: say so.
        const transaction = await verifyTransaction(data.reference);
        const planCode = transaction ? planCodeOf(transaction) : null;
        const ours = planCode ? ((await options.ourPlanOf?.(planCode)) ?? null) : null;
        if (!transaction || !ours) return null;
        return `Paystack charged ${transaction.amount} ${transaction.currency.toUpperCase()} (${transaction.reference}, ${transaction.customer?.email ?? 'unknown customer'}) for a Paystack subscription on our plan ${ours.plan} (${ours.interval}ly); the platform bills its renewals itself and recorded nothing: refund it in Paystack and disable that subscription`;
      }
      if (!event.type.startsWith('subscription.')) return null;
      const code = data.subscription_code;
      if (typeof code !== 'string') return null;
      const subscription = await plans.getSubscription(code);
      if (!subscription) throw new WebhookRefusedError(`Paystack knows no subscription ${code}.`);
      const expected = SUBSCRIPTION_STATUSES[event.type];
      if (expected && !expected.includes(subscription.status))
        throw new WebhookRefusedError(`the event reports ${event.type}, Paystack reports subscription ${code} as ${subscription.status}.`);
      const planCode = subscription.plan?.plan_code ?? null;
      const ours = planCode ? ((await options.ourPlanOf?.(planCode)) ?? null) : null;
      if (!ours) return `Paystack subscription ${code} (${subscription.status}) is on plan ${planCode ?? 'unknown'}, not one of ours`;
      const on = `Paystack subscription ${code} on our plan ${ours.plan} (${ours.interval}ly) for ${subscription.customer?.email ?? 'an unknown customer'} is ${subscription.status}`;
      return subscription.status === 'active'
        ? `${on}; the platform renews subscriptions itself, so this one would charge the customer a second time each period: disable it in Paystack`
        : `${on}; the platform's subscriptions are unchanged`;
    },
  };
}
