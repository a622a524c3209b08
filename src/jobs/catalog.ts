import { z } from 'zod';
import { ODOO_SERIES } from '../config/index.js';

/** What a tenant-ops job does to its tenant. */
export const TENANT_OPERATIONS = ['provision', 'start', 'restart', 'stop', 'unserve', 'deprovision'] as const;
export type TenantOperation = (typeof TENANT_OPERATIONS)[number];

/** How a queue runs its jobs; one entry per queue in JOB_CATALOG. */
export interface QueueDefinition<Payload extends z.ZodType<object>> {
  /** Checked on receipt: a job of an older or foreign sender never reaches the handler malformed. */
  payload: Payload;
  /** Jobs with the same key run one after another, in order (e.g. one tenant's operations). */
  keyed?: boolean;
  /** Jobs of this queue one replica runs at once. */
  concurrency: number;
  /** Retries after the first attempt. */
  retryLimit: number;
  /** First retry delay; later ones back off. */
  retryDelaySeconds: number;
  /** An attempt running longer than this is failed (and retried). */
  timeoutSeconds: number;
  /** Cron (UTC) of a job pg-boss sends on its own, on one replica. */
  schedule?: string;
}

function queue<Payload extends z.ZodType<object>>(definition: QueueDefinition<Payload>): QueueDefinition<Payload> {
  return definition;
}

const id = z.uuid();

/**
 * Every job queue of the platform: its payload and how it runs. A queue is added here, and
 * `JobQueue.send`/`define` accept only the queues and payloads declared here.
 */
