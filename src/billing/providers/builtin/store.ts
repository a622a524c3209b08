/**
 * The built-in provider's tables: the only module that reads or writes billing_subscriptions,
 * billing_invoices (+ lines and the per-year counters), billing_payments, billing_gateway_events,
 * billing_refunds (credit notes, + their per-year counters), billing_payment_methods and
 * billing_usage (the billable usage of each closed period).
 */
import { sql, type Transaction } from 'kysely';
import type {
  BillingInvoiceLineRow,
  BillingInvoiceRow,
  BillingRefundRow,
  BillingSubscriptionRow,
  BillingUsageRow,
  Database,
  Db,
} from '../../../db/index.js';
import { nextTimer } from '../../dunning.js';
import type { BillingPrice, InvoiceDraft, Subscription } from '../../subscription.js';
import type { PeriodUsageRecord } from '../../usage-charges.js';

export type Executor = Db | Transaction<Database>;

function toPrice(value: unknown): BillingPrice {
  const price = value as BillingPrice;
  return {
    plan: price.plan,
    interval: price.interval,
    amountMinor: price.amountMinor,
    currency: price.currency,
    taxRateBasisPoints: price.taxRateBasisPoints,
    // Prices stored before usage pricing have neither.
    ...(price.perUser ? { perUser: { included: price.perUser.included, amountMinor: price.perUser.amountMinor } } : {}),
    ...(price.perStorageGiB
      ? { perStorageGiB: { included: price.perStorageGiB.included, amountMinor: price.perStorageGiB.amountMinor } }
      : {}),
  };
}

export function toSubscription(row: BillingSubscriptionRow): Subscription {
  return {
    id: row.id,
    accountId: row.account_id,
    state: row.state,
    price: toPrice(row.price),
    createdAt: row.created_at,
    stateChangedAt: row.state_changed_at,
    trialEndsAt: row.trial_ends_at,
    trialReminderSent: row.trial_reminder_sent,
    anchor: row.anchor,
    periodNumber: row.period_number,
    cancelAtPeriodEnd: row.cancel_at_period_end,
    scheduledChange: row.scheduled_change ? toPrice(row.scheduled_change) : null,
    planAwaitingPayment: row.plan_awaiting_payment,
    usageFrom: row.usage_from,
    unpaidInvoices: row.unpaid_invoices,
    dunningStartedAt: row.dunning_started_at,
    dunningRetries: row.dunning_retries,
    endedAt: row.ended_at,
  };
}

/** The columns of a subscription, with when the sweep should next look at it. */
function columnsOf(sub: Subscription) {
  return {
    state: sub.state,
    plan_code: sub.price.plan,
    price: JSON.stringify(sub.price),
    scheduled_change: sub.scheduledChange ? JSON.stringify(sub.scheduledChange) : null,
    plan_awaiting_payment: sub.planAwaitingPayment,
    usage_from: sub.usageFrom ?? null,
    trial_ends_at: sub.trialEndsAt,
    trial_reminder_sent: sub.trialReminderSent,
    anchor: sub.anchor,
    period_number: sub.periodNumber,
    cancel_at_period_end: sub.cancelAtPeriodEnd,
    unpaid_invoices: sub.unpaidInvoices,
    dunning_started_at: sub.dunningStartedAt,
    dunning_retries: sub.dunningRetries,
    ended_at: sub.endedAt,
    state_changed_at: sub.stateChangedAt,
    next_timer_at: nextTimer(sub)?.at ?? null,
  };
}

