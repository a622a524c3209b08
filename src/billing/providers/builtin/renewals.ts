/**
 * Renewals charged to a saved payment method. A verified first payment that leaves a reusable
 * method (Stripe's customer, Paystack's authorization code) saves it for the account; every later
 * collection of an open invoice (a renewal, a dunning retry, an upgrade's proration) charges it
 * off-session through the gateway and records the outcome like any reported payment: paid, or a
 * failure that starts (or continues) dunning.
 *
 * Exactly once: each collection attempt carries a key fixed when it was queued (in the job's
 * payload, written in the transaction that decided it). The gateway is asked under that key
 * (Stripe's idempotency key, Paystack's transaction reference, read back first), and the payment
 * is recorded once per gateway reference. A crash after the gateway charged and before the record
 * is retried with the same key, finds the first charge, and records it: never a second charge.
 */
import type { Transaction } from 'kysely';
import type { Database, Db } from '../../../db/index.js';
import { ConflictError, ValidationError } from '../../../errors/index.js';
import type { Logger } from '../../../logging/index.js';
import type { GatewayPayment, PaymentGateway, SavedMethod } from '../../gateways/index.js';
import type { InvoiceReason } from '../../subscription.js';
import { invoiceById, paymentMethodOf, savePaymentMethod } from './store.js';

export type RenewalCrashPoint = 'collect:charged';

/**
 * The invoices a saved method pays without the customer: the periods of a subscription they run
 * (and the usage of its last one), and an upgrade they confirmed. A new subscription, the end of a trial and a reactivation are
 * paid by the customer at checkout (a card saved for another subscription is not consent).
 */
const CHARGED_OFF_SESSION: readonly InvoiceReason[] = ['renewal', 'proration', 'final_usage'];

/** Seals what must not be stored in clear (the platform's secret box). */
export interface Sealer {
  encrypt(plaintext: string): string;
  decrypt(sealed: string): string;
}

export interface RenewalDeps {
  db: Db;
  clock: () => Date;
  gateway: PaymentGateway;
  sealer: Sealer;
  logger: Logger;
  recordPayment: (report: GatewayPayment & { gateway: string }) => Promise<{ duplicate: boolean }>;
  crashPoint?: ((point: RenewalCrashPoint) => void) | undefined;
}

export function createRenewals(deps: RenewalDeps) {
  const { db, gateway } = deps;
  return {
    /** Keeps the method a verified payment left, in the transaction that records the payment. */
    async saveMethod(trx: Transaction<Database>, accountId: string, gatewayName: string, method: SavedMethod): Promise<void> {
      await savePaymentMethod(trx, {
        accountId,
        gateway: gatewayName,
        customerRef: method.customerRef,
        authorizationSealed: method.authorization ? deps.sealer.encrypt(method.authorization) : null,
        email: method.email,
        label: method.label,
        savedAt: deps.clock(),
      });
    },

    /** The account's saved method at the installation's gateway, for people (no secret in it). */
    async methodOf(accountId: string): Promise<{ gateway: string; label: string | null; savedAt: Date } | null> {
      const row = await paymentMethodOf(db, accountId, gateway.name);
      return row ? { gateway: row.gateway, label: row.label, savedAt: row.saved_at } : null;
    },

    /**
     * The gateway's page where the customer manages the saved payment method (Stripe's customer
     * portal). 409 with what to do instead when the gateway has none or nothing is saved yet.
     */
    async portal(accountId: string, returnUrl: string): Promise<{ url: string }> {
      if (!gateway.portal)
        throw new ConflictError(gateway.noPortalReason ?? 'This payment gateway offers no page to manage payment methods.', {
          field: 'gateway',
        });
      const saved = await paymentMethodOf(db, accountId, gateway.name);
      if (!saved?.customer_ref)
        throw new ConflictError(
          'No card is saved yet: the card you pay your first invoice with online is saved for renewals, and can then be managed here.',
          { field: 'paymentMethod' },
        );
      return gateway.portal({ customerRef: saved.customer_ref, returnUrl });
    },

    /**
     * Collects an open invoice: charges the saved method under `attemptKey`, or asks the gateway
     * to collect its own way when there is none (the customer pays at checkout). Answers what
     * happened, for the job's log.
     */
    async collect(invoiceId: string, attemptKey: string): Promise<string> {
      const invoice = await invoiceById(db, invoiceId);
      if (invoice?.status !== 'open') return 'invoice not open';
      const request = {
        invoiceId: invoice.id,
        invoiceNumber: invoice.number,
        accountId: invoice.account_id,
        amountMinor: invoice.total_minor,
        currency: invoice.currency,
      };
      const saved =
        gateway.chargeSaved && (CHARGED_OFF_SESSION as readonly string[]).includes(invoice.reason)
          ? await paymentMethodOf(db, invoice.account_id, gateway.name)
          : undefined;
      if (!saved || !gateway.chargeSaved) {
        await gateway.collect(request);
        return 'no saved payment method';
      }
      const payment = await gateway.chargeSaved({
        ...request,
        attemptKey,
        method: {
          customerRef: saved.customer_ref,
          authorization: saved.authorization_sealed ? deps.sealer.decrypt(saved.authorization_sealed) : null,
          email: saved.email,
          label: saved.label,
        },
      });
      deps.crashPoint?.('collect:charged');
      if (!payment) return 'charge pending at the gateway';
      try {
        const { duplicate } = await deps.recordPayment({ ...payment, gateway: gateway.name });
        return duplicate ? 'charge already recorded' : `charge ${payment.status}`;
      } catch (error) {
        // The gateway's answer contradicts the invoice (another amount or currency): kept in the
        // log for an operator, not retried (a retry would get the same answer).
        if (!(error instanceof ValidationError)) throw error;
        deps.logger.error({ invoiceId, reference: payment.reference, err: error }, 'saved-method charge does not match its invoice');
        return `refused: ${error.message}`;
      }
    },
  };
}
