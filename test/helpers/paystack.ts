import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback Paystack API: Paystack publishes no mock server, so this one follows the request
 * and response shapes of its documentation (https://paystack.com/docs/api/) for the calls the
 * gateway makes: `POST /transaction/initialize`, `GET /transaction/verify/:reference`,
 * `POST /refund`, `/plan` (list, create, fetch, update) and `GET /subscription/:code`, each behind `Authorization: Bearer <secret key>`, answering
 * `{ status, message, data }`. Tests settle transactions (`settle`) as a customer paying on the
 * hosted page would, and sign webhook bodies as Paystack does (`signedPaystackEvent`).
 */
export interface LoopbackTransaction {
  id: number;
  reference: string;
  amount: number;
  currency: string;
  email: string;
  status: 'ongoing' | 'success' | 'failed' | 'abandoned' | 'reversed';
  gateway_response: string;
  metadata: unknown;
  paid_at: string | null;
  created_at: string;
  /** The card's authorization code (reusable: a renewal may charge it again). */
  authorization_code: string;
  /** Made by `/transaction/charge_authorization` (a renewal), not on the hosted page. */
  charged_authorization: boolean;
  /** The plan code of a charge Paystack made for one of its subscriptions. */
  plan?: string | null;
}

export interface LoopbackRefund {
  id: number;
  transaction: string;
  merchant_note: string | null;
  amount: number;
  currency: string;
  status: 'pending' | 'processed';
}

/** A plan as Paystack's `/plan` holds it. */
export interface LoopbackPlan {
  id: number;
  name: string;
  plan_code: string;
  amount: number;
  interval: 'hourly' | 'daily' | 'weekly' | 'monthly' | 'quarterly' | 'biannually' | 'annually';
  currency: string;
  description: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A subscription as Paystack's `/subscription/:code` answers it (the documented fields the gateway reads). */
export interface LoopbackSubscription {
  id: number;
  subscription_code: string;
  email_token: string;
  status: 'active' | 'non-renewing' | 'attention' | 'complete' | 'cancelled';
  plan_code: string;
  email: string;
  next_payment_date: string | null;
}

export interface PaystackServer {
  url: string;
  secretKey: string;
  transactions: Map<string, LoopbackTransaction>;
  refunds: LoopbackRefund[];
  plans: Map<string, LoopbackPlan>;
  subscriptions: Map<string, LoopbackSubscription>;
  /** A subscription made at Paystack (e.g. a customer paying a plan on a Paystack page). */
  addSubscription(s: Pick<LoopbackSubscription, 'plan_code' | 'email'> & Partial<LoopbackSubscription>): LoopbackSubscription;
  /** How the next `/transaction/charge_authorization` calls end (the card's bank answer). */
  chargeOutcome: 'success' | 'failed';
  /** Every request's method and path, in order (what the gateway asked). */
  requests: Array<{ method: string; path: string }>;
  /** The customer paid (or failed to) on the hosted page. */
  settle(reference: string, status: 'success' | 'failed' | 'abandoned', options?: { amount?: number }): LoopbackTransaction;
  /** A transaction made directly (not through initialize), e.g. one an attacker paid for less. */
  add(transaction: Partial<LoopbackTransaction> & { reference: string; amount: number; metadata: unknown }): LoopbackTransaction;
  stop(): Promise<void>;
}

/** The card of a transaction as Paystack describes it (a test card: reusable). */
function authorizationOf(t: LoopbackTransaction) {
  return {
    authorization_code: t.authorization_code,
    bin: '408408',
    last4: '4081',
    exp_month: '12',
    exp_year: '2030',
    channel: 'card',
    card_type: 'visa ',
    bank: 'TEST BANK',
    country_code: 'NG',
    brand: 'visa',
    reusable: true,
    signature: `SIG_${t.authorization_code}`,
  };
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

async function readJson(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

export async function startPaystackServer(secretKey = `sk_test_${randomBytes(12).toString('hex')}`): Promise<PaystackServer> {
  const transactions = new Map<string, LoopbackTransaction>();
  const refunds: LoopbackRefund[] = [];
  const requests: PaystackServer['requests'] = [];
  let nextId = 1000;

  function add(t: Partial<LoopbackTransaction> & { reference: string; amount: number; metadata: unknown }): LoopbackTransaction {
    const transaction: LoopbackTransaction = {
      id: nextId++,
      currency: 'USD',
      email: 'customer@example.com',
      status: 'ongoing',
      gateway_response: 'Pending',
      paid_at: null,
      created_at: new Date().toISOString(),
      authorization_code: `AUTH_${randomBytes(5).toString('hex')}`,
      charged_authorization: false,
      ...t,
    };
    transactions.set(transaction.reference, transaction);
    return transaction;
  }

  const plans = new Map<string, LoopbackPlan>();
  const subscriptions = new Map<string, LoopbackSubscription>();
  const planView = (p: LoopbackPlan) => ({ ...p, domain: 'test', integration: 1, send_invoices: true, send_sms: true, hosted_page: false });
  const PAYSTACK_INTERVALS = ['hourly', 'daily', 'weekly', 'monthly', 'quarterly', 'biannually', 'annually'];
  const settings: { chargeOutcome: 'success' | 'failed' } = { chargeOutcome: 'success' };
  const server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://paystack.local');
      requests.push({ method: request.method ?? '', path: url.pathname });
      if (request.headers.authorization !== `Bearer ${secretKey}`) return send(response, 401, { status: false, message: 'Invalid key' });
      if (request.method === 'POST' && url.pathname === '/transaction/initialize') {
        const body = await readJson(request);
        const amount = Number(body.amount);
        if (typeof body.email !== 'string' || !Number.isInteger(amount) || amount <= 0)
          return send(response, 400, { status: false, message: 'Invalid Email Address or Amount' });
        const reference = typeof body.reference === 'string' ? body.reference : randomBytes(10).toString('hex');
        if (transactions.has(reference)) return send(response, 400, { status: false, message: 'Duplicate Transaction Reference' });
        add({
          reference,
          amount,
          currency: typeof body.currency === 'string' ? body.currency : 'NGN',
          email: body.email,
          metadata: body.metadata ?? null,
        });
        const accessCode = randomBytes(6).toString('hex');
        return send(response, 200, {
          status: true,
          message: 'Authorization URL created',
          data: { authorization_url: `https://checkout.paystack.com/${accessCode}`, access_code: accessCode, reference },
        });
      }
      if (request.method === 'POST' && url.pathname === '/transaction/charge_authorization') {
        const body = await readJson(request);
        const amount = Number(body.amount);
        const card = [...transactions.values()].find((t) => t.authorization_code === body.authorization_code && t.status === 'success');
        if (!card || card.email !== body.email) return send(response, 400, { status: false, message: 'Invalid authorization code' });
        if (!Number.isInteger(amount) || amount <= 0) return send(response, 400, { status: false, message: 'Invalid amount' });
        const reference = typeof body.reference === 'string' ? body.reference : randomBytes(10).toString('hex');
        if (transactions.has(reference)) return send(response, 400, { status: false, message: 'Duplicate Transaction Reference' });
        const ok = settings.chargeOutcome === 'success';
        const charged = add({
          reference,
          amount,
          currency: typeof body.currency === 'string' ? body.currency : 'NGN',
          email: card.email,
          metadata: body.metadata ?? null,
          authorization_code: card.authorization_code,
          charged_authorization: true,
          status: ok ? 'success' : 'failed',
          gateway_response: ok ? 'Approved' : 'Insufficient Funds',
          paid_at: ok ? new Date().toISOString() : null,
        });
        return send(response, 200, {
          status: true,
          message: 'Charge attempted',
          data: {
            amount: charged.amount,
            currency: charged.currency,
            transaction_date: charged.created_at,
            status: charged.status,
            reference: charged.reference,
            domain: 'test',
            metadata: charged.metadata,
            gateway_response: charged.gateway_response,
            channel: 'card',
            authorization: authorizationOf(charged),
            customer: { id: 1, email: charged.email, customer_code: 'CUS_loopback' },
            id: charged.id,
          },
        });
      }
      if (url.pathname === '/plan' && request.method === 'GET') {
        const perPage = Number(url.searchParams.get('perPage') ?? 50);
        const page = Number(url.searchParams.get('page') ?? 1);
        const all = [...plans.values()].reverse();
        const listed = all.slice((page - 1) * perPage, page * perPage);
        return send(response, 200, {
          status: true,
          message: 'Plans retrieved',
          data: listed.map(planView),
          meta: { total: all.length, skipped: (page - 1) * perPage, perPage, page, pageCount: Math.ceil(all.length / perPage) },
        });
      }
      if (url.pathname === '/plan' && request.method === 'POST') {
        const body = await readJson(request);
        const amount = Number(body.amount);
        if (typeof body.name !== 'string' || !body.name) return send(response, 400, { status: false, message: 'Name is required' });
        if (!Number.isInteger(amount) || amount <= 0) return send(response, 400, { status: false, message: 'Invalid amount' });
        if (!PAYSTACK_INTERVALS.includes(String(body.interval))) return send(response, 400, { status: false, message: 'Invalid interval' });
        const now = new Date().toISOString();
        const plan: LoopbackPlan = {
          id: nextId++,
          name: body.name,
          plan_code: `PLN_${randomBytes(7).toString('hex')}`,
          amount,
          interval: body.interval as LoopbackPlan['interval'],
          currency: typeof body.currency === 'string' ? body.currency : 'NGN',
          description: typeof body.description === 'string' ? body.description : null,
          createdAt: now,
          updatedAt: now,
        };
        plans.set(plan.plan_code, plan);
        return send(response, 201, { status: true, message: 'Plan created', data: planView(plan) });
      }
      const planPath = /^\/plan\/([^/]+)$/.exec(url.pathname);
      if (planPath) {
        const key = decodeURIComponent(planPath[1] ?? '');
        const plan = plans.get(key) ?? [...plans.values()].find((p) => String(p.id) === key);
        if (!plan) return send(response, 404, { status: false, message: 'Plan not found' });
        if (request.method === 'GET') return send(response, 200, { status: true, message: 'Plan retrieved', data: planView(plan) });
        if (request.method === 'PUT') {
          const body = await readJson(request);
          if (body.amount !== undefined) plan.amount = Number(body.amount);
          if (typeof body.name === 'string') plan.name = body.name;
          if (typeof body.currency === 'string') plan.currency = body.currency;
          if (PAYSTACK_INTERVALS.includes(String(body.interval))) plan.interval = body.interval as LoopbackPlan['interval'];
          plan.updatedAt = new Date().toISOString();
          return send(response, 200, { status: true, message: 'Plan updated. 0 subscription(s) will be affected' });
        }
      }
      const subscriptionPath = /^\/subscription\/([^/]+)$/.exec(url.pathname);
      if (request.method === 'GET' && subscriptionPath) {
        const key = decodeURIComponent(subscriptionPath[1] ?? '');
        const sub = subscriptions.get(key) ?? [...subscriptions.values()].find((x) => String(x.id) === key);
        if (!sub) return send(response, 404, { status: false, message: 'Subscription not found' });
        const plan = plans.get(sub.plan_code);
        return send(response, 200, {
          status: true,
          message: 'Subscription retrieved successfully',
          data: {
            id: sub.id,
            domain: 'test',
            status: sub.status,
            subscription_code: sub.subscription_code,
            email_token: sub.email_token,
            amount: plan?.amount ?? 0,
            cron_expression: '0 0 1 * *',
            next_payment_date: sub.next_payment_date,
            plan: plan ? planView(plan) : { plan_code: sub.plan_code },
            customer: { id: 1, email: sub.email, customer_code: 'CUS_loopback' },
            authorization: { authorization_code: 'AUTH_loopback', reusable: true },
            createdAt: new Date().toISOString(),
          },
        });
      }
      const verify = /^\/transaction\/verify\/([^/]+)$/.exec(url.pathname);
      if (request.method === 'GET' && verify) {
        const transaction = transactions.get(decodeURIComponent(verify[1] ?? ''));
        if (!transaction) return send(response, 400, { status: false, message: 'Transaction reference not found' });
        return send(response, 200, {
          status: true,
          message: 'Verification successful',
          data: {
            id: transaction.id,
            domain: 'test',
            status: transaction.status,
            reference: transaction.reference,
            amount: transaction.amount,
            message: null,
            gateway_response: transaction.gateway_response,
            paid_at: transaction.paid_at,
            created_at: transaction.created_at,
            channel: 'card',
            currency: transaction.currency,
            metadata: transaction.metadata,
            authorization: authorizationOf(transaction),
            customer: { id: 1, email: transaction.email, customer_code: 'CUS_loopback' },
            requested_amount: transaction.amount,
            plan: transaction.plan ?? null,
          },
        });
      }
      if (request.method === 'GET' && url.pathname === '/refund') {
        // List refunds, optionally of one transaction (its numeric id), newest first.
        const of = url.searchParams.get('transaction');
        const ids = new Map([...transactions.values()].map((t) => [t.reference, t.id]));
        const listed = refunds.filter((r) => of === null || String(ids.get(r.transaction)) === of).reverse();
        return send(response, 200, {
          status: true,
          message: 'Refunds retrieved',
          data: listed.map((r) => ({
            id: r.id,
            transaction: ids.get(r.transaction),
            amount: r.amount,
            currency: r.currency,
            status: r.status,
            merchant_note: r.merchant_note,
            domain: 'test',
          })),
          meta: { total: listed.length, skipped: 0, perPage: 50, page: 1, pageCount: 1 },
        });
      }
      if (request.method === 'POST' && url.pathname === '/refund') {
        const body = await readJson(request);
        const key = String(body.transaction ?? '');
        const transaction = transactions.get(key) ?? [...transactions.values()].find((t) => String(t.id) === key);
        if (!transaction) return send(response, 404, { status: false, message: 'Transaction not found' });
        if (transaction.status !== 'success' && transaction.status !== 'reversed')
          return send(response, 400, { status: false, message: 'Cannot refund a transaction that was not successful' });
        const refunded = refunds.filter((r) => r.transaction === transaction.reference).reduce((sum, r) => sum + r.amount, 0);
        const amount = body.amount === undefined ? transaction.amount - refunded : Number(body.amount);
        if (!Number.isInteger(amount) || amount <= 0 || refunded + amount > transaction.amount)
          return send(response, 400, { status: false, message: 'Refund amount cannot be greater than transaction amount' });
        const refund: LoopbackRefund = {
          id: nextId++,
          transaction: transaction.reference,
          merchant_note: typeof body.merchant_note === 'string' ? body.merchant_note : null,
          amount,
          currency: transaction.currency,
          status: 'pending',
        };
        refunds.push(refund);
        if (refunded + amount === transaction.amount) transaction.status = 'reversed';
        return send(response, 200, {
          status: true,
          message: 'Refund has been queued for processing',
          data: {
            transaction: {
              id: transaction.id,
              reference: transaction.reference,
              amount: transaction.amount,
              currency: transaction.currency,
            },
            integration: 1,
            deducted_amount: 0,
            channel: null,
            merchant_note: body.merchant_note ?? null,
            customer_note: body.customer_note ?? null,
            status: refund.status,
            refunded_by: 'loopback',
            expected_at: new Date(Date.now() + 5 * 86_400_000).toISOString(),
            currency: refund.currency,
            domain: 'test',
            amount: refund.amount,
            fully_deducted: false,
            id: refund.id,
            createdAt: new Date().toISOString(),
          },
        });
      }
      return send(response, 404, { status: false, message: `No route ${request.method} ${url.pathname}` });
    })().catch((error: unknown) => send(response, 500, { status: false, message: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    secretKey,
    transactions,
    refunds,
    requests,
    plans,
    subscriptions,
    addSubscription(sub) {
      const made: LoopbackSubscription = {
        id: nextId++,
        subscription_code: `SUB_${randomBytes(7).toString('hex')}`,
        email_token: randomBytes(8).toString('hex'),
        status: 'active',
        next_payment_date: new Date(Date.now() + 30 * 86_400_000).toISOString(),
        ...sub,
      };
      subscriptions.set(made.subscription_code, made);
      return made;
    },
    get chargeOutcome() {
      return settings.chargeOutcome;
    },
    set chargeOutcome(outcome) {
      settings.chargeOutcome = outcome;
    },
    add,
    settle(reference, status, options = {}) {
      const transaction = transactions.get(reference);
      if (!transaction) throw new Error(`no loopback transaction ${reference}`);
      transaction.status = status;
      transaction.gateway_response = status === 'success' ? 'Successful' : status === 'failed' ? 'Declined' : 'Abandoned';
      if (options.amount !== undefined) transaction.amount = options.amount;
      if (status === 'success') transaction.paid_at = new Date().toISOString();
      return transaction;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A webhook body and its x-paystack-signature header (HMAC-SHA512 of the body with the secret key), as Paystack signs it. */
export function signedPaystackEvent(event: string, data: Record<string, unknown>, secretKey: string): { body: string; signature: string } {
  const body = JSON.stringify({ event, data });
  return { body, signature: createHmac('sha512', secretKey).update(body).digest('hex') };
}

/** The `charge.success` body Paystack sends for a settled transaction. */
export function chargeSuccess(transaction: LoopbackTransaction, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: transaction.id,
    domain: 'test',
    status: 'success',
    reference: transaction.reference,
    amount: transaction.amount,
    gateway_response: 'Successful',
    paid_at: transaction.paid_at ?? new Date().toISOString(),
    channel: 'card',
    currency: transaction.currency,
    metadata: transaction.metadata,
    customer: { id: 1, email: transaction.email, customer_code: 'CUS_loopback' },
    ...overrides,
  };
}