export const JOB_CATALOG = {
  /** Provisioning and the other operations on a tenant, in order per tenant (provisioning/). */
  'tenant-ops': queue({
    payload: z.object({ tenantId: id, operation: z.enum(TENANT_OPERATIONS) }),
    keyed: true,
    concurrency: 4,
    retryLimit: 2,
    retryDelaySeconds: 1,
    timeoutSeconds: 30 * 60,
  }),
  /**
   * A template build on one server (templates/). Not keyed: a keyed queue holds later jobs of a
   * key behind a failed one, and a rebuild must always be possible. Superseded builds notice it
   * (job id) and stop.
   */
  'template-build': queue({
    payload: z.object({ template: z.string().min(1), serverId: id }),
    concurrency: 1,
    retryLimit: 1,
    retryDelaySeconds: 2,
    timeoutSeconds: 60 * 60,
  }),
  /**
   * Installs one Odoo series (odoo-installs/): download, unpack, virtual environment, pip, checks.
   * Not keyed; one at a time per replica (pip and the unpack are heavy). A failure is recorded on
   * the installation and ends the job (a 404 or a bad checksum does not heal by retrying); the
   * retries are for attempts whose process died, which resume from the installation's journal.
   */
  'odoo-install': queue({
    payload: z.object({ series: z.enum(ODOO_SERIES) }),
    concurrency: 1,
    retryLimit: 2,
    retryDelaySeconds: 2,
    timeoutSeconds: 60 * 60,
  }),
  /**
   * Tops up a server's spare databases (provisioning/spares.ts). Not keyed (a failed refill must
   * not hold later ones back); one at a time per replica, and each refill re-counts, so extra
   * queued refills find nothing to do.
   */
  'spare-refill': queue({
    payload: z.object({ serverId: id }),
    concurrency: 1,
    retryLimit: 2,
    retryDelaySeconds: 2,
    timeoutSeconds: 15 * 60,
  }),
  /** Deletes job log records past their 14 days (jobs/logs.ts), hourly on one replica. */
  'job-logs-prune': queue({
    payload: z.object({}),
    concurrency: 1,
    retryLimit: 1,
    retryDelaySeconds: 30,
    timeoutSeconds: 10 * 60,
    schedule: '41 * * * *',
  }),
  /** The lifecycle timers (provisioning/schedules.ts), once a minute on one replica. */
  'tenant-lifecycle-sweep': queue({
    payload: z.object({}),
    concurrency: 2,
    retryLimit: 0,
    retryDelaySeconds: 2,
    timeoutSeconds: 15 * 60,
    schedule: '* * * * *',
  }),
  /** Hibernates idle dedicated tenants and wakes those whose cron is due (hibernation/), once a minute on one replica. */
  'tenant-hibernation-sweep': queue({
    payload: z.object({}),
    concurrency: 1,
    retryLimit: 0,
    retryDelaySeconds: 2,
    timeoutSeconds: 15 * 60,
    schedule: '* * * * *',
  }),
  /**
   * One backup (backups/run.ts): dump, zip, store, read back. Not keyed (a failed backup must
   * not hold the next one back). A backup that fails is recorded `failed` and the job ends; the
   * retries are for an attempt whose process died, which starts the backup again from nothing.
   */
  backup: queue({
    payload: z.object({ backupId: id }),
    concurrency: 1,
    retryLimit: 2,
    retryDelaySeconds: 5,
    timeoutSeconds: 6 * 60 * 60,
  }),
  /**
   * Daily backups owed (each tenant at its slot), and records left `running` by attempts that
   * will never finish. Every 5 minutes on one replica; each slot's backup is unique, so a rerun
   * or a second replica makes nothing twice.
   */
  'backup-schedule': queue({
    payload: z.object({}),
    concurrency: 1,
    retryLimit: 0,
    retryDelaySeconds: 5,
    timeoutSeconds: 10 * 60,
    schedule: '*/5 * * * *',
  }),
  /**
   * The weekly proof (backups/test-restore.ts): each tenant's newest verified backup restored
   * into a scratch database on its own server, checked, dropped. Sundays 04:00 UTC, one replica.
   */
  'backup-test-restore': queue({
    payload: z.object({}),
    concurrency: 1,
    retryLimit: 0,
    retryDelaySeconds: 60,
    timeoutSeconds: 12 * 60 * 60,
    schedule: '0 4 * * 0',
  }),
  /**
   * One restore of a backup in place (restores/): maintenance page, backup of the current data,
   * archive loaded beside the live database, verified, swapped in. The restore's row is the
   * journal of its steps, so a retried attempt (a killed platform) resumes where it was. A
   * restore refused for what it restores (a corrupted archive, a failed check) is not retried.
   */
  restore: queue({
    payload: z.object({ restoreId: id }),
    concurrency: 1,
    retryLimit: 2,
    retryDelaySeconds: 2,
    timeoutSeconds: 6 * 60 * 60,
  }),
  /**
   * One migration of a tenant (migration/): maintenance page, verified backup, load and check on
   * the target, switch, admin login, finish; rolled back to the source when it cannot finish. The
   * row is the journal of its steps, so a retried attempt (a killed platform) resumes where it was.
   */
  migration: queue({
    payload: z.object({ migrationId: id }),
    concurrency: 2,
    retryLimit: 2,
    retryDelaySeconds: 1,
    timeoutSeconds: 6 * 60 * 60,
  }),
  /** Drops the source databases migrations kept for their grace period (migration/run.ts). Hourly; idempotent. */
  'migration-source-drop': queue({
    payload: z.object({}),
    concurrency: 1,
    retryLimit: 1,
    retryDelaySeconds: 60,
    timeoutSeconds: 30 * 60,
    schedule: '23 * * * *',
  }),
  /** Retention (backups/retention.ts): deletes from storage first, then the record. Hourly; idempotent. */
  'backup-purge': queue({
    payload: z.object({}),
    concurrency: 1,
    retryLimit: 1,
    retryDelaySeconds: 60,
    timeoutSeconds: 30 * 60,
    schedule: '17 * * * *',
  }),
  /**
   * The billing clocks (billing/): renewals, trial ends, dunning retries and steps, unpaid
   * pending payments, once a minute on one replica. Each subscription is decided in its own
   * transaction with its effects, so a crash mid-sweep loses nothing and repeats nothing.
   */
  'billing-sweep': queue({
    payload: z.object({}),
    concurrency: 1,
    retryLimit: 0,
    retryDelaySeconds: 2,
    timeoutSeconds: 10 * 60,
    schedule: '* * * * *',
  }),
  /**
   * Asks the payment gateway to collect an open invoice (a renewal, a dunning retry): charges the
   * account's saved payment method under `attempt`, the key fixed in the transaction that decided
   * it (a retry after a crash charges once), and records the outcome once per gateway reference.
   */
  'billing-collect': queue({
    payload: z.object({ invoiceId: id, attempt: id.optional() }),
    concurrency: 2,
    retryLimit: 5,
    retryDelaySeconds: 30,
    timeoutSeconds: 5 * 60,
  }),
  /**
   * Applies one kept webhook event of a payment gateway, exactly once (billing/): the event row
   * is locked and marked processed in the transaction that records its payment.
   */
  'billing-gateway-event': queue({
    payload: z.object({ gateway: z.string().min(1).max(32), eventId: z.string().min(1).max(255) }),
    concurrency: 4,
    retryLimit: 10,
    retryDelaySeconds: 1,
    timeoutSeconds: 60,
  }),
  /**
   * One refund of a paid invoice (billing/providers/builtin/refunds.ts): refunded at the gateway
   * under the refund's id (once, however often retried), then its credit note issued in one
   * transaction. A gateway that cannot be reached is retried; one that refuses marks it failed.
   */
  'billing-refund': queue({
    payload: z.object({ refundId: id }),
    concurrency: 2,
    retryLimit: 10,
    retryDelaySeconds: 5,
    timeoutSeconds: 2 * 60,
  }),
  /**
   * A tenant's live plan change that billing decided (billing/plan-change.ts): an upgrade paid
   * for, a trial's change, a scheduled downgrade at the end of its period. Queued in the
   * transaction of that decision, keyed per tenant; idempotent (a tenant already on the plan, or
   * already moving to it, is left alone), so a retry after a crash starts nothing twice.
   */
  'billing-plan-change': queue({
    payload: z.object({ tenantId: id, plan: z.string().min(1).max(64), subscriptionId: id }),
    keyed: true,
    concurrency: 2,
    retryLimit: 10,
    retryDelaySeconds: 30,
    timeoutSeconds: 5 * 60,
  }),
  /** A billing mail to an account (trial ending, payment failed, suspended...). */
  'billing-mail': queue({
    payload: z.object({ subscriptionId: id, mail: z.string().min(1).max(64) }),
    concurrency: 2,
    retryLimit: 5,
    retryDelaySeconds: 30,
    timeoutSeconds: 60,
  }),
  /**
   * Re-checks every custom domain's DNS (domains/service.ts): verifies pending ones, flags ones
   * that stopped pointing here and unroutes them after the grace period.
   */
  'domain-recheck': queue({
    payload: z.object({}),
    concurrency: 1,
    retryLimit: 0,
    retryDelaySeconds: 5,
    timeoutSeconds: 15 * 60,
    schedule: '*/10 * * * *',
  }),
  /**
   * A usage sampling round (usage/sampler.ts): queues one `usage-sample` per tenant, each
   * starting at its own offset in the round so 1,000 tenants do not hit PostgreSQL at once.
   */
  'usage-round': queue({
    payload: z.object({}),
    concurrency: 1,
    retryLimit: 0,
    retryDelaySeconds: 5,
    timeoutSeconds: 4 * 60,
    schedule: '*/5 * * * *',
  }),
  /**
   * A batch of tenants' samples of one round, their limits decided and enforced (up to 25
   * tenants, 4 at a time: one job per tenant cost more in pg-boss polling than in sampling). Not
   * keyed (a failed batch must not hold later ones back); a tenant's sample is unique per round
   * (`slot`), so a retried batch skips the tenants it already sampled.
   */
  'usage-sample': queue({
    payload: z.object({ tenantIds: z.array(id).min(1).max(100), slot: z.iso.datetime() }),
    concurrency: 2,
    retryLimit: 2,
    retryDelaySeconds: 10,
    timeoutSeconds: 10 * 60,
  }),
  /** Hourly: samples rolled up into hours and days, raw samples older than 7 days dropped. */
  'usage-rollup': queue({
    payload: z.object({}),
    concurrency: 1,
    retryLimit: 1,
    retryDelaySeconds: 30,
    timeoutSeconds: 15 * 60,
    schedule: '7 * * * *',
  }),
  /** Writes a tenant's base URL (its primary domain, else its subdomain) into its Odoo; in order per tenant. */
  'tenant-base-url': queue({
    payload: z.object({ tenantId: id }),
    keyed: true,
    concurrency: 2,
    retryLimit: 5,
    retryDelaySeconds: 5,
    timeoutSeconds: 5 * 60,
  }),
  /**
   * One notification mail (notifications/service.ts): checks its log row before sending, so a
   * retry after a crash never sends a mail recorded as sent.
   */
  'notification-send': queue({
    payload: z.object({ notificationId: id }),
    concurrency: 4,
    retryLimit: 8,
    retryDelaySeconds: 10,
    timeoutSeconds: 2 * 60,
  }),
  /**
   * One attempt of a webhook delivery (webhooks/). The back-off over 24 h is the service's (each
   * failed attempt queues the next with its delay, in the transaction recording the failure);
   * the job's own retries only cover a crash or a database hiccup during an attempt.
   */
  'webhook-delivery': queue({
    payload: z.object({ deliveryId: id }),
    concurrency: 8,
    retryLimit: 3,
    retryDelaySeconds: 5,
    timeoutSeconds: 2 * 60,
  }),
  /**
   * Makes Kill Bill match one of our subscriptions (billing/providers/killbill): its account and
   * subscription created, its plan, cancellation or its undoing carried over. Idempotent: Kill
   * Bill is read first and only what differs is sent; Kill Bill unreachable is retried.
   */
  'killbill-sync': queue({
    payload: z.object({ subscriptionId: id }),
    keyed: true,
    concurrency: 2,
    retryLimit: 20,
    retryDelaySeconds: 5,
    timeoutSeconds: 2 * 60,
  }),
  /**
   * Applies one kept Kill Bill push notification (billing/providers/killbill): the object it names
   * is re-read from Kill Bill and the result applied with the notification marked processed in
   * one transaction, so a crash neither drops one nor applies one twice.
   */
  'killbill-notification': queue({
    payload: z.object({ key: z.string().min(1).max(300) }),
    concurrency: 4,
    retryLimit: 10,
    retryDelaySeconds: 2,
    timeoutSeconds: 60,
  }),
} as const;

