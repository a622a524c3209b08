import { z } from 'zod';
import type { Principal } from '../../auth/index.js';
import {
  type BillingScope,
  billingOverviewSchema,
  creditNoteViewSchema,
  invoiceViewSchema,
  type KillbillBilling,
  subscriptionUsageSchema,
  subscriptionViewSchema,
} from '../../billing/index.js';
import { NotFoundError, ValidationError } from '../../errors/index.js';
import { PRICE_INTERVALS, planCodeSchema } from '../../plans/index.js';
import { type Api, principalOf, routeOptions } from '../route.js';
import { paginationQuery, uuidParam } from '../schemas.js';
import type { ApiDependencies } from '../server.js';

const idParams = z.object({ id: uuidParam }).strict();
const interval = z.enum(PRICE_INTERVALS);
const priceChoice = z.object({ plan: planCodeSchema, interval }).strict();

/** A customer sees its own account's billing; an operator every account's. */
function scopeOf(principal: Principal): BillingScope {
  return { accountId: principal.role === 'operator' ? null : (principal.accountId ?? '00000000-0000-0000-0000-000000000000') };
}

export function registerBillingRoutes(api: Api, deps: Pick<ApiDependencies, 'billing' | 'tenants' | 'config' | 'migrations'>): void {
  const tags = ['billing'];
  const { provider, reads } = deps.billing;

  /**
   * A plan the subscription's tenant does not fit (more active Odoo users or storage than the
   * plan allows) is refused when asked, before anything is charged or scheduled: a 409 naming
   * the limit and by how much, the same check as the live change that follows.
   */
  async function requireTenantFits(subscription: { tenantId: string | null; plan: string }, plan: string): Promise<void> {
    if (!subscription.tenantId || plan === subscription.plan) return;
    const tenant = await deps.tenants.rowById(subscription.tenantId);
    if (!tenant?.server_id || tenant.plan_code === plan) return; // no database yet: nothing used
    await deps.migrations.requirePlanFits(tenant, plan);
  }

  /** The subscription, if the caller may see it (another account's answers 404). */
  async function visible(principal: Principal, id: string) {
    return reads.subscription(scopeOf(principal), id);
  }

  // On /billing/subscriptions/{id}/... and /billing/invoices/{id}/..., another account's
  // subscription or invoice answers 404 before the body is even validated, so callers learn
  // nothing about what is not theirs.
  api.addHook('preValidation', async (request) => {
    const url = request.routeOptions.url ?? '';
    const id = (request.params as { id?: unknown } | undefined)?.id;
    if (!request.principal || request.principal.role === 'operator' || typeof id !== 'string' || !uuidParam.safeParse(id).success) return;
    if (url.includes('/billing/subscriptions/:id')) await visible(request.principal, id);
    if (url.includes('/billing/invoices/:id')) await reads.invoice(scopeOf(request.principal), id);
    if (url.includes('/billing/credit-notes/:id')) await reads.creditNote(scopeOf(request.principal), id);
  });

  api.get(
    '/billing/settings',
    routeOptions('user', {
      summary:
        "How this platform takes payments: its gateway, and whether customers can pay online (the dashboard's Create instance offers trial or pay-now for paid plans then)",
      tags,
      response: {
        200: z
          .object({ gateway: z.enum(['manual', 'stripe', 'paystack', 'killbill']), onlinePayment: z.boolean() })
          .meta({ id: 'BillingSettings' }),
      },
    }),
    async () => ({
      gateway: provider.gatewayName as 'manual' | 'stripe' | 'paystack' | 'killbill',
      // With Kill Bill, payments are taken by its own payment plugins: there is no checkout here.
      onlinePayment: provider.gatewayName !== 'manual' && provider.gatewayName !== 'killbill',
    }),
  );

  api.get(
    '/billing/overview',
    routeOptions('operator', {
      summary: 'Billing overview: subscriptions per state, MRR, churn, failed payments to look at',
      tags,
      response: { 200: billingOverviewSchema },
    }),
    async () => reads.overview(),
  );

  api.get(
    '/billing/subscriptions',
    routeOptions('user', {
      summary: "Subscriptions (customers: their account's; operators: all, or one account's)",
      tags,
      querystring: z.object({ accountId: uuidParam.optional() }).strict(),
      response: { 200: z.array(subscriptionViewSchema) },
    }),
    async (request) => reads.subscriptions(scopeOf(principalOf(request)), { accountId: request.query.accountId }),
  );

  api.post(
    '/billing/subscriptions',
    routeOptions('user', {
      summary: 'Subscribe (a trial once per account, or pay now: the tenant waits for the first payment)',
      tags,
      body: z
        .object({
          plan: planCodeSchema,
          interval,
          trial: z.boolean().default(false),
          tenant: z.string().min(1).max(63).optional().describe('the name of the tenant this subscription pays for'),
          accountId: uuidParam.optional().describe('operators: the account to subscribe (default: the tenant’s)'),
        })
        .strict(),
      response: { 201: subscriptionViewSchema },
    }),
    async (request, reply) => {
      const principal = principalOf(request);
      const tenant = request.body.tenant ? await deps.tenants.visibleRow(principal, request.body.tenant) : undefined;
      const accountId =
        principal.role === 'operator' ? (request.body.accountId ?? tenant?.account_id ?? principal.accountId) : principal.accountId;
      if (!accountId) throw new ValidationError('Name the account to subscribe (accountId) or its tenant.', { field: 'accountId' });
      if (tenant && tenant.account_id !== accountId)
        throw new ValidationError('The tenant belongs to another account.', { field: 'tenant' });
      const sub = await provider.subscribe({
        accountId,
        tenantId: tenant?.id ?? null,
        plan: request.body.plan,
        interval: request.body.interval,
        trial: request.body.trial,
      });
      request.auditTarget = { type: 'subscription', id: sub.id, accountId };
      return reply.code(201).send(await reads.subscription({ accountId: null }, sub.id));
    },
  );

  api.get(
    '/billing/subscriptions/:id',
    routeOptions('user', { summary: 'One subscription', tags, params: idParams, response: { 200: subscriptionViewSchema } }),
    async (request) => visible(principalOf(request), request.params.id),
  );

  api.get(
    '/billing/subscriptions/:id/usage',
    routeOptions('user', {
      summary:
        'Billable usage: the current period so far with the estimated extra charge, and the closed periods as billed (peak of daily maxima)',
      tags,
      params: idParams,
      response: { 200: subscriptionUsageSchema },
    }),
    async (request) => reads.usage(scopeOf(principalOf(request)), request.params.id),
  );

  api.post(
    '/billing/subscriptions/:id/change-preview',
    routeOptions('user', {
      summary: 'What changing the plan would cost now (upgrades: prorated) or whether it waits for the end of the period; changes nothing',
      tags,
      params: idParams,
      body: priceChoice,
      response: {
        200: z
          .object({
            appliesAt: z.enum(['now', 'period_end']),
            invoice: z
              .object({ subtotalMinor: z.number().int(), taxMinor: z.number().int(), totalMinor: z.number().int(), currency: z.string() })
              .nullable(),
          })
          .meta({ id: 'PlanChangePreview' }),
      },
    }),
    async (request) => {
      const subscription = await visible(principalOf(request), request.params.id);
      const price = await provider.priceFor(request.body.plan, request.body.interval);
      await requireTenantFits(subscription, price.plan);
      return provider.previewChange(request.params.id, price);
    },
  );

  const actions = [
    {
      path: 'change-plan',
      summary:
        "Change plan: upgrades now (prorated invoice; the tenant's live plan change starts once it is paid), downgrades at the end of the period. A plan the tenant's usage does not fit answers 409 naming the limit and by how much",
      body: priceChoice,
    },
    { path: 'cancel', summary: 'Cancel at the end of the current term' },
    { path: 'undo-cancel', summary: 'Keep renewing after a cancellation at the end of the term' },
    {
      path: 'reactivate',
      summary:
        "Reactivate an ended subscription (paid upfront; its tenants come back once paid, on the plan reactivated: the tenant's live plan change). A plan the tenant's usage does not fit answers 409 naming the limit",
      body: z.object({ plan: planCodeSchema, interval }).partial().strict(),
    },
  ] as const;
  for (const action of actions) {
    api.post(
      `/billing/subscriptions/:id/${action.path}`,
      routeOptions('user', {
        summary: action.summary,
        tags,
        params: idParams,
        ...('body' in action ? { body: action.body } : {}),
        response: { 200: subscriptionViewSchema },
      }),
      async (request) => {
        const principal = principalOf(request);
        const current = await visible(principal, request.params.id);
        const body = (request.body ?? {}) as { plan?: string; interval?: 'month' | 'year' };
        request.auditTarget = { type: 'subscription', id: current.id, accountId: current.accountId };
        if (action.path === 'change-plan' || (action.path === 'reactivate' && body.plan)) {
          const price = await provider.priceFor(body.plan ?? current.plan, body.interval ?? current.interval);
          // A reactivation onto another plan moves the tenant to it once paid, like an upgrade:
          // a plan the tenant does not fit is refused now, before anything is invoiced.
          await requireTenantFits(current, price.plan);
          await provider.act(current.id, action.path === 'change-plan' ? { type: 'change_plan', price } : { type: 'reactivate', price });
        } else {
          await provider.act(current.id, {
            type: action.path === 'cancel' ? 'cancel' : action.path === 'undo-cancel' ? 'undo_cancel' : 'reactivate',
          });
        }
        return visible(principal, current.id);
      },
    );
  }

  api.post(
    '/billing/subscriptions/:id/extend-trial',
    routeOptions('operator', {
      summary: 'Extend a trial by some days',
      tags,
      params: idParams,
      body: z.object({ days: z.number().int().min(1).max(365) }).strict(),
      response: { 200: subscriptionViewSchema },
    }),
    async (request) => {
      await provider.act(request.params.id, { type: 'extend_trial', days: request.body.days });
      return reads.subscription({ accountId: null }, request.params.id);
    },
  );

  api.get(
    '/billing/invoices',
    routeOptions('user', {
      summary: "Invoices, newest first (customers: their account's)",
      tags,
      querystring: paginationQuery.extend({ subscriptionId: uuidParam.optional(), accountId: uuidParam.optional() }).strict(),
      response: { 200: z.array(invoiceViewSchema) },
    }),
    async (request) => reads.invoices(scopeOf(principalOf(request)), request.query),
  );

  api.get(
    '/billing/invoices/:id',
    routeOptions('user', {
      summary: 'One invoice with its lines',
      tags,
      params: idParams,
      response: { 200: invoiceViewSchema.extend({ payments: z.array(z.object({ status: z.string(), gateway: z.string() })) }) },
    }),
    async (request) => reads.invoice(scopeOf(principalOf(request)), request.params.id),
  );

  api.get(
    '/billing/invoices/:id/pdf',
    routeOptions('user', { summary: 'The invoice as a PDF', tags, params: idParams }),
    async (request, reply) => {
      const { number, pdf } = await reads.invoicePdf(scopeOf(principalOf(request)), request.params.id);
      return reply.type('application/pdf').header('content-disposition', `attachment; filename="${number}.pdf"`).send(pdf);
    },
  );

  api.post(
    '/billing/invoices/:id/checkout',
    routeOptions('user', {
      summary: "Pay an open invoice online: answers the gateway's checkout page to send the customer to",
      tags,
      params: idParams,
      response: { 200: z.object({ url: z.string() }).meta({ id: 'Checkout' }) },
    }),
    async (request) => {
      const invoice = await reads.invoice(scopeOf(principalOf(request)), request.params.id);
      const back = new URL('/billing', deps.config.publicUrl);
      return provider.checkout(invoice.id, {
        successUrl: `${back.toString()}?paid=${encodeURIComponent(invoice.number)}`,
        cancelUrl: back.toString(),
        email: null,
      });
    },
  );

  /** The account a payment-method request is about: the customer's own, or the one an operator names. */
  function accountOf(principal: Principal, named: string | undefined): string {
    const accountId = principal.role === 'operator' ? named : principal.accountId;
    if (!accountId) throw new ValidationError('Name the account (accountId).', { field: 'accountId' });
    return accountId;
  }

  api.get(
    '/billing/payment-method',
    routeOptions('user', {
      summary: 'The payment method saved for renewals (no secret in it), and whether the gateway offers a page to manage it',
      tags,
      querystring: z.object({ accountId: uuidParam.optional().describe('operators: whose (without it: the gateway facts only)') }).strict(),
      response: {
        200: z
          .object({
            gateway: z.string(),
            saved: z.object({ label: z.string().nullable(), savedAt: z.string() }).nullable(),
            portal: z.boolean(),
            noPortalReason: z.string().nullable(),
          })
          .meta({ id: 'PaymentMethod' }),
      },
    }),
    async (request) => {
      const principal = principalOf(request);
      // An operator naming no account learns the gateway's facts only.
      const accountId = principal.role === 'operator' && !request.query.accountId ? null : accountOf(principal, request.query.accountId);
      const method = accountId ? await provider.renewals.methodOf(accountId) : null;
      return {
        gateway: provider.gatewayName,
        saved: method ? { label: method.label, savedAt: method.savedAt.toISOString() } : null,
        portal: provider.portalOffered,
        noPortalReason: provider.portalOffered ? null : (provider.noPortalReason ?? null),
      };
    },
  );

  api.post(
    '/billing/payment-method/portal',
    routeOptions('user', {
      summary:
        "A link to the gateway's page where the saved payment method is managed (Stripe's customer portal); 409 saying what to do instead when the gateway has none",
      tags,
      body: z.object({ accountId: uuidParam.optional().describe('operators: whose (to send the link to the customer)') }).strict(),
      response: { 200: z.object({ url: z.string() }).meta({ id: 'PaymentPortal' }) },
    }),
    async (request) =>
      provider.renewals.portal(
        accountOf(principalOf(request), request.body.accountId),
        new URL('/billing', deps.config.publicUrl).toString(),
      ),
  );

  // Gateway webhooks read the raw body: the signature is over the exact bytes sent.
  api.register(async (raw) => {
    raw.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    const receipt = z.object({ received: z.boolean(), duplicate: z.boolean() }).meta({ id: 'WebhookReceipt' });
    const hooks = [
      {
        name: 'stripe',
        summary: 'Stripe webhooks: verified with the Stripe-Signature header, kept once per event id, applied by a durable job',
      },
      {
        name: 'paystack',
        summary:
          'Paystack webhooks: verified with x-paystack-signature (HMAC-SHA512), kept once per event, re-read from Paystack and applied by a durable job',
      },
    ] as const;
    for (const hook of hooks)
      raw.post(
        `/billing/webhooks/${hook.name}`,
        routeOptions('public', { summary: hook.summary, tags, response: { 200: receipt } }),
        async (request) => {
          if (!Buffer.isBuffer(request.body)) throw new ValidationError('Send the event as the JSON body.', { field: 'body' });
          const { duplicate } = await provider.receiveWebhook(hook.name, request.body, request.headers);
          return { received: true, duplicate };
        },
      );
    // Kill Bill's push notifications (BILLING_PROVIDER=killbill): unsigned, so the URL carries a
    // secret (logs show the route pattern, never the URL); kept once, re-read by a durable job.
    raw.post(
      '/billing/killbill/notifications/:secret',
      routeOptions('public', {
        summary:
          "Kill Bill's push notifications: the callback URL's secret checked, kept once, re-read from Kill Bill and applied by a durable job",
        tags,
        params: z.object({ secret: z.string().min(1).max(200) }).strict(),
        response: { 200: receipt },
      }),
      async (request) => {
        const killbill = (provider as Partial<KillbillBilling>).killbill;
        if (!killbill) throw new NotFoundError('Kill Bill notifications (this platform bills with its built-in provider)');
        if (!Buffer.isBuffer(request.body)) throw new ValidationError('Send the notification as the JSON body.', { field: 'body' });
        let body: unknown;
        try {
          body = JSON.parse(request.body.toString('utf8'));
        } catch {
          throw new ValidationError('The notification is not JSON.', { field: 'body' });
        }
        const { duplicate } = await killbill.receiveNotification((request.params as { secret: string }).secret, body);
        return { received: true, duplicate };
      },
    );
  });

  api.post(
    '/billing/invoices/:id/mark-paid',
    routeOptions('operator', {
      summary: 'Record a payment made outside a gateway (bank transfer): the invoice is paid and the subscription restored',
      tags,
      params: idParams,
      body: z.object({ reference: z.string().trim().min(1).max(200).describe('the transfer reference, recorded once') }).strict(),
      response: { 200: invoiceViewSchema.extend({ payments: z.array(z.object({ status: z.string(), gateway: z.string() })) }) },
    }),
    async (request) => {
      const invoice = await reads.invoice({ accountId: null }, request.params.id);
      await provider.recordPayment({
        invoiceId: invoice.id,
        gateway: 'manual',
        reference: request.body.reference,
        status: 'succeeded',
        amountMinor: invoice.totalMinor,
        currency: invoice.currency,
      });
      return reads.invoice({ accountId: null }, invoice.id);
    },
  );

  api.post(
    '/billing/invoices/:id/refund',
    routeOptions('operator', {
      summary:
        'Refund a paid invoice, in full or in part, through the gateway that collected it: answers the credit note, issued once refunded (202)',
      tags,
      params: idParams,
      body: z
        .object({
          amountMinor: z
            .number()
            .int()
            .min(1)
            .optional()
            .describe("how much to refund, tax included, in the currency's minor unit (default: all that is left)"),
          reason: z.string().trim().min(1).max(500).describe('printed on the credit note'),
        })
        .strict(),
      response: { 202: creditNoteViewSchema },
    }),
    async (request, reply) => {
      const principal = principalOf(request);
      const invoice = await reads.invoice({ accountId: null }, request.params.id);
      const refund = await provider.refunds.request({
        invoiceId: invoice.id,
        amountMinor: request.body.amountMinor,
        reason: request.body.reason,
        requestedBy: principal.email,
      });
      request.auditTarget = { type: 'invoice', id: invoice.id, accountId: invoice.accountId };
      return reply.code(202).send(await reads.creditNote({ accountId: null }, refund.id));
    },
  );

  api.get(
    '/billing/credit-notes',
    routeOptions('user', {
      summary: "Credit notes (refunds), newest first (customers: their account's)",
      tags,
      querystring: paginationQuery.extend({ invoiceId: uuidParam.optional(), accountId: uuidParam.optional() }).strict(),
      response: { 200: z.array(creditNoteViewSchema) },
    }),
    async (request) => reads.creditNotes(scopeOf(principalOf(request)), request.query),
  );

  api.get(
    '/billing/credit-notes/:id',
    routeOptions('user', { summary: 'One credit note', tags, params: idParams, response: { 200: creditNoteViewSchema } }),
    async (request) => reads.creditNote(scopeOf(principalOf(request)), request.params.id),
  );

  api.get(
    '/billing/credit-notes/:id/pdf',
    routeOptions('user', { summary: 'The credit note as a PDF (409 until the refund is issued)', tags, params: idParams }),
    async (request, reply) => {
      const { number, pdf } = await reads.creditNotePdf(scopeOf(principalOf(request)), request.params.id);
      return reply.type('application/pdf').header('content-disposition', `attachment; filename="${number}.pdf"`).send(pdf);
    },
  );
}
