/**
 * Refunds of paid invoices, and the credit notes they issue. An operator asks (`request`): the
 * refund is written `requested` and its `billing-refund` job queued in one transaction. The job
 * (`process`) asks the gateway under the refund's own id (an idempotency key: a retry after a
 * crash refunds once), then issues the credit note, numbered `CN-<year>-<sequence>` without
 * gaps, in one transaction. A refund made by hand (bank transfer back; payments recorded by an
 * operator) goes to no gateway: the credit note records it.
 */
import type { Transaction } from 'kysely';
import type { BillingRefundRow, Database, Db } from '../../../db/index.js';
import { ConflictError, NotFoundError, ValidationError } from '../../../errors/index.js';
import { publishDomainEvents } from '../../../events/index.js';
import type { JobQueue } from '../../../jobs/index.js';
import { GatewayRefusalError, type PaymentGateway } from '../../gateways/index.js';
import { money, shareOf } from '../../money.js';
import {
  insertRefund,
  issueCreditNote,
  lockInvoice,
  lockRefund,
  markRefundFailed,
  refundById,
  refundedSoFar,
  subscriptionIdOfInvoice,
  succeededPaymentOf,
} from './store.js';

export type RefundCrashPoint = 'refund:gateway-answered' | 'refund:issued';

export interface RefundDeps {
  db: Db;
  clock: () => Date;
  jobs: Pick<JobQueue, 'send'>;
  gateway: PaymentGateway;
  crashPoint?: ((point: RefundCrashPoint) => void) | undefined;
}

export interface RefundInput {
  invoiceId: string;
  /** Omitted: what is left to refund of the invoice (all of it the first time). */
  amountMinor?: number | undefined;
  reason: string;
  /** Who asked (an operator's email), kept for the record. */
  requestedBy: string | null;
}

/** Tells the events port (webhooks, notifications) about a refund's change, in the transaction that made it. */
async function publishRefund(
  trx: Transaction<Database>,
  refund: { id: string; invoice_id: string; account_id: string; amount_minor: number; currency: string },
  change: { status: 'requested' | 'issued' | 'failed'; creditNoteNumber?: string; failureReason?: string },
): Promise<void> {
  const subscriptionId = await subscriptionIdOfInvoice(trx, refund.invoice_id);
  await publishDomainEvents(trx, {
    type: 'billing.refund_changed',
    payload: {
      subscriptionId,
      accountId: refund.account_id,
      invoiceId: refund.invoice_id,
      refundId: refund.id,
      status: change.status,
      amountMinor: Number(refund.amount_minor),
      currency: refund.currency,
      creditNoteNumber: change.creditNoteNumber ?? null,
      failureReason: change.failureReason ?? null,
    },
  });
}

export function createRefunds(deps: RefundDeps) {
  const { db, clock } = deps;

  /** Marks a requested refund failed and tells the events port, once (a refund already settled stays as it is). */
  async function failed(refund: BillingRefundRow, reason: string): Promise<void> {
    await db.transaction().execute(async (trx) => {
      if (await markRefundFailed(trx, refund.id, reason)) await publishRefund(trx, refund, { status: 'failed', failureReason: reason });
    });
  }

  return {
    /** Records the refund and queues it; 409 for an invoice that is not paid or already refunded, 400 naming the amount. */
    async request(input: RefundInput): Promise<{ id: string }> {
      return db.transaction().execute(async (trx: Transaction<Database>) => {
        // The invoice row serialises refunds of one invoice: two concurrent ones cannot both take the last cents.
        const invoice = await lockInvoice(trx, input.invoiceId);
        if (!invoice) throw new NotFoundError('Invoice', { field: 'id' });
        if (invoice.status !== 'paid')
          throw new ConflictError(`Invoice ${invoice.number} is ${invoice.status}: only a paid invoice can be refunded.`, {
            field: 'invoice',
          });
        const payment = await succeededPaymentOf(trx, invoice.id);
        if (!payment) throw new ConflictError(`Invoice ${invoice.number} has no recorded payment to refund.`, { field: 'invoice' });
        if (payment.gateway !== 'manual' && payment.gateway !== deps.gateway.name)
          throw new ConflictError(
            `Invoice ${invoice.number} was paid through ${payment.gateway}, which this platform no longer uses; refund it there.`,
            { field: 'invoice' },
          );
        const left = invoice.total_minor - (await refundedSoFar(trx, invoice.id));
        if (left <= 0) throw new ConflictError(`Invoice ${invoice.number} is already refunded in full.`, { field: 'invoice' });
        const amount = input.amountMinor ?? left;
        if (amount > left)
          throw new ValidationError(`At most ${left} (minor units of ${invoice.currency}) is left to refund on ${invoice.number}.`, {
            field: 'amountMinor',
          });
        const refund = await insertRefund(trx, {
          invoiceId: invoice.id,
          accountId: invoice.account_id,
          paymentId: payment.id,
          gateway: payment.gateway,
          amountMinor: amount,
          // The tax share of what is refunded, as the invoice charged it.
          taxMinor: shareOf(money(invoice.tax_minor, invoice.currency), amount, invoice.total_minor).amountMinor,
          currency: invoice.currency,
          reason: input.reason,
          requestedBy: input.requestedBy,
          requestedAt: clock(),
        });
        await deps.jobs.send('billing-refund', { refundId: refund.id }, { transaction: trx });
        await publishRefund(trx, refund, { status: 'requested' });
        return refund;
      });
    },

    /**
     * The `billing-refund` job: refunds at the gateway once, then issues the credit note once.
     * Answers what happened (for the log).
     */
    async process(refundId: string): Promise<string> {
      const refund = await refundById(db, refundId);
      if (!refund) return 'unknown refund';
      if (refund.status !== 'requested') return `already ${refund.status}`;
      let reference: string;
      if (refund.gateway === 'manual') reference = `manual:${refund.id}`;
      else {
        if (refund.gateway !== deps.gateway.name || !deps.gateway.refund) {
          await failed(refund, `the ${refund.gateway} gateway is no longer configured; refund it there.`);
          return 'failed: gateway gone';
        }
        const payment = await succeededPaymentOf(db, refund.invoice_id);
        if (!payment) throw new Error(`refund ${refund.id}: its payment disappeared`);
        try {
          ({ reference } = await deps.gateway.refund({
            refundId: refund.id,
            paymentReference: payment.reference,
            amountMinor: refund.amount_minor,
            currency: refund.currency,
          }));
        } catch (error) {
          if (!(error instanceof GatewayRefusalError)) throw error; // the job retries
          await failed(refund, error.message);
          return `failed: ${error.message}`;
        }
      }
      deps.crashPoint?.('refund:gateway-answered');
      return db.transaction().execute(async (trx) => {
        const locked = await lockRefund(trx, refund.id);
        if (locked?.status !== 'requested') return `already ${locked?.status ?? 'gone'}`;
        const number = await issueCreditNote(trx, refund.id, reference, clock());
        await publishRefund(trx, refund, { status: 'issued', creditNoteNumber: number });
        deps.crashPoint?.('refund:issued');
        return `issued ${number}`;
      });
    },
  };
}
export type Refunds = ReturnType<typeof createRefunds>;
