import type { Transaction } from 'kysely';
import type { Database, Db } from '../db/index.js';
import type { NotificationTemplate } from './catalog.js';

/** notification_log: its only reader and writer. One row per mail decided (and its sending). */
type Executor = Db | Transaction<Database>;

export interface NewNotification {
  idempotencyKey: string;
  accountId: string | null;
  recipient: string;
  template: NotificationTemplate;
  variables: Record<string, string>;
  subject: string;
  messageId: string;
  resendOf?: string;
}

/** Inserts the row unless its idempotency key exists; answers the new row's id (undefined: decided before). */
export async function insertNotification(row: NewNotification, db: Executor): Promise<string | undefined> {
  const inserted = await db
    .insertInto('notification_log')
    .values({
      idempotency_key: row.idempotencyKey,
      account_id: row.accountId,
      recipient: row.recipient,
      template: row.template,
      variables: JSON.stringify(row.variables),
      subject: row.subject,
      message_id: row.messageId,
      resend_of: row.resendOf ?? null,
    })
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted?.id;
}

export async function notificationById(id: string, db: Executor) {
  return db.selectFrom('notification_log').selectAll().where('id', '=', id).executeTakeFirst();
}

export type NotificationRow = NonNullable<Awaited<ReturnType<typeof notificationById>>>;

export async function recordAttempt(id: string, outcome: { sent: true } | { sent: false; error: string; final: boolean }, db: Executor) {
  await db
    .updateTable('notification_log')
    .set((eb) => ({
      attempts: eb('attempts', '+', 1),
      ...(outcome.sent
        ? { status: 'sent' as const, sent_at: new Date(), last_error: null }
        : { last_error: outcome.error.slice(0, 500), ...(outcome.final ? { status: 'failed' as const } : {}) }),
    }))
    .where('id', '=', id)
    .execute();
}

export async function listNotifications(filter: { accountId?: string | undefined; limit: number; offset: number }, db: Executor) {
  let query = db
    .selectFrom('notification_log')
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(filter.limit)
    .offset(filter.offset);
  if (filter.accountId) query = query.where('account_id', '=', filter.accountId);
  return query.execute();
}
