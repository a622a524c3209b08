/**
 * The Kill Bill provider's tables, and only those: killbill_subscriptions (which Kill Bill
 * account and subscription each of ours is) and killbill_notifications (each push kept once).
 */
import type { Transaction } from 'kysely';
import type { Database, Db } from '../../../db/index.js';
import type { KillbillNotification } from './client.js';

type Executor = Db | Transaction<Database>;

export async function insertLink(trx: Transaction<Database>, subscriptionId: string, accountId: string): Promise<void> {
  await trx
    .insertInto('killbill_subscriptions')
    .values({ subscription_id: subscriptionId, account_id: accountId })
    .onConflict((c) => c.column('subscription_id').doNothing())
    .execute();
}

export async function linkOf(db: Executor, subscriptionId: string) {
  return db.selectFrom('killbill_subscriptions').selectAll().where('subscription_id', '=', subscriptionId).executeTakeFirst();
}

export async function saveLink(
  db: Executor,
  subscriptionId: string,
  values: { killbillAccountId?: string; killbillSubscriptionId?: string; syncedAt?: Date },
): Promise<void> {
  await db
    .updateTable('killbill_subscriptions')
    .set({
      ...(values.killbillAccountId ? { killbill_account_id: values.killbillAccountId } : {}),
      ...(values.killbillSubscriptionId ? { killbill_subscription_id: values.killbillSubscriptionId } : {}),
      ...(values.syncedAt ? { synced_at: values.syncedAt } : {}),
    })
    .where('subscription_id', '=', subscriptionId)
    .execute();
}

/** Our subscription billed by one of these Kill Bill subscriptions (null: none of ours). */
export async function subscriptionOfKillbill(db: Executor, killbillSubscriptionIds: string[]): Promise<string | null> {
  if (killbillSubscriptionIds.length === 0) return null;
  const row = await db
    .selectFrom('killbill_subscriptions')
    .select('subscription_id')
    .where('killbill_subscription_id', 'in', killbillSubscriptionIds)
    .executeTakeFirst();
  return row?.subscription_id ?? null;
}

/** Keeps a notification under `key`; false when it was kept before (a redelivery). */
export async function insertNotification(trx: Transaction<Database>, key: string, notification: KillbillNotification): Promise<boolean> {
  const row = await trx
    .insertInto('killbill_notifications')
    .values({
      key,
      event_type: notification.eventType,
      object_type: notification.objectType,
      object_id: notification.objectId,
      killbill_account_id: notification.accountId,
      meta_data: notification.metaData,
    })
    .onConflict((c) => c.column('key').doNothing())
    .returning('key')
    .executeTakeFirst();
  return row !== undefined;
}

export async function notificationByKey(db: Executor, key: string) {
  return db.selectFrom('killbill_notifications').selectAll().where('key', '=', key).executeTakeFirst();
}

export async function lockNotification(trx: Transaction<Database>, key: string) {
  return trx.selectFrom('killbill_notifications').selectAll().where('key', '=', key).forUpdate().executeTakeFirst();
}

export async function markNotificationProcessed(trx: Transaction<Database>, key: string, outcome: string, at: Date): Promise<void> {
  await trx.updateTable('killbill_notifications').set({ processed_at: at, outcome }).where('key', '=', key).execute();
}
