import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Database, Db } from '../db/index.js';
import { NotFoundError } from '../errors/index.js';
import type { DomainEventBus } from '../events/index.js';
import { JOB_CATALOG, type JobQueue } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';
import { isNotificationTemplate, renderNotification } from './catalog.js';
import type { Mailer } from './mailer.js';
import type { NotificationDirectory, NotificationIntent, NotificationRules } from './rules.js';
import { insertNotification, listNotifications, type NotificationRow, notificationById, recordAttempt } from './store.js';

/** Test-only crash points (SAAS_TEST_CRASH_AFTER_STEP): after deciding, and after SMTP accepted. */
export const NOTIFICATION_CRASH_POINTS = ['notification:before-send', 'notification:after-send'] as const;

export type NotificationService = ReturnType<typeof createNotificationService>;

/**
 * Mails as durable jobs, once per idempotency key.
 *
 * Deciding: a rule turns a domain event into intents; each intent becomes a `notification_log`
 * row (unique idempotency key) and a `notification-send` job, in one transaction. A replayed event
 * (the durable subscriber is at least once) finds its keys taken and decides nothing again.
 *
 * Sending, and the trade-off: SMTP has no transaction we can join, so between "the server
 * accepted the mail" and "we recorded that it did" a crash is always possible. We choose AT LEAST
 * ONCE: the job checks the row before sending (a mail recorded as sent is never sent again), and
 * a crash before the record makes the retried job send again. A crash anywhere before SMTP's
 * acceptance (the common case: "decided to send" but not sent) therefore yields exactly one
 * mail; only a crash in the milliseconds between acceptance and the commit of `status = 'sent'`
 * yields a second copy, which carries the same Message-ID (the row's), so mail clients and the
 * operator can tell it is the same mail. The alternative (mark "sending" first, never retry a
 * "sending" row) would lose mails silently after a crash, which is worse for a "your database is
 * suspended" or "payment failed" mail than a rare duplicate.
 */
export function createNotificationService(deps: {
  db: Db;
  jobs: JobQueue;
  mailer: Mailer;
  rules: NotificationRules;
  directory: NotificationDirectory;
  logger: Logger;
  /** Test-only: `SAAS_TEST_CRASH_AFTER_STEP` kills the process at one of NOTIFICATION_CRASH_POINTS. */
  crashPoint?: (point: string) => void;
  /** The domain of Message-IDs (the mail sender's). */
  messageIdDomain?: string;
}) {
  const { db, jobs, logger } = deps;
  const domain = deps.messageIdDomain ?? 'saas.invalid';

  /** Records the mails and queues their jobs in `trx`: they exist exactly when the decision commits. */
  async function decide(trx: Transaction<Database>, intents: NotificationIntent[], resendOf?: string): Promise<string[]> {
    const ids: string[] = [];
    for (const intent of intents) {
      // Rendered now: a template that misses a variable fails the decision, not a job later.
      const { subject } = renderNotification(intent.template, intent.variables);
      const id = await insertNotification(
        {
          idempotencyKey: intent.key,
          accountId: intent.accountId,
          recipient: intent.to,
          template: intent.template,
          variables: intent.variables,
          subject,
          messageId: `<${randomUUID()}@${domain}>`,
          ...(resendOf ? { resendOf } : {}),
        },
        trx,
      );
      if (!id) continue;
      await jobs.send('notification-send', { notificationId: id }, { transaction: trx });
      ids.push(id);
    }
    return ids;
  }

  async function send(id: string, retryCount: number): Promise<void> {
    const row = await notificationById(id, db);
    // Gone (its account was deleted) or already sent: nothing to do, and above all no second mail.
    if (!row || row.status === 'sent') return;
    if (!isNotificationTemplate(row.template)) throw new Error(`unknown notification template ${row.template}`);
    deps.crashPoint?.('notification:before-send');
    const mail = renderNotification(row.template, row.variables);
    try {
      await deps.mailer.send({ to: row.recipient, ...mail, messageId: row.message_id });
    } catch (error) {
      const final = retryCount >= JOB_CATALOG['notification-send'].retryLimit;
      await recordAttempt(id, { sent: false, error: (error as Error).message, final }, db);
      throw error;
    }
    deps.crashPoint?.('notification:after-send');
    await recordAttempt(id, { sent: true }, db);
    logger.info({ notificationId: id, template: row.template }, 'notification sent');
  }

  return {
    decide,

    /** Decides and queues mails outside any other change (its own transaction). */
    async notify(intents: NotificationIntent[]): Promise<string[]> {
      return db.transaction().execute((trx) => decide(trx, intents));
    },

    /** Follows the domain events (durable: every event once across replicas and restarts). */
    async followEvents(bus: Pick<DomainEventBus, 'subscribeDurable'>): Promise<void> {
      await bus.subscribeDurable('notifications', async (event) => {
        const intents = await deps.rules.intentsFor(event, deps.directory);
        if (intents.length > 0) await db.transaction().execute((trx) => decide(trx, intents));
      });
    },

    async registerJobs(work: boolean): Promise<void> {
      await jobs.define('notification-send', (data, job) => send(data.notificationId, job.retryCount), work);
    },

    async list(filter: { accountId?: string | undefined; limit: number; offset: number }) {
      return (await listNotifications(filter, db)).map(toNotificationView);
    },

    async get(id: string) {
      const row = await notificationById(id, db);
      if (!row) throw new NotFoundError('Notification', { field: 'id' });
      return toNotificationView(row);
    },

    /** Sends a logged mail again, as a new logged mail (new Message-ID) pointing at the first. */
    async resend(id: string) {
      const row = await notificationById(id, db);
      if (!row || !isNotificationTemplate(row.template)) throw new NotFoundError('Notification', { field: 'id' });
      const template = row.template;
      const [newId] = await db
        .transaction()
        .execute((trx) =>
          decide(
            trx,
            [{ key: `resend:${row.id}:${randomUUID()}`, template, accountId: row.account_id, to: row.recipient, variables: row.variables }],
            row.id,
          ),
        );
      const created = newId ? await notificationById(newId, db) : undefined;
      if (!created) throw new Error('the resent notification was not recorded');
      return toNotificationView(created);
    },
  };
}

export function toNotificationView(row: NotificationRow) {
  return {
    id: row.id,
    accountId: row.account_id,
    recipient: row.recipient,
    template: row.template,
    subject: row.subject,
    status: row.status,
    messageId: row.message_id,
    attempts: row.attempts,
    lastError: row.last_error,
    resendOf: row.resend_of,
    createdAt: row.created_at.toISOString(),
    sentAt: row.sent_at ? row.sent_at.toISOString() : null,
  };
}
export type NotificationView = ReturnType<typeof toNotificationView>;
