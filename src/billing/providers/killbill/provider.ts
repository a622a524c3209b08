/**
 * The Kill Bill provider. Kill Bill issues the invoices and collects the payments; the platform
 * keeps its subscriptions in its own table and decides their states with the same engine as the
 * built-in provider (trials, dunning, cancellation, tenants suspended and resumed, mails, domain
 * events), with one difference: the engine's own `issue_invoice` and `collect_payment` effects
 * are dropped, and the invoices it waits for are Kill Bill's, mirrored under `killbill:<id>`.
 *
 * Two durable jobs connect the two: `killbill-sync` makes Kill Bill match one of our
 * subscriptions (created, plan changed, cancelled, cancellation undone), and
 * `killbill-notification` applies one of Kill Bill's push notifications after re-reading the
 * invoice it names (notifications are unsigned hints; the callback URL carries a secret).
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Database, Db } from '../../../db/index.js';
import { ConflictError, NotFoundError, ValidationError } from '../../../errors/index.js';
import type { JobQueue } from '../../../jobs/index.js';
import type { Logger } from '../../../logging/index.js';
import type { Plan } from '../../../plans/index.js';
import { decide, startSubscription, trialDaysOf } from '../../engine.js';
import type { BillingEffect, BillingEvent, Decision, Subscription } from '../../subscription.js';
import { applyEffects, publishInvoice, type TenantControl } from '../builtin/effects.js';
import { type BuiltinBilling, priceOf, type SubscribeInput } from '../builtin/provider.js';
import {
  accountHadTrial,
  closeInvoice,
  insertSubscription,
  invoiceByKey,
  issueInvoice,
  lockAccount,
  lockSubscription,
  reopenInvoice,
  saveSubscription,
  subscriptionById,
  toSubscription,
} from '../builtin/store.js';
import { sweepDueSubscriptions } from '../builtin/sweep.js';
import { type CatalogPlan, catalogHasPlans, killbillCatalogXml, killbillPlanName, planOfKillbillName } from './catalog.js';
import {
  KillbillApiError,
  type KillbillClient,
  type KillbillInvoice,
  type KillbillInvoicePayment,
  type KillbillNotification,
} from './client.js';
import { handlingOf, mirrorDraft, notificationKey, paymentResults, subscriptionIdsOf } from './notifications.js';
import { killbillOverdueXml } from './overdue.js';
import {
  insertLink,
  insertNotification,
  linkOf,
  lockNotification,
  markNotificationProcessed,
  notificationByKey,
  saveLink,
  subscriptionOfKillbill,
} from './store.js';

export interface KillbillBillingDeps {
  db: Db;
  clock: () => Date;
  client: KillbillClient;
  /** The built-in provider: its payments recording, refunds and reads are shared. */
  builtin: BuiltinBilling;
  plans: { get(code: string, executor?: Db): Promise<Plan> };
  jobs: Pick<JobQueue, 'send'>;
  tenants: TenantControl;
  /** Name and e-mail of an account, for its Kill Bill account. */
  contactOf: (accountId: string) => Promise<{ name: string; email: string | null }>;
  /** The plugin of new Kill Bill accounts' default payment method (none: Kill Bill invoices but charges nothing). */
  paymentPlugin: string | undefined;
  /** Derives the callback URL's secret (the platform's SECRET_KEY); never sent anywhere but in that URL. */
  secretKey: string;
  logger: Logger;
}

/** Invoices and collections are Kill Bill's: the engine's own are dropped (see the file comment). */
function withoutOwnInvoicing(decision: Extract<Decision, { ok: true }>): { subscription: Subscription; effects: BillingEffect[] } {
  return {
    subscription: {
      ...decision.subscription,
      unpaidInvoices: decision.subscription.unpaidInvoices.filter((key) => key.startsWith('killbill:')),
    },
    effects: decision.effects.filter((effect) => effect.type !== 'issue_invoice' && effect.type !== 'collect_payment'),
  };
}

/** Events of ours that Kill Bill must hear of. */
const SYNCED_EVENTS = new Set<BillingEvent['type']>(['change_plan', 'cancel', 'undo_cancel', 'reactivate']);

export type KillbillBilling = ReturnType<typeof createKillbillBilling>;

