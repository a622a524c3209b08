/**
 * The built-in billing provider (the default): subscriptions, invoices and payments in the
 * platform's own database, decided by the pure engine. Every change follows one pattern: lock
 * the subscription row, decide with the clock's `now`, store the result and carry out its
 * effects in the same transaction (effects.ts).
 */

import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Database, Db } from '../../../db/index.js';
import { ConflictError, NotFoundError, ValidationError } from '../../../errors/index.js';
import { publishDomainEvents } from '../../../events/index.js';
import type { JobQueue } from '../../../jobs/index.js';
import type { Logger } from '../../../logging/index.js';
import type { Plan, PriceInterval } from '../../../plans/index.js';
import { decide, startSubscription, trialDaysOf } from '../../engine.js';
import { type GatewayEvent, type GatewayPayment, type PaymentGateway, WebhookRefusedError } from '../../gateways/index.js';
import {
  type BillingEvent,
  type BillingPrice,
  currentPeriod,
  type Decision,
  type RefusalCode,
  type Subscription,
} from '../../subscription.js';
import { periodUsage, type UsageMeter, type UsagePoint } from '../../usage-charges.js';
import { applyEffects, publishInvoice, type TenantControl } from './effects.js';
import { createRefunds, type RefundCrashPoint } from './refunds.js';
import { createRenewals, type RenewalCrashPoint, type Sealer } from './renewals.js';
import {
  accountHadTrial,
  closeInvoice,
  gatewayEvent,
  insertGatewayEvent,
  insertPayment,
  insertSubscription,
  invoiceById,
  lockAccount,
  lockGatewayEvent,
  lockSubscription,
  markGatewayEventProcessed,
  saveSubscription,
  subscriptionById,
  toSubscription,
} from './store.js';
import { sweepDueSubscriptions } from './sweep.js';

export interface BuiltinBillingDeps {
  db: Db;
  /** The billing clock: tests move it; production passes `() => new Date()`. */
  clock: () => Date;
  plans: { get(code: string, executor?: Db): Promise<Plan> };
  jobs: Pick<JobQueue, 'send'>;
  tenants: TenantControl;
  /** The installation's payment gateway (manual when none is configured). */
  gateway: PaymentGateway;
  logger: Logger;
  /** Seals saved payment authorizations at rest (the platform's secret box). */
  sealer: Sealer;
  /** The usage measurements of a tenant in [from, to) (usage/ keeps them): billable usage per period. */
  usage?: UsagePoints;
  /** Test-only fault injection: called at points of gateway event processing (kill -9 tests). */
  crashPoint?: (
    point: 'gateway-event:before-apply' | 'gateway-event:applied' | 'period:closed' | RefundCrashPoint | RenewalCrashPoint,
  ) => void;
}

/** Where billing reads a tenant's measured usage (usage/'s billablePoints). */
export interface UsagePoints {
  pointsOf(tenantId: string, from: Date, to: Date, executor: Db | Transaction<Database>): Promise<UsagePoint[]>;
}

export interface SubscribeInput {
  accountId: string;
  /** The tenant this subscription pays for (null: an account-level subscription). */
  tenantId: string | null;
  plan: string;
  interval: PriceInterval;
  /** Start with the plan's trial (once per account). */
  trial: boolean;
}

/** A payment as a gateway (or an operator) reports it. */
export interface PaymentReport {
  invoiceId: string;
  gateway: string;
  /** The gateway's own id of this payment attempt: a report is recorded once per (gateway, reference). */
  reference: string;
  status: 'succeeded' | 'failed';
  amountMinor: number;
  currency: string;
  failureReason?: string | undefined;
}

