/**
 * A thin typed client of Kill Bill's REST API (1.0/kb): basic auth plus the tenant's
 * X-Killbill-ApiKey / X-Killbill-ApiSecret on every call, X-Killbill-CreatedBy on writes, and the
 * `Location` of a 201 followed to read back what was created (Kill Bill answers creations with
 * an empty body). Only what the provider uses is typed; Kill Bill sends more.
 */

export interface KillbillCredentials {
  url: string;
  username: string;
  password: string;
  apiKey: string;
  apiSecret: string;
}

export interface KillbillAccount {
  accountId: string;
  externalKey: string | null;
  name: string | null;
  email: string | null;
  currency: string;
  paymentMethodId: string | null;
}

export interface KillbillSubscription {
  subscriptionId: string;
  accountId: string;
  bundleId: string;
  externalKey: string | null;
  planName: string;
  phaseType: 'TRIAL' | 'DISCOUNT' | 'FIXEDTERM' | 'EVERGREEN';
  state: 'PENDING' | 'ACTIVE' | 'BLOCKED' | 'CANCELLED' | 'EXPIRED';
  startDate: string;
  chargedThroughDate: string | null;
  cancelledDate: string | null;
  billingEndDate: string | null;
}

export interface KillbillInvoiceItem {
  invoiceItemId: string;
  subscriptionId: string | null;
  planName: string | null;
  phaseName: string | null;
  itemType: string;
  description: string | null;
  startDate: string | null;
  endDate: string | null;
  amount: number;
  currency: string;
}

export interface KillbillInvoice {
  invoiceId: string;
  accountId: string;
  invoiceNumber: string;
  invoiceDate: string;
  status: 'DRAFT' | 'COMMITTED' | 'VOID';
  amount: number;
  balance: number;
  currency: string;
  items: KillbillInvoiceItem[] | null;
}

export interface KillbillPaymentTransaction {
  transactionId: string;
  transactionType: string;
  amount: number;
  currency: string;
  effectiveDate: string;
  status: 'SUCCESS' | 'UNKNOWN' | 'PENDING' | 'PAYMENT_FAILURE' | 'PLUGIN_FAILURE' | 'PAYMENT_SYSTEM_OFF';
  gatewayErrorMsg: string | null;
}

export interface KillbillInvoicePayment {
  paymentId: string;
  targetInvoiceId: string | null;
  accountId: string;
  currency: string;
  purchasedAmount: number;
  transactions: KillbillPaymentTransaction[];
}

/** What Kill Bill pushes to a registered callback (an unsigned hint: the provider re-reads the object). */
export interface KillbillNotification {
  eventType: string;
  objectType: string;
  objectId: string | null;
  accountId: string | null;
  metaData: string | null;
}

