/**
 * Carries out what the engine decided, inside the transaction that stores the decision: invoices
 * are issued, collections and mails queued as durable jobs, tenants moved through their own
 * lifecycle, domain events written to the outbox. All of it commits with the subscription's new
 * state or none of it does, so a crash can neither lose an effect nor apply one twice.
 */
import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Database } from '../../../db/index.js';
import { publishDomainEvents } from '../../../events/index.js';
import type { JobQueue } from '../../../jobs/index.js';
import type { TenantAction, TenantService } from '../../../tenants/index.js';
import type { BillingEffect, Subscription, TenantBillingAction } from '../../subscription.js';
import { closeInvoice, invoiceByKey, issueInvoice, recordPeriodUsage } from './store.js';

export type TenantControl = Pick<TenantService, 'applySystemAction'>;

/**
 * The tenant lifecycle action that carries out each billing action. `apply_plan` is not one: it
 * is the tenant's live plan change (limits, and a migration when the placement differs), run by
 * the durable `billing-plan-change` job queued with the decision (billing/plan-change.ts).
 */
const TENANT_ACTION: Record<Exclude<TenantBillingAction, 'apply_plan'>, Exclude<TenantAction, 'create' | 'duplicate'>> = {
  provision: 'payment_received',
  // Nothing was provisioned for a tenant awaiting payment: scheduling its deletion deletes it.
  delete_unpaid: 'schedule_delete',
  suspend: 'suspend',
  resume: 'resume',
  terminate: 'terminate',
  reactivate: 'reactivate',
};

const REASON: Record<Exclude<TenantBillingAction, 'apply_plan'>, string> = {
  provision: 'billing: first payment received',
  delete_unpaid: 'billing: not paid within 24 hours',
  suspend: 'billing: payment overdue for 7 days',
  resume: 'billing: overdue payment received',
  terminate: 'billing: subscription ended',
  reactivate: 'billing: subscription reactivated',
};

export interface EffectContext {
  trx: Transaction<Database>;
  now: Date;
  before: Subscription | null;
  after: Subscription;
  tenantId: string | null;
  jobs: Pick<JobQueue, 'send'>;
  tenants: TenantControl;
}

export async function applyEffects(context: EffectContext, effects: BillingEffect[]): Promise<void> {
  const { trx, now, after, jobs } = context;
  for (const effect of effects) {
    switch (effect.type) {
      case 'issue_invoice': {
        const { invoice, created } = await issueInvoice(trx, effect.invoice, now);
        if (created) await publishInvoice(trx, invoice);
        break;
      }
      case 'collect_payment': {
        const invoice = await invoiceByKey(trx, effect.invoiceKey);
        // A fresh key per attempt, stored with the job: its retries reuse it (one charge), a
        // later dunning retry is a new attempt with its own key.
        if (invoice?.status === 'open')
          await jobs.send('billing-collect', { invoiceId: invoice.id, attempt: randomUUID() }, { transaction: trx });
        break;
      }
      case 'void_invoice': {
        const invoice = await closeInvoice(trx, effect.invoiceKey, 'void', now);
        if (invoice) await publishInvoice(trx, invoice);
        break;
      }
      case 'tenants':
        if (!context.tenantId) break;
        if (effect.action === 'apply_plan') {
          // Queued with the decision that paid for (or scheduled) the plan: a crash loses it or
          // doubles it neither; keyed per tenant, so two changes of one tenant run in order.
          await jobs.send(
            'billing-plan-change',
            { tenantId: context.tenantId, plan: effect.plan, subscriptionId: after.id },
            { transaction: trx, key: context.tenantId },
          );
          break;
        }
        await context.tenants.applySystemAction(trx, context.tenantId, TENANT_ACTION[effect.action], {
          reason: REASON[effect.action],
          now,
          plan: effect.plan,
        });
        break;
      case 'mail':
        await jobs.send('billing-mail', { subscriptionId: after.id, mail: effect.mail }, { transaction: trx });
        break;
      case 'record_usage':
        await recordPeriodUsage(trx, effect.usage, now);
        break;
    }
  }
  if (!context.before || context.before.state !== after.state) {
    await publishDomainEvents(trx, {
      type: 'billing.subscription_changed',
      payload: {
        subscriptionId: after.id,
        accountId: after.accountId,
        fromState: context.before?.state ?? null,
        toState: after.state,
        plan: after.price.plan,
      },
    });
  }
}

export async function publishInvoice(
  trx: Transaction<Database>,
  invoice: {
    id: string;
    subscription_id: string;
    account_id: string;
    number: string;
    status: 'open' | 'paid' | 'void';
    total_minor: number;
    currency: string;
  },
): Promise<void> {
  await publishDomainEvents(trx, {
    type: 'billing.invoice_changed',
    payload: {
      subscriptionId: invoice.subscription_id,
      accountId: invoice.account_id,
      invoiceId: invoice.id,
      number: invoice.number,
      status: invoice.status,
      totalMinor: invoice.total_minor,
      currency: invoice.currency,
    },
  });
}