export function createKillbillBilling(deps: KillbillBillingDeps) {
  const { db, clock, client, builtin } = deps;
  const callbackSecret = createHmac('sha256', deps.secretKey).update('killbill-notification-callback').digest('hex');

  async function queueSync(trx: Transaction<Database>, subscriptionId: string): Promise<void> {
    await deps.jobs.send('killbill-sync', { subscriptionId }, { transaction: trx, key: subscriptionId });
  }

  /** The built-in provider's act, with Kill Bill doing the invoicing and hearing of changes. */
  async function act(subscriptionId: string, event: BillingEvent, trx?: Transaction<Database>): Promise<Subscription> {
    const run = async (t: Transaction<Database>) => {
      const row = await lockSubscription(t, subscriptionId);
      if (!row) throw new NotFoundError('Subscription', { field: 'subscription' });
      const before = toSubscription(row);
      const now = clock();
      const decision = decide(before, event, now);
      if (!decision.ok) {
        // The same refusals as the built-in provider, with the same status codes.
        return builtin.act(subscriptionId, event, t);
      }
      if (!decision.changed) return before;
      const { subscription, effects } = withoutOwnInvoicing(decision);
      await saveSubscription(t, subscription, now);
      await applyEffects(
        { trx: t, now, before, after: subscription, tenantId: row.tenant_id, jobs: deps.jobs, tenants: deps.tenants },
        effects,
      );
      // A scheduled downgrade takes effect on a tick (the end of the period): Kill Bill hears of every price change.
      const priceChanged = before.price.plan !== subscription.price.plan || before.price.interval !== subscription.price.interval;
      if ((SYNCED_EVENTS.has(event.type) || priceChanged) && (await linkOf(t, subscriptionId))) await queueSync(t, subscriptionId);
      return subscription;
    };
    return trx ? run(trx) : db.transaction().execute(run);
  }

  async function subscribe(input: SubscribeInput, trx?: Transaction<Database>): Promise<Subscription> {
    const run = async (t: Transaction<Database>) => {
      const plan = await deps.plans.get(input.plan, t).catch(() => {
        throw new ValidationError(`Plan ${input.plan} does not exist; see GET /api/v1/plans.`, { field: 'plan' });
      });
      const price = priceOf(plan, input.interval);
      if (price.taxRateBasisPoints !== 0)
        throw new ValidationError(
          `Plan ${plan.code} has a tax rate, and Kill Bill (this platform's billing) adds no tax; please ask the operator.`,
          { field: 'plan' },
        );
      if (price.perUser || price.perStorageGiB)
        throw new ValidationError(
          `Plan ${plan.code} prices extra users or storage, and Kill Bill (this platform's billing) does not bill usage; please ask the operator.`,
          { field: 'plan' },
        );
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
      if (!decision.ok) return builtin.subscribe(input, t); // the same refusal, said the same way
      const { subscription, effects } = withoutOwnInvoicing(decision);
      await insertSubscription(t, subscription, { tenantId: input.tenantId, hadTrial: input.trial }).catch((error: { code?: string }) => {
        if (error.code === '23505')
          throw new ConflictError('This tenant already has a subscription; change its plan instead.', { field: 'tenant' });
        throw error;
      });
      await applyEffects(
        { trx: t, now, before: null, after: subscription, tenantId: input.tenantId, jobs: deps.jobs, tenants: deps.tenants },
        effects,
      );
      await insertLink(t, subscription.id, input.accountId);
      await queueSync(t, subscription.id);
      return subscription;
    };
    return trx ? run(trx) : db.transaction().execute(run);
  }

  /**
   * Makes Kill Bill match our subscription: its account (external key: our account id) and its
   * subscription (external key: our subscription id) created once, then plan and cancellation
   * carried over. Each step reads Kill Bill first, so a retry after a crash repeats nothing.
   */
  async function sync(subscriptionId: string): Promise<string> {
    const row = await subscriptionById(db, subscriptionId);
    const link = await linkOf(db, subscriptionId);
    if (!row || !link) return 'not a Kill Bill subscription';
    const sub = toSubscription(row);
    let accountId = link.killbill_account_id;
    if (!accountId) {
      const existing = await client.accountByExternalKey(sub.accountId);
      const contact = existing ? null : await deps.contactOf(sub.accountId);
      const account =
        existing ??
        (await client.createAccount({
          externalKey: sub.accountId,
          name: contact?.name ?? sub.accountId,
          email: contact?.email ?? null,
          currency: sub.price.currency,
        }));
      if (deps.paymentPlugin && !account.paymentMethodId) await client.addPaymentMethod(account.accountId, deps.paymentPlugin);
      accountId = account.accountId;
      await saveLink(db, subscriptionId, { killbillAccountId: accountId });
    }
    const planName = killbillPlanName(sub.price.plan, sub.price.interval);
    let killbillId = link.killbill_subscription_id;
    if (!killbillId) {
      const existing = await client.subscriptionByExternalKey(subscriptionId);
      const created =
        existing ??
        (await client.createSubscription({
          accountId,
          externalKey: subscriptionId,
          planName,
          ...(sub.state === 'trialing' ? {} : { phaseType: 'EVERGREEN' as const }),
        }));
      killbillId = created.subscriptionId;
      await saveLink(db, subscriptionId, { killbillSubscriptionId: killbillId });
    }
    const remote = await client.subscription(killbillId);
    const done: string[] = [];
    const ended = sub.state === 'cancelled' || sub.state === 'expired';
    if (!ended && remote.state !== 'CANCELLED' && remote.planName !== planName) {
      await client.changePlan(killbillId, planName);
      done.push(`plan ${planName}`);
    }
    const remoteCancelling = remote.cancelledDate !== null || remote.billingEndDate !== null;
    if (sub.cancelAtPeriodEnd && !remoteCancelling) {
      await client.cancelAtEndOfTerm(killbillId);
      done.push('cancelled at end of term');
    } else if (!sub.cancelAtPeriodEnd && !ended && remoteCancelling && remote.state !== 'CANCELLED') {
      await client.uncancel(killbillId);
      done.push('cancellation undone');
    }
    if (!ended && sub.planAwaitingPayment && !(await owedFor(accountId, killbillId))) {
      // Kill Bill billed the change at nothing (or from the account's credit), or not at all:
      // no paid invoice will ever come for the upgrade to wait for, so it goes through now. The
      // change above waited for Kill Bill's invoicing of it (callCompletion), so an invoice that
      // is owed is seen here, and a retry of this job finds the same answer.
      if (await db.transaction().execute((trx) => releaseAwaitedPlan(trx, subscriptionId)))
        done.push('plan change applied: nothing owed for it');
    }
    await saveLink(db, subscriptionId, { syncedAt: clock() });
    return done.length > 0 ? done.join(', ') : 'in sync';
  }

  /** Whether Kill Bill holds an invoice of this subscription that is still to be paid. */
  async function owedFor(killbillAccountId: string, killbillSubscriptionId: string): Promise<boolean> {
    const invoices = await client.accountInvoices(killbillAccountId);
    return invoices.some(
      (invoice) =>
        invoice.status === 'COMMITTED' &&
        invoice.balance > 0 &&
        (invoice.items ?? []).some((item) => item.subscriptionId === killbillSubscriptionId),
    );
  }

  /**
   * An upgrade waiting for a payment that nothing is owed for: the tenant's live plan change is
   * queued, as a paid invoice would have (the engine's paymentSucceeded). Only when we wait for
   * no invoice at all (an open mirror is paid through its notification), and only once: the
   * mark is cleared in the same transaction.
   */
  async function releaseAwaitedPlan(trx: Transaction<Database>, subscriptionId: string): Promise<boolean> {
    const row = await lockSubscription(trx, subscriptionId);
    if (!row) return false;
    const before = toSubscription(row);
    if (!before.planAwaitingPayment || before.unpaidInvoices.length > 0) return false;
    const after: Subscription = { ...before, planAwaitingPayment: null };
    const now = clock();
    await saveSubscription(trx, after, now);
    await applyEffects({ trx, now, before, after, tenantId: row.tenant_id, jobs: deps.jobs, tenants: deps.tenants }, [
      { type: 'tenants', action: 'apply_plan', plan: after.price.plan },
    ]);
    return true;
  }

  /**
   * One of Kill Bill's push notifications, from the callback URL. The secret in the URL is
   * checked in constant time (Kill Bill signs nothing); the notification is kept once and its
   * processing queued in the same transaction. A redelivery answers `duplicate: true`.
   */
  async function receiveNotification(secret: string, body: unknown): Promise<{ duplicate: boolean; key: string }> {
    const given = Buffer.from(secret);
    const expected = Buffer.from(callbackSecret);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new NotFoundError('Kill Bill callback');
    const notification = parseNotification(body);
    const key = notificationKey(notification);
    return db.transaction().execute(async (trx) => {
      const fresh = await insertNotification(trx, key, notification);
      if (fresh) await deps.jobs.send('killbill-notification', { key }, { transaction: trx });
      return { duplicate: !fresh, key };
    });
  }

  /**
   * Applies a kept notification exactly once: the invoice it names is read back from Kill Bill
   * (outside the transaction: no row lock over the network), then mirrored, its payments recorded
   * through the engine and the notification marked processed, in one transaction.
   */
  async function processNotification(key: string): Promise<string> {
    const kept = await notificationByKey(db, key);
    if (!kept) return 'unknown notification';
    if (kept.processed_at) return kept.outcome ?? 'processed';
    let invoice: KillbillInvoice | null = null;
    let payments: KillbillInvoicePayment[] = [];
    if (handlingOf({ eventType: kept.event_type, objectType: kept.object_type }) === 'invoice' && kept.object_id) {
      try {
        invoice = await client.invoice(kept.object_id);
        payments = await client.invoicePayments(kept.object_id);
      } catch (error) {
        // An invoice of another tenant's key or one deleted since: nothing to apply, kept with the reason.
        if (!(error instanceof KillbillApiError) || error.status !== 404) throw error;
      }
    }
    return db.transaction().execute(async (trx) => {
      const row = await lockNotification(trx, key);
      if (!row) return 'unknown notification';
      if (row.processed_at) return row.outcome ?? 'processed';
      const outcome = invoice ? await applyInvoice(trx, invoice, payments) : 'acknowledged';
      await markNotificationProcessed(trx, key, outcome, clock());
      return outcome;
    });
  }

  /** Kill Bill's word on one invoice, applied: mirrored, its settled payments recorded, and owed again if Kill Bill says so. */
  async function applyInvoice(trx: Transaction<Database>, invoice: KillbillInvoice, payments: KillbillInvoicePayment[]): Promise<string> {
    const subscriptionId = await subscriptionOfKillbill(trx, subscriptionIdsOf(invoice));
    if (!subscriptionId) return 'not an invoice of ours';
    const row = await lockSubscription(trx, subscriptionId);
    if (!row) return 'not an invoice of ours';
    let sub = toSubscription(row);
    const draft = mirrorDraft(invoice, sub);
    if (!draft) {
      // A zero invoice: if it bills the plan an upgrade waits for, that upgrade owes nothing.
      const awaited = sub.planAwaitingPayment;
      const ofAwaited =
        awaited !== null && (invoice.items ?? []).some((item) => item.planName && planOfKillbillName(item.planName)?.plan === awaited);
      if (ofAwaited && (await releaseAwaitedPlan(trx, subscriptionId))) return 'nothing billed; plan change applied';
      return 'nothing billed';
    }
    const now = clock();
    const issued = await issueInvoice(trx, draft, now);
    if (issued.created) await publishInvoice(trx, issued.invoice);
    const owed = invoice.status === 'COMMITTED' && invoice.balance > 0;
    // The engine waits for the invoices it knows: an open mirror joins them (bookkeeping, no state change).
    const adopt = async () => {
      if (sub.unpaidInvoices.includes(draft.key)) return;
      sub = { ...sub, unpaidInvoices: [...sub.unpaidInvoices, draft.key] };
      await saveSubscription(trx, sub, now);
    };
    if (issued.invoice.status === 'open') await adopt();
    const results = paymentResults(payments);
    const recorded: string[] = [];
    for (const result of results) {
      const report = await builtin.recordPayment(
        {
          invoiceId: issued.invoice.id,
          gateway: 'killbill',
          // A transaction's status can change in Kill Bill (a reversal, a pending one settled): each status is news.
          reference: `${result.reference}:${result.status}`,
          status: result.status,
          amountMinor: result.amountMinor,
          currency: result.currency,
          failureReason: result.failureReason,
        },
        trx,
      );
      if (!report.duplicate) recorded.push(result.status);
      sub = toSubscription((await lockSubscription(trx, subscriptionId)) ?? row);
    }
    const last = results.at(-1);
    const mirror = await invoiceByKey(trx, draft.key);
    if (owed && mirror?.status === 'paid' && last?.status === 'failed') {
      // Paid, then reversed in Kill Bill: owed again, and the failure is the engine's to act on.
      const reopened = await reopenInvoice(trx, draft.key);
      if (reopened) await publishInvoice(trx, reopened);
      await adopt();
      await act(subscriptionId, { type: 'payment_failed', invoiceKey: draft.key, reason: last.failureReason ?? 'payment reversed' }, trx);
      recorded.push('reversed');
    }
    const settled = await invoiceByKey(trx, draft.key);
    if (invoice.status === 'COMMITTED' && invoice.balance <= 0 && results.length === 0 && settled?.status === 'open') {
      // Nothing owed and no payment taken: Kill Bill paid it from the account's credit (or its
      // lines cancel out). Settled as paid, and what waited for it (an upgrade) goes through.
      const closed = await closeInvoice(trx, draft.key, 'paid', now);
      if (closed) await publishInvoice(trx, closed);
      await act(subscriptionId, { type: 'payment_succeeded', invoiceKey: draft.key }, trx);
      recorded.push('settled without a payment');
    }
    const state = toSubscription((await lockSubscription(trx, subscriptionId)) ?? row).state;
    return `invoice ${issued.invoice.number}${issued.created ? ' mirrored' : ''}${recorded.length ? `, payments ${recorded.join(', ')}` : ''}; subscription ${state}`;
  }

  /** The billing clocks, as the built-in sweep but through this provider's act (no own invoicing). */
  function sweep(): Promise<number> {
    return sweepDueSubscriptions({ db, clock, logger: deps.logger }, (id) => act(id, { type: 'tick' }));
  }

  /**
   * At start: our plans as Kill Bill's catalog (uploaded when Kill Bill lacks one of our plans or
   * prices), our dunning days as its overdue configuration, and this platform's callback URL
   * registered for the tenant.
   */
  async function setUp(options: { callbackBaseUrl: string; plans: CatalogPlan[] }): Promise<{ catalogUploaded: boolean }> {
    const xml = killbillCatalogXml(options.plans, { name: 'odoo-saas', effectiveDate: clock() });
    let current = '';
    try {
      current = await client.catalogXml();
    } catch (error) {
      if (!(error instanceof KillbillApiError) || error.status !== 404) throw error;
    }
    const missing = !catalogHasPlans(current, xml);
    if (missing) await client.uploadCatalogXml(xml);
    // Kill Bill keeps one overdue configuration per tenant: replacing it with the same one is harmless.
    await client.uploadOverdueXml(killbillOverdueXml());
    const url = callbackUrl(options.callbackBaseUrl);
    if ((await client.notificationCallback().catch(() => null)) !== url) await client.registerNotificationCallback(url);
    return { catalogUploaded: missing };
  }

  function callbackUrl(baseUrl: string): string {
    return `${baseUrl.replace(/\/$/, '')}/api/v1/billing/killbill/notifications/${callbackSecret}`;
  }

  return {
    ...builtin,
    act,
    subscribe,
    sweep,
    gatewayName: 'killbill',
    providerName: 'killbill' as const,
    /** Online payment is Kill Bill's (its payment plugins): there is no checkout page here. */
    async checkout(): Promise<{ url: string }> {
      throw new ConflictError('Payments are collected by Kill Bill on this platform; please contact the operator to pay this invoice.');
    },
    killbill: { sync, receiveNotification, processNotification, setUp, callbackUrl },
  };
}

function parseNotification(body: unknown): KillbillNotification {
  const value = (typeof body === 'string' ? JSON.parse(body) : body) as Partial<Record<keyof KillbillNotification, unknown>> | null;
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  if (!value || typeof value.eventType !== 'string' || typeof value.objectType !== 'string')
    throw new ValidationError('A Kill Bill notification has eventType and objectType.', { field: 'eventType' });
  return {
    eventType: value.eventType.slice(0, 64),
    objectType: value.objectType.slice(0, 64),
    objectId: text(value.objectId),
    accountId: text(value.accountId),
    metaData: text(value.metaData),
  };
}
