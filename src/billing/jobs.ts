/**
 * Billing's durable jobs (queues declared in jobs/catalog.ts): the once-a-minute sweep of the
 * billing clocks, collections through the gateway, tenants' live plan changes, and mails. Each is idempotent: the sweep
 * decides from the stored state, a collection of an invoice no longer open does nothing, and
 * a mail sent twice after a crash is the worst case (never a lost one).
 */
import type { Db } from '../db/index.js';
import type { JobQueue } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';
import type { Mailer } from '../notifications/index.js';
import type { PaymentGateway } from './gateways/index.js';
import { billingMailText } from './mails.js';
import { applyBilledPlan, type PlanChangePorts } from './plan-change.js';
import type { BuiltinBilling } from './providers/builtin/provider.js';
import { subscriptionById, toSubscription } from './providers/builtin/store.js';
import { BILLING_MAILS, type BillingMail } from './subscription.js';

export async function registerBillingJobs(
  deps: {
    db: Db;
    jobs: JobQueue;
    billing: BuiltinBilling;
    gateway: PaymentGateway;
    mailer: Mailer;
    /** Where an account's billing mails go. */
    recipientsOf: (accountId: string) => Promise<string[]>;
    /** The tenants' live plan change (composition: migrations and tenants). */
    planChanges: PlanChangePorts;
    logger: Logger;
  },
  work: boolean,
): Promise<void> {
  const { db, logger } = deps;
  await deps.jobs.define(
    'billing-sweep',
    async () => {
      const ticked = await deps.billing.sweep();
      if (ticked > 0) logger.info({ ticked }, 'billing sweep');
    },
    work,
  );
  await deps.jobs.define(
    'billing-collect',
    async ({ invoiceId, attempt }) => {
      // Jobs queued before attempts had keys collect under the invoice's id.
      const outcome = await deps.billing.renewals.collect(invoiceId, attempt ?? invoiceId);
      logger.info({ invoiceId, outcome }, 'collection');
    },
    work,
  );
  await deps.jobs.define(
    'billing-gateway-event',
    async ({ gateway, eventId }) => {
      const outcome = await deps.billing.processGatewayEvent(gateway, eventId);
      logger.info({ gateway, eventId, outcome }, 'gateway event processed');
    },
    work,
  );
  await deps.jobs.define(
    'billing-refund',
    async ({ refundId }) => {
      const outcome = await deps.billing.refunds.process(refundId);
      logger.info({ refundId, outcome }, 'refund processed');
    },
    work,
  );
  await deps.jobs.define(
    'billing-plan-change',
    async (job) => {
      const outcome = await applyBilledPlan(deps.planChanges, job);
      logger.info({ ...job, outcome }, 'billed plan change');
    },
    work,
  );
  await deps.jobs.define(
    'billing-mail',
    async ({ subscriptionId, mail }) => {
      const row = await subscriptionById(db, subscriptionId);
      if (!row || !(BILLING_MAILS as readonly string[]).includes(mail)) return;
      const { subject, text } = billingMailText(mail as BillingMail, toSubscription(row));
      for (const to of await deps.recipientsOf(row.account_id)) await deps.mailer.send({ to, subject, text });
    },
    work,
  );
}