/** Kill Bill answered with an error; `status` is its HTTP status, `message` its own words. */
export class KillbillApiError extends Error {
  constructor(
    readonly status: number,
    readonly operation: string,
    message: string,
  ) {
    super(`Kill Bill refused ${operation} (HTTP ${status}): ${message}`);
  }
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export type KillbillClient = ReturnType<typeof createKillbillClient>;

export function createKillbillClient(credentials: KillbillCredentials, options: { createdBy?: string; timeoutMs?: number } = {}) {
  const base = credentials.url.replace(/\/$/, '');
  const authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  const createdBy = options.createdBy ?? 'odoo-saas';

  async function call(
    operation: string,
    method: Method,
    path: string,
    body?: { json: unknown } | { xml: string },
    tenant = true,
    accept = 'application/json',
  ): Promise<Response> {
    const headers: Record<string, string> = { authorization, accept };
    if (tenant) {
      headers['x-killbill-apikey'] = credentials.apiKey;
      headers['x-killbill-apisecret'] = credentials.apiSecret;
    }
    if (method !== 'GET') headers['x-killbill-createdby'] = createdBy;
    let payload: string | undefined;
    if (body && 'json' in body) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.json);
    } else if (body) {
      headers['content-type'] = 'text/xml';
      payload = body.xml;
    }
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers,
        ...(payload !== undefined ? { body: payload } : {}),
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      throw new KillbillApiError(0, operation, `Kill Bill at ${base} cannot be reached (${(error as Error).message}); check KILLBILL_URL`);
    }
    if (response.status >= 400) {
      const text = await response.text();
      let message = text.slice(0, 300);
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? message;
      } catch {
        // Not JSON (a proxy's page, a 401 from Kill Bill's own filter): the text is the message.
      }
      if (response.status === 401)
        message =
          'unauthorized: check KILLBILL_USERNAME and KILLBILL_PASSWORD, and the tenant keys KILLBILL_API_KEY and KILLBILL_API_SECRET';
      throw new KillbillApiError(response.status, operation, message || response.statusText);
    }
    return response;
  }

  async function json<T>(operation: string, path: string): Promise<T> {
    return (await (await call(operation, 'GET', path)).json()) as T;
  }

  /** A creation: Kill Bill answers 201 with `Location`; the created object is read from there. */
  async function create<T>(operation: string, path: string, body: { json: unknown } | { xml: string }): Promise<T> {
    const response = await call(operation, 'POST', path, body);
    const location = response.headers.get('location');
    if (!location) throw new KillbillApiError(response.status, operation, 'no Location header in the answer');
    const located = new URL(location, base);
    return json<T>(operation, located.pathname + located.search);
  }

  return {
    /** A new tenant with its API key and secret (needs Kill Bill's administrator credentials). */
    async createTenant(apiKey: string, apiSecret: string): Promise<{ tenantId: string }> {
      const response = await call('tenant creation', 'POST', '/1.0/kb/tenants', { json: { apiKey, apiSecret } }, false);
      const tenantId = (response.headers.get('location') ?? '').split('/').pop() ?? '';
      return { tenantId };
    },
    async uploadCatalogXml(xml: string): Promise<void> {
      await call('catalog upload', 'POST', '/1.0/kb/catalog/xml', { xml });
    },
    async catalogXml(): Promise<string> {
      const response = await call('catalog read', 'GET', '/1.0/kb/catalog/xml', undefined, true, 'text/xml');
      return response.text();
    },
    async uploadOverdueXml(xml: string): Promise<void> {
      await call('overdue configuration upload', 'POST', '/1.0/kb/overdue/xml', { xml });
    },
    /** Kill Bill pushes every event of this tenant to `callbackUrl` from now on (one callback per tenant). */
    async registerNotificationCallback(callbackUrl: string): Promise<void> {
      await call(
        'notification callback registration',
        'POST',
        `/1.0/kb/tenants/registerNotificationCallback?cb=${encodeURIComponent(callbackUrl)}`,
      );
    },
    async notificationCallback(): Promise<string | null> {
      const response = await call('notification callback read', 'GET', '/1.0/kb/tenants/registerNotificationCallback');
      const config = (await response.json()) as { values?: string[] };
      return config.values?.[0] ?? null;
    },

    async accountByExternalKey(externalKey: string): Promise<KillbillAccount | null> {
      try {
        return await json<KillbillAccount>('account read', `/1.0/kb/accounts?externalKey=${encodeURIComponent(externalKey)}`);
      } catch (error) {
        if (error instanceof KillbillApiError && error.status === 404) return null;
        throw error;
      }
    },
    createAccount(input: { externalKey: string; name: string; email: string | null; currency: string }): Promise<KillbillAccount> {
      return create('account creation', '/1.0/kb/accounts', {
        json: { externalKey: input.externalKey, name: input.name, email: input.email, currency: input.currency },
      });
    },
    /** A payment method, made the account's default (the built-in `__EXTERNAL_PAYMENT__` records payments made elsewhere). */
    async addPaymentMethod(accountId: string, pluginName: string): Promise<{ paymentMethodId: string }> {
      const response = await call('payment method creation', 'POST', `/1.0/kb/accounts/${accountId}/paymentMethods?isDefault=true`, {
        json: { pluginName, pluginInfo: {} },
      });
      return { paymentMethodId: (response.headers.get('location') ?? '').split('/').pop() ?? '' };
    },

    createSubscription(input: {
      accountId: string;
      externalKey: string;
      planName: string;
      /** EVERGREEN skips the trial phase (a paid start). */
      phaseType?: 'EVERGREEN';
    }): Promise<KillbillSubscription> {
      return create('subscription creation', '/1.0/kb/subscriptions', {
        json: {
          accountId: input.accountId,
          // Kill Bill keys subscriptions and their bundles apart; the bundle's key is the one it
          // can be looked up by (subscriptionByExternalKey), so both carry ours.
          externalKey: input.externalKey,
          bundleExternalKey: input.externalKey,
          planName: input.planName,
          ...(input.phaseType ? { phaseType: input.phaseType } : {}),
        },
      });
    },
    /** The subscription made under `externalKey` (looked up by its bundle's key), or null. */
    async subscriptionByExternalKey(externalKey: string): Promise<KillbillSubscription | null> {
      try {
        const bundle = await json<{ subscriptions?: KillbillSubscription[] } | Array<{ subscriptions?: KillbillSubscription[] }>>(
          'bundle read',
          `/1.0/kb/bundles?externalKey=${encodeURIComponent(externalKey)}`,
        );
        const bundles = Array.isArray(bundle) ? bundle : [bundle];
        return bundles.flatMap((b) => b.subscriptions ?? [])[0] ?? null;
      } catch (error) {
        if (error instanceof KillbillApiError && error.status === 404) return null;
        throw error;
      }
    },
    subscription(subscriptionId: string): Promise<KillbillSubscription> {
      return json('subscription read', `/1.0/kb/subscriptions/${subscriptionId}`);
    },
    async changePlan(subscriptionId: string, planName: string): Promise<void> {
      // callCompletion: Kill Bill answers once it has invoiced the change, so what it bills for it
      // (or that it bills nothing) can be read right after.
      await call('plan change', 'PUT', `/1.0/kb/subscriptions/${subscriptionId}?callCompletion=true&callTimeoutSec=30`, {
        json: { planName },
      });
    },
    async cancelAtEndOfTerm(subscriptionId: string): Promise<void> {
      await call(
        'cancellation',
        'DELETE',
        `/1.0/kb/subscriptions/${subscriptionId}?entitlementPolicy=END_OF_TERM&billingPolicy=END_OF_TERM`,
      );
    },
    async uncancel(subscriptionId: string): Promise<void> {
      await call('cancellation undo', 'PUT', `/1.0/kb/subscriptions/${subscriptionId}/uncancel`);
    },

    invoice(invoiceId: string): Promise<KillbillInvoice> {
      return json('invoice read', `/1.0/kb/invoices/${invoiceId}?withItems=true`);
    },
    accountInvoices(accountId: string): Promise<KillbillInvoice[]> {
      return json('invoice list', `/1.0/kb/accounts/${accountId}/invoices?withItems=true`);
    },
    invoicePayments(invoiceId: string): Promise<KillbillInvoicePayment[]> {
      return json('invoice payments read', `/1.0/kb/invoices/${invoiceId}/payments`);
    },
  };
}