/** Inserts a new subscription (its id was chosen before deciding: invoice keys are made from it). */
export async function insertSubscription(
  trx: Transaction<Database>,
  sub: Subscription,
  options: { tenantId: string | null; hadTrial: boolean },
): Promise<BillingSubscriptionRow> {
  return trx
    .insertInto('billing_subscriptions')
    .values({
      ...columnsOf(sub),
      id: sub.id,
      account_id: sub.accountId,
      tenant_id: options.tenantId,
      had_trial: options.hadTrial,
      created_at: sub.createdAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function saveSubscription(trx: Transaction<Database>, sub: Subscription, now: Date): Promise<void> {
  await trx
    .updateTable('billing_subscriptions')
    .set({ ...columnsOf(sub), updated_at: now })
    .where('id', '=', sub.id)
    .execute();
}

/** The row, locked until the transaction ends: one decision at a time per subscription. */
export async function lockSubscription(trx: Transaction<Database>, id: string): Promise<BillingSubscriptionRow | undefined> {
  return trx.selectFrom('billing_subscriptions').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

export async function subscriptionById(db: Executor, id: string): Promise<BillingSubscriptionRow | undefined> {
  return db.selectFrom('billing_subscriptions').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function subscriptionsOf(db: Executor, filter: { accountId?: string | undefined }): Promise<BillingSubscriptionRow[]> {
  let query = db.selectFrom('billing_subscriptions').selectAll().orderBy('created_at', 'desc');
  if (filter.accountId) query = query.where('account_id', '=', filter.accountId);
  return query.execute();
}

/** The subscription billing a tenant now (at most one is live per tenant: billing_subscriptions_live_tenant). */
export async function liveSubscriptionOfTenant(db: Executor, tenantId: string): Promise<BillingSubscriptionRow | undefined> {
  return db
    .selectFrom('billing_subscriptions')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('state', 'not in', ['cancelled', 'expired'])
    .executeTakeFirst();
}

/** Subscriptions with a timer due at `now` (renewal, trial end, dunning step, payment window). */
export async function dueSubscriptionIds(db: Executor, now: Date, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('billing_subscriptions')
    .select('id')
    .where('next_timer_at', '<=', now)
    .orderBy('next_timer_at')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

/**
 * Whether the account ever had a trial. The caller holds the account's row lock, so two
 * concurrent trial requests of one account are decided one after the other.
 */
export async function accountHadTrial(trx: Transaction<Database>, accountId: string): Promise<boolean> {
  const row = await trx
    .selectFrom('billing_subscriptions')
    .select('id')
    .where('account_id', '=', accountId)
    .where('had_trial', '=', true)
    .executeTakeFirst();
  return row !== undefined;
}

export async function lockAccount(trx: Transaction<Database>, accountId: string): Promise<boolean> {
  const row = await trx.selectFrom('accounts').select('id').where('id', '=', accountId).forNoKeyUpdate().executeTakeFirst();
  return row !== undefined;
}

// ----- invoices ---------------------------------------------------------------------------------

export function formatInvoiceNumber(year: number, sequence: number): string {
  return `INV-${year}-${String(sequence).padStart(6, '0')}`;
}

/**
 * The next number of `year`, gapless: the counter row is incremented in the caller's
 * transaction and stays locked until it ends, so the number is used exactly when the invoice
 * commits (a rollback gives it back) and concurrent issuers queue on the row. A sequence would
 * be faster and leave gaps; invoice numbers must not have any.
 */
async function nextInvoiceSequence(trx: Transaction<Database>, year: number): Promise<number> {
  const row = await trx
    .insertInto('billing_invoice_counters')
    .values({ year, last_number: 1 })
    .onConflict((oc) => oc.column('year').doUpdateSet({ last_number: sql`billing_invoice_counters.last_number + 1` }))
    .returning('last_number')
    .executeTakeFirstOrThrow();
  return row.last_number;
}

export interface StoredInvoice extends BillingInvoiceRow {
  lines: BillingInvoiceLineRow[];
}

/**
 * Issues the invoice a decision asked for, numbered, with its lines. Idempotent by key: the same
 * decision applied twice finds the invoice it issued the first time (and takes no number).
 */
export async function issueInvoice(
  trx: Transaction<Database>,
  draft: InvoiceDraft,
  issuedAt: Date,
): Promise<{ invoice: BillingInvoiceRow; created: boolean }> {
  const existing = await trx.selectFrom('billing_invoices').selectAll().where('key', '=', draft.key).executeTakeFirst();
  if (existing) return { invoice: existing, created: false };
  const year = issuedAt.getUTCFullYear();
  const sequence = await nextInvoiceSequence(trx, year);
  const invoice = await trx
    .insertInto('billing_invoices')
    .values({
      key: draft.key,
      number: formatInvoiceNumber(year, sequence),
      year,
      sequence,
      subscription_id: draft.subscriptionId,
      account_id: draft.accountId,
      reason: draft.reason,
      status: 'open',
      currency: draft.currency,
      tax_rate_basis_points: draft.taxRateBasisPoints,
      subtotal_minor: draft.subtotalMinor,
      tax_minor: draft.taxMinor,
      total_minor: draft.totalMinor,
      issued_at: issuedAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await trx
    .insertInto('billing_invoice_lines')
    .values(
      draft.lines.map((line, position) => ({
        invoice_id: invoice.id,
        position,
        description: line.description,
        plan_code: line.plan,
        period_start: line.periodStart,
        period_end: line.periodEnd,
        amount_minor: line.amountMinor,
      })),
    )
    .execute();
  return { invoice, created: true };
}

/** Moves an open invoice to paid or void; answers the row when it changed. */
export async function closeInvoice(
  trx: Transaction<Database>,
  key: string,
  status: 'paid' | 'void',
  at: Date,
): Promise<BillingInvoiceRow | undefined> {
  return trx
    .updateTable('billing_invoices')
    .set(status === 'paid' ? { status, paid_at: at } : { status, voided_at: at })
    .where('key', '=', key)
    .where('status', '=', 'open')
    .returningAll()
    .executeTakeFirst();
}

/**
 * Opens a paid invoice again (Kill Bill provider: a payment Kill Bill reversed, its invoice owed
 * again); answers the row when it changed.
 */
export async function reopenInvoice(trx: Transaction<Database>, key: string): Promise<BillingInvoiceRow | undefined> {
  return trx
    .updateTable('billing_invoices')
    .set({ status: 'open', paid_at: null })
    .where('key', '=', key)
    .where('status', '=', 'paid')
    .returningAll()
    .executeTakeFirst();
}

export async function invoiceById(db: Executor, id: string): Promise<StoredInvoice | undefined> {
  const invoice = await db.selectFrom('billing_invoices').selectAll().where('id', '=', id).executeTakeFirst();
  if (!invoice) return undefined;
  const lines = await db.selectFrom('billing_invoice_lines').selectAll().where('invoice_id', '=', id).orderBy('position').execute();
  return { ...invoice, lines };
}

export async function subscriptionIdOfInvoice(db: Executor, invoiceId: string): Promise<string> {
  const row = await db.selectFrom('billing_invoices').select('subscription_id').where('id', '=', invoiceId).executeTakeFirstOrThrow();
  return row.subscription_id;
}

export async function invoiceByKey(db: Executor, key: string): Promise<BillingInvoiceRow | undefined> {
  return db.selectFrom('billing_invoices').selectAll().where('key', '=', key).executeTakeFirst();
}

export async function listInvoices(
  db: Executor,
  filter: { accountId?: string | undefined; subscriptionId?: string | undefined; limit: number; offset: number },
): Promise<BillingInvoiceRow[]> {
  let query = db.selectFrom('billing_invoices').selectAll().orderBy('issued_at', 'desc').orderBy('sequence', 'desc');
  if (filter.accountId) query = query.where('account_id', '=', filter.accountId);
  if (filter.subscriptionId) query = query.where('subscription_id', '=', filter.subscriptionId);
  return query.limit(filter.limit).offset(filter.offset).execute();
}

// ----- payments ---------------------------------------------------------------------------------

/**
 * Records a gateway's payment report once per (gateway, reference): answers the new row, or
 * undefined when this report was recorded before (a webhook delivered again).
 */
export async function insertPayment(
  trx: Transaction<Database>,
  payment: {
    invoiceId: string;
    gateway: string;
    reference: string;
    status: 'succeeded' | 'failed';
    amountMinor: number;
    currency: string;
    failureReason: string | null;
    recordedAt: Date;
  },
): Promise<{ id: string } | undefined> {
  return trx
    .insertInto('billing_payments')
    .values({
      invoice_id: payment.invoiceId,
      gateway: payment.gateway,
      reference: payment.reference,
      status: payment.status,
      amount_minor: payment.amountMinor,
      currency: payment.currency,
      failure_reason: payment.failureReason,
      recorded_at: payment.recordedAt,
    })
    .onConflict((oc) => oc.columns(['gateway', 'reference']).doNothing())
    .returning('id')
    .executeTakeFirst();
}

export async function paymentsOf(db: Executor, invoiceId: string) {
  return db.selectFrom('billing_payments').selectAll().where('invoice_id', '=', invoiceId).orderBy('recorded_at').execute();
}

// ----- operator overview ----------------------------------------------------------------------

export async function subscriptionCounts(db: Executor): Promise<Array<{ state: string; count: number }>> {
  const rows = await db
    .selectFrom('billing_subscriptions')
    .select(['state', sql<number>`count(*)::int`.as('count')])
    .groupBy('state')
    .execute();
  return rows;
}

/** Prices of the subscriptions that bring revenue now (active, or past due but not yet given up). */
export async function recurringPrices(db: Executor): Promise<BillingPrice[]> {
  const rows = await db.selectFrom('billing_subscriptions').select('price').where('state', 'in', ['active', 'past_due']).execute();
  return rows.map((r) => toPrice(r.price));
}

export async function endedSince(db: Executor, since: Date): Promise<number> {
  const row = await db
    .selectFrom('billing_subscriptions')
    .select(sql<number>`count(*)::int`.as('count'))
    .where('state', 'in', ['cancelled', 'expired'])
    .where('ended_at', '>=', since)
    .executeTakeFirstOrThrow();
  return row.count;
}

/** Open invoices whose latest payment attempt failed, newest failure first. */
export async function invoicesWithFailedPayments(db: Executor, limit: number) {
  return db
    .selectFrom('billing_invoices as i')
    .innerJoin(
      (eb) =>
        eb
          .selectFrom('billing_payments')
          .select(['invoice_id', sql<Date>`max(recorded_at)`.as('failed_at')])
          .where('status', '=', 'failed')
          .groupBy('invoice_id')
          .as('f'),
      (join) => join.onRef('f.invoice_id', '=', 'i.id'),
    )
    .select(['i.id', 'i.number', 'i.account_id', 'i.total_minor', 'i.currency', 'f.failed_at'])
    .where('i.status', '=', 'open')
    .orderBy('f.failed_at', 'desc')
    .limit(limit)
    .execute();
}

// ----- gateway events ---------------------------------------------------------------------------

/** Keeps a gateway's event once; answers false when it was received before (a redelivery). */
export async function insertGatewayEvent(
  trx: Transaction<Database>,
  event: { gateway: string; id: string; type: string; payload: unknown },
): Promise<boolean> {
  const row = await trx
    .insertInto('billing_gateway_events')
    .values({ gateway: event.gateway, event_id: event.id, type: event.type, payload: JSON.stringify(event.payload) })
    .onConflict((oc) => oc.columns(['gateway', 'event_id']).doNothing())
    .returning('event_id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function gatewayEvent(db: Executor, gateway: string, id: string) {
  return db.selectFrom('billing_gateway_events').selectAll().where('gateway', '=', gateway).where('event_id', '=', id).executeTakeFirst();
}

/** The event, locked until the transaction ends (one processing at a time). */
export async function lockGatewayEvent(trx: Transaction<Database>, gateway: string, id: string) {
  return trx
    .selectFrom('billing_gateway_events')
    .selectAll()
    .where('gateway', '=', gateway)
    .where('event_id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

export async function markGatewayEventProcessed(trx: Transaction<Database>, gateway: string, id: string, outcome: string, at: Date) {
  await trx
    .updateTable('billing_gateway_events')
    .set({ processed_at: at, outcome })
    .where('gateway', '=', gateway)
    .where('event_id', '=', id)
    .execute();
}

// ----- refunds and credit notes -------------------------------------------------------------------

export function formatCreditNoteNumber(year: number, sequence: number): string {
  return `CN-${year}-${String(sequence).padStart(6, '0')}`;
}

/** The invoice row, locked until the transaction ends (refunds of one invoice one at a time). */
export async function lockInvoice(trx: Transaction<Database>, id: string): Promise<BillingInvoiceRow | undefined> {
  return trx.selectFrom('billing_invoices').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

/** The payment that paid the invoice (the latest successful one). */
export async function succeededPaymentOf(db: Executor, invoiceId: string) {
  return db
    .selectFrom('billing_payments')
    .selectAll()
    .where('invoice_id', '=', invoiceId)
    .where('status', '=', 'succeeded')
    .orderBy('recorded_at', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** What is refunded or being refunded of an invoice (failed refunds give nothing back). */
export async function refundedSoFar(db: Executor, invoiceId: string): Promise<number> {
  const row = await db
    .selectFrom('billing_refunds')
    .select(sql<number>`coalesce(sum(amount_minor), 0)::bigint`.as('total'))
    .where('invoice_id', '=', invoiceId)
    .where('status', 'in', ['requested', 'issued'])
    .executeTakeFirstOrThrow();
  return Number(row.total);
}

export async function insertRefund(
  trx: Transaction<Database>,
  refund: {
    invoiceId: string;
    accountId: string;
    paymentId: string;
    gateway: string;
    amountMinor: number;
    taxMinor: number;
    currency: string;
    reason: string;
    requestedBy: string | null;
    requestedAt: Date;
  },
): Promise<BillingRefundRow> {
  return trx
    .insertInto('billing_refunds')
    .values({
      invoice_id: refund.invoiceId,
      account_id: refund.accountId,
      payment_id: refund.paymentId,
      gateway: refund.gateway,
      status: 'requested',
      amount_minor: refund.amountMinor,
      tax_minor: refund.taxMinor,
      currency: refund.currency,
      reason: refund.reason,
      requested_by: refund.requestedBy,
      requested_at: refund.requestedAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function refundById(db: Executor, id: string): Promise<BillingRefundRow | undefined> {
  return db.selectFrom('billing_refunds').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function lockRefund(trx: Transaction<Database>, id: string): Promise<BillingRefundRow | undefined> {
  return trx.selectFrom('billing_refunds').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

/** Answers whether it changed (only a requested refund fails). */
export async function markRefundFailed(db: Executor, id: string, reason: string): Promise<boolean> {
  const row = await db
    .updateTable('billing_refunds')
    .set({ status: 'failed', failure_reason: reason })
    .where('id', '=', id)
    .where('status', '=', 'requested')
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Issues the credit note of a requested refund (the caller holds its lock): the next number of
 * the year, gapless like invoice numbers (the counter row stays locked until the transaction
 * ends; a rollback gives the number back). Answers the number.
 */
export async function issueCreditNote(trx: Transaction<Database>, refundId: string, gatewayReference: string, at: Date): Promise<string> {
  const year = at.getUTCFullYear();
  const { last_number: sequence } = await trx
    .insertInto('billing_credit_note_counters')
    .values({ year, last_number: 1 })
    .onConflict((oc) => oc.column('year').doUpdateSet({ last_number: sql`billing_credit_note_counters.last_number + 1` }))
    .returning('last_number')
    .executeTakeFirstOrThrow();
  const number = formatCreditNoteNumber(year, sequence);
  await trx
    .updateTable('billing_refunds')
    .set({ status: 'issued', number, year, sequence, issued_at: at, gateway_reference: gatewayReference })
    .where('id', '=', refundId)
    .execute();
  return number;
}

export async function listRefunds(
  db: Executor,
  filter: { accountId?: string | undefined; invoiceId?: string | undefined; limit: number; offset: number },
) {
  let query = db
    .selectFrom('billing_refunds as r')
    .innerJoin('billing_invoices as i', 'i.id', 'r.invoice_id')
    .selectAll('r')
    .select('i.number as invoice_number')
    .orderBy('r.requested_at', 'desc');
  if (filter.accountId) query = query.where('r.account_id', '=', filter.accountId);
  if (filter.invoiceId) query = query.where('r.invoice_id', '=', filter.invoiceId);
  return query.limit(filter.limit).offset(filter.offset).execute();
}

export async function refundWithInvoice(db: Executor, id: string) {
  return db
    .selectFrom('billing_refunds as r')
    .innerJoin('billing_invoices as i', 'i.id', 'r.invoice_id')
    .selectAll('r')
    .select(['i.number as invoice_number', 'i.tax_rate_basis_points'])
    .where('r.id', '=', id)
    .executeTakeFirst();
}

// ----- saved payment methods ----------------------------------------------------------------------

/** Saves (or replaces) the account's payment method at a gateway: the latest verified payment's card wins. */
export async function savePaymentMethod(
  trx: Transaction<Database>,
  method: {
    accountId: string;
    gateway: string;
    customerRef: string | null;
    authorizationSealed: string | null;
    email: string | null;
    label: string | null;
    savedAt: Date;
  },
): Promise<void> {
  const values = {
    customer_ref: method.customerRef,
    authorization_sealed: method.authorizationSealed,
    email: method.email,
    label: method.label,
    saved_at: method.savedAt,
  };
  await trx
    .insertInto('billing_payment_methods')
    .values({ account_id: method.accountId, gateway: method.gateway, ...values })
    .onConflict((oc) => oc.columns(['account_id', 'gateway']).doUpdateSet(values))
    .execute();
}

export async function paymentMethodOf(db: Executor, accountId: string, gateway: string) {
  return db
    .selectFrom('billing_payment_methods')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('gateway', '=', gateway)
    .executeTakeFirst();
}

// ----- usage ------------------------------------------------------------------------------------

/**
 * Records a closed period's usage; false when the period already has its row (a retried close
 * keeps the first record).
 */
export async function recordPeriodUsage(trx: Transaction<Database>, record: PeriodUsageRecord, now: Date): Promise<boolean> {
  const { odoo_users: users, storage_gib: storage } = record.usage;
  const result = await trx
    .insertInto('billing_usage')
    .values({
      subscription_id: record.subscriptionId,
      period_start: record.periodStart,
      period_end: record.periodEnd,
      plan_code: record.plan,
      interval: record.interval,
      odoo_users_peak: users.peak,
      odoo_users_peak_day: users.peakDay,
      odoo_users_days: users.daysSampled,
      storage_gib_peak: storage.peak,
      storage_gib_peak_day: storage.peakDay,
      storage_gib_days: storage.daysSampled,
      charged_minor: record.chargedMinor,
      currency: record.currency,
      recorded_at: now,
    })
    .onConflict((oc) => oc.columns(['subscription_id', 'period_start']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function usageOfSubscription(db: Executor, subscriptionId: string): Promise<BillingUsageRow[]> {
  return db.selectFrom('billing_usage').selectAll().where('subscription_id', '=', subscriptionId).orderBy('period_start', 'desc').execute();
}