/** What each refusal of the engine means to the caller: all are conflicts with the current state. */
function refusalError(decision: Extract<Decision, { ok: false }>): Error {
  const field: Partial<Record<RefusalCode, string>> = { invalid_change: 'plan', invalid_input: 'days', trial_already_used: 'trial' };
  if (decision.code === 'invalid_input') return new ValidationError(decision.reason, { field: field.invalid_input ?? 'days' });
  return new ConflictError(decision.reason, {
    ...(field[decision.code] ? { field: field[decision.code] } : {}),
    details: { state: decision.state, code: decision.code },
  });
}

/** The plan's price for `interval`, as a subscription holds it; a clear 400 naming the field when there is none. */
export function priceOf(plan: Plan, interval: PriceInterval): BillingPrice {
  const price = plan.prices.find((p) => p.interval === interval);
  if (!price) {
    const offered = plan.prices.map((p) => p.interval).join(', ') || 'none: the plan is free and needs no subscription';
    throw new ValidationError(`Plan ${plan.code} has no ${interval}ly price (offered: ${offered}).`, { field: 'interval' });
  }
  return {
    plan: plan.code,
    interval,
    amountMinor: price.amountCents,
    currency: price.currency,
    taxRateBasisPoints: price.taxRateBasisPoints,
    ...(price.perUser ? { perUser: { included: price.perUser.included, amountMinor: price.perUser.amountCents } } : {}),
    ...(price.perStorageGiB
      ? { perStorageGiB: { included: price.perStorageGiB.included, amountMinor: price.perStorageGiB.amountCents } }
      : {}),
  };
}

export type BuiltinBilling = ReturnType<typeof createBuiltinBilling>;