export type QueueName = keyof typeof JOB_CATALOG;
/** What a sender gives. */
export type JobPayloadInput<Q extends QueueName> = z.input<(typeof JOB_CATALOG)[Q]['payload']>;
/** What a handler receives, once checked. */
export type JobPayload<Q extends QueueName> = z.output<(typeof JOB_CATALOG)[Q]['payload']>;

/** A job whose payload does not match its queue's schema: names the fields that are wrong. */
export class InvalidJobPayloadError extends Error {
  constructor(queue: string, error: z.ZodError) {
    const fields = error.issues.map((issue) => `${issue.path.join('.') || '(payload)'}: ${issue.message}`);
    super(`Invalid ${queue} job payload: ${fields.join('; ')}`);
    this.name = 'InvalidJobPayloadError';
  }
}

/** The payload of a job of `queue`, checked against the catalog; throws InvalidJobPayloadError. */
export function parseJobPayload<Q extends QueueName>(queue: Q, data: unknown): JobPayload<Q> {
  const definition: QueueDefinition<z.ZodType<object>> | undefined = JOB_CATALOG[queue];
  // Only a caller forcing its way past the types gets here with an unknown queue.
  if (!definition) throw new Error(`No job queue "${queue}" in the catalog.`);
  const parsed = definition.payload.safeParse(data);
  if (!parsed.success) throw new InvalidJobPayloadError(queue, parsed.error);
  return parsed.data as JobPayload<Q>;
}