export function createBuiltinBilling(deps: BuiltinBillingDeps) {
  const { db, clock } = deps;

  /** Locks, decides, stores and applies, in one transaction (the caller's when given). */
  async function act(subscriptionId: string, event: BillingEvent, trx?: Transaction<Database>): Promise<Subscription> {
    const run = async (t: Transaction<Database>) => {
      const row = await lockSubscription(t, subscriptionId);
      if (!row) throw new NotFoundError('Subscription', { field: 'subscription' });
      const before = toSubscription(row);
      const now = clock();
      const decision = decide(before, event, now, await meterOf(t, before, row.tenant_id, now, event));
      if (!decision.ok) throw refusalError(decision);
      if (!decision.changed) return before;
      await saveSubscription(t, decision.subscription, now);
      await applyEffects(
        { trx: t, now, before, after: decision.subscription, tenantId: row.tenant_id, jobs: deps.jobs, tenants: deps.tenants },
        decision.effects,
      );
      if (decision.effects.some((effect) => effect.type === 'record_usage')) deps.crashPoint?.('period:closed');
      return decision.subscription;
    };
    return trx ? run(trx) : db.transaction().execute(run);
  }

  /**
   * The meter of the periods that close by `now`, and of the period so far for a plan change (an
   * upgrade bills it at the old terms): the tenant's measurements since the current period began,
   * read once (and only then: most decisions close nothing and change no plan).
   */
  async function meterOf(
    trx: Transaction<Database> | Db,
    sub: Subscription,
    tenantId: string | null,
    now: Date,
    event: BillingEvent,
  ): Promise<UsageMeter | undefined> {
    const period = currentPeriod(sub);
    if (!deps.usage || !tenantId || sub.state !== 'active' || !period) return undefined;
    if (period.end > now && event.type !== 'change_plan') return undefined;
    const points = await deps.usage.pointsOf(tenantId, period.start, now, trx);
    return (closed) => periodUsage(points, closed);
  }

  const renewals = createRenewals({
    db,
    clock,
    gateway: deps.gateway,
    sealer: deps.sealer,
    logger: deps.logger,
    recordPayment: (report) => recordPayment(report),
    crashPoint: deps.crashPoint,
  });

  /** The price of `plan` per `interval`, for a plan change or a reactivation (400 naming the field). */
  async function priceFor(planCode: string, interval: PriceInterval): Promise<BillingPrice> {
    const plan = await deps.plans.get(planCode).catch(() => {
      throw new ValidationError(`Plan ${planCode} does not exist; see GET /api/v1/plans.`, { field: 'plan' });
    });
    if (plan.archived) throw new ValidationError(`Plan ${planCode} is no longer offered; see GET /api/v1/plans.`, { field: 'plan' });
    return priceOf(plan, interval);
  }

  const api = {
    act,
    priceFor,
    /** The installation's payment gateway (`manual`, `stripe`, `paystack`). */
    gatewayName: deps.gateway.name,
    /** Whether the gateway has a page to manage the saved payment method, and why not. */
    portalOffered: deps.gateway.portal !== undefined,
    noPortalReason: deps.gateway.noPortalReason,

    /**
     * What a plan change would do, decided but not stored: whether it applies now (an upgrade,
     * with the prorated invoice to pay) or at the end of the period.
     */
    async previewChange(
      subscriptionId: string,
      price: BillingPrice,
    ): Promise<{
      appliesAt: 'now' | 'period_end';
      invoice: { subtotalMinor: number; taxMinor: number; totalMinor: number; currency: string } | null;
    }> {
      const row = await subscriptionById(db, subscriptionId);
      if (!row) throw new NotFoundError('Subscription', { field: 'id' });
      const sub = toSubscription(row);
      const now = clock();
      const event: BillingEvent = { type: 'change_plan', price };
      // Metered as the change itself would be: the amount shown is the amount charged.
      const decision = decide(sub, event, now, await meterOf(db, sub, row.tenant_id, now, event));
      if (!decision.ok) throw refusalError(decision);
      const issued = decision.effects.find((e) => e.type === 'issue_invoice');
      const invoice = issued?.type === 'issue_invoice' ? issued.invoice : null;
      return {
        appliesAt: decision.subscription.price.plan === price.plan && decision.subscription.scheduledChange === null ? 'now' : 'period_end',
        invoice: invoice
          ? { subtotalMinor: invoice.subtotalMinor, taxMinor: invoice.taxMinor, totalMinor: invoice.totalMinor, currency: invoice.currency }
          : null,
      };
    },

    /**
     * A new subscription: a trial (refused with 409 when the account had one), or paid now
     * (pending payment: the first invoice is issued and its collection queued).
     */
    async subscribe(input: SubscribeInput, trx?: Transaction<Database>): Promise<Subscription> {
      const run = async (t: Transaction<Database>) => {
        const plan = await deps.plans.get(input.plan, t).catch(() => {
          throw new ValidationError(`Plan ${input.plan} does not exist; see GET /api/v1/plans.`, { field: 'plan' });
        });
        const price = priceOf(plan, input.interval);
        if (!(await lockAccount(t, input.accountId))) throw new ValidationError('No such account.', { field: 'accountId' });
        const now = clock();
        const decision = startSubscription({
          id: randomUUID(),
          accountId: input.accountId,
          price,
          now,
          trialDays: input.trial ? trialDaysOf(plan) : null,
          trialUsed: input.trial ? await accountHadTrial(t, input.accountId) : false,
        });
        if (!decision.ok) throw refusalError(decision);
        await insertSubscription(t, decision.subscription, { tenantId: input.tenantId, hadTrial: input.trial }).catch(
          (error: { code?: string }) => {
            // The unique index on live subscriptions per tenant (a concurrent request won).
            if (error.code === '23505')
              throw new ConflictError('This tenant already has a subscription; change its plan instead.', { field: 'tenant' });
            throw error;
          },
        );
        await applyEffects(
          { trx: t, now, before: null, after: decision.subscription, tenantId: input.tenantId, jobs: deps.jobs, tenants: deps.tenants },
          decision.effects,
        );
        return decision.subscription;
      };
      return trx ? run(trx) : db.transaction().execute(run);
    },

    /**
     * Records a payment report once per (gateway, reference) and tells the engine. A report
     * seen before answers `duplicate: true` and changes nothing, so webhook redeliveries and
     * retries are harmless.
     */
    recordPayment,

    /**
     * A gateway's webhook: verified on the raw body (a bad signature or a stale timestamp is a
     * 400, nothing kept), kept once per event id, and its processing queued in the same
     * transaction. A redelivered event answers `duplicate: true` and queues nothing.
     */
    async receiveWebhook(
      gatewayName: string,
      rawBody: Buffer,
      headers: Record<string, string | string[] | undefined>,
    ): Promise<{ duplicate: boolean; eventId: string }> {
      const { gateway } = deps;
      // Only the installation's gateway is listened to: another's endpoint does not exist here.
      if (gateway.name !== gatewayName || !gateway.verifyWebhook)
        throw new NotFoundError(`Webhooks of ${gatewayName} (this platform's payment gateway is ${gateway.name})`);
      let event: GatewayEvent;
      try {
        event = gateway.verifyWebhook(rawBody, headers);
      } catch (error) {
        if (error instanceof WebhookRefusedError) throw new ValidationError(error.message, { field: 'signature' });
        throw error;
      }
      return db.transaction().execute(async (trx) => {
        const fresh = await insertGatewayEvent(trx, { gateway: gateway.name, ...event });
        if (fresh) await deps.jobs.send('billing-gateway-event', { gateway: gateway.name, eventId: event.id }, { transaction: trx });
        return { duplicate: !fresh, eventId: event.id };
      });
    },

    /**
     * Applies a kept gateway event exactly once. What the event reports is worked out first,
     * outside the transaction (a gateway may read it back from its API: no row lock is held over
     * the network); then the event row is locked, the payment recorded and the row marked
     * processed in one transaction. A crash anywhere rolls that back and the job's retry applies
     * it; a processed event is skipped. A gateway that cannot be reached fails the job, retried.
     */
    async processGatewayEvent(gatewayName: string, eventId: string): Promise<string> {
      const { gateway } = deps;
      const kept = await gatewayEvent(db, gatewayName, eventId);
      if (!kept) return 'unknown event';
      if (kept.processed_at) return kept.outcome ?? 'processed';
      let payment: GatewayPayment | null = null;
      let refusal: string | null = null;
      let note: string | null = null;
      if (gatewayName === gateway.name && gateway.paymentOf) {
        try {
          const event = { id: kept.event_id, type: kept.type, payload: kept.payload };
          payment = await gateway.paymentOf(event);
          if (!payment && gateway.noteOf) note = await gateway.noteOf(event);
        } catch (error) {
          if (!(error instanceof WebhookRefusedError)) throw error;
          refusal = `refused: ${error.message}`;
        }
      }
      return db.transaction().execute(async (trx) => {
        const row = await lockGatewayEvent(trx, gatewayName, eventId);
        if (!row) return 'unknown event';
        if (row.processed_at) return row.outcome ?? 'processed';
        let outcome = refusal ?? (note ? `nothing to apply: ${note}` : 'nothing to apply');
        if (payment) {
          const invoice = await invoiceById(trx, payment.invoiceId);
          if (!invoice) outcome = `no invoice ${payment.invoiceId}`;
          else {
            deps.crashPoint?.('gateway-event:before-apply');
            try {
              const result = await recordPayment({ ...payment, gateway: gatewayName }, trx);
              outcome = result.duplicate ? 'payment already recorded' : `payment ${payment.status}`;
              // The card of a verified payment charges the renewals (renewals.ts).
              if (!result.duplicate && payment.status === 'succeeded' && payment.savedMethod)
                await renewals.saveMethod(trx, invoice.account_id, gatewayName, payment.savedMethod);
            } catch (error) {
              // A report that can never apply (another amount or currency): kept with the reason
              // for an operator, not retried forever. recordPayment checks before it writes.
              if (!(error instanceof ValidationError)) throw error;
              outcome = `refused: ${error.message}`;
            }
          }
        }
        await markGatewayEventProcessed(trx, gatewayName, eventId, outcome, clock());
        deps.crashPoint?.('gateway-event:applied');
        return outcome;
      });
    },

    /** A hosted checkout page for an open invoice (the gateway's; 409 when it has none or the invoice is not open). */
    async checkout(invoiceId: string, urls: { successUrl: string; cancelUrl: string; email: string | null }): Promise<{ url: string }> {
      const { gateway } = deps;
      const invoice = await invoiceById(db, invoiceId);
      if (!invoice) throw new NotFoundError('Invoice', { field: 'id' });
      if (invoice.status !== 'open') throw new ConflictError(`Invoice ${invoice.number} is ${invoice.status}: there is nothing to pay.`);
      if (!gateway.checkout)
        throw new ConflictError('Online payment is not set up on this platform; please pay by bank transfer and contact the operator.');
      const session = await gateway.checkout({
        invoiceId: invoice.id,
        invoiceNumber: invoice.number,
        accountId: invoice.account_id,
        amountMinor: invoice.total_minor,
        currency: invoice.currency,
        ...urls,
      });
      return { url: session.url };
    },
  };

  async function recordPayment(
    report: PaymentReport,
    outer?: Transaction<Database>,
  ): Promise<{ duplicate: boolean; subscription: Subscription | null }> {
    const invoice = await invoiceById(outer ?? db, report.invoiceId);
    if (!invoice) throw new NotFoundError(`Invoice ${report.invoiceId}`, { field: 'invoiceId' });
    if (report.currency !== invoice.currency)
      throw new ValidationError(`The invoice is in ${invoice.currency}, the payment in ${report.currency}.`, { field: 'currency' });
    if (report.status === 'succeeded' && report.amountMinor !== invoice.total_minor)
      throw new ValidationError(
        `The payment of ${report.amountMinor} does not match the invoice total of ${invoice.total_minor} (partial payments are not supported).`,
        { field: 'amountMinor' },
      );
    const run = async (trx: Transaction<Database>) => {
      const now = clock();
      const payment = await insertPayment(trx, {
        invoiceId: invoice.id,
        gateway: report.gateway,
        reference: report.reference,
        status: report.status,
        amountMinor: report.amountMinor,
        currency: report.currency,
        failureReason: report.failureReason ?? null,
        recordedAt: now,
      });
      if (!payment) return { duplicate: true, subscription: null };
      await publishDomainEvents(trx, {
        type: 'billing.payment_recorded',
        payload: {
          subscriptionId: invoice.subscription_id,
          accountId: invoice.account_id,
          invoiceId: invoice.id,
          paymentId: payment.id,
          status: report.status,
          gateway: report.gateway,
        },
      });
      if (report.status === 'succeeded') {
        const paid = await closeInvoice(trx, invoice.key, 'paid', now);
        if (paid) await publishInvoice(trx, paid);
      }
      const event: BillingEvent =
        report.status === 'succeeded'
          ? { type: 'payment_succeeded', invoiceKey: invoice.key }
          : { type: 'payment_failed', invoiceKey: invoice.key, ...(report.failureReason ? { reason: report.failureReason } : {}) };
      return { duplicate: false, subscription: await act(invoice.subscription_id, event, trx) };
    };
    return outer ? run(outer) : db.transaction().execute(run);
  }

  return {
    ...api,

    /** Renewals charged to saved payment methods (renewals.ts). */
    renewals,

    /** Refunds of paid invoices and their credit notes (refunds.ts). */
    refunds: createRefunds({ db, clock, jobs: deps.jobs, gateway: deps.gateway, crashPoint: deps.crashPoint }),

    /**
     * The billing clocks: every subscription with a due timer is ticked, each in its own
     * transaction. Answers how many were ticked. Run by the `billing-sweep` job every minute.
     */
    sweep: () => sweepDueSubscriptions({ db, clock, logger: deps.logger }, (id) => act(id, { type: 'tick' })),
  };
}
