import { sql } from 'kysely';
import type { Db, NotificationHub } from '../db/index.js';
import type { Logger } from '../logging/index.js';
import { DOMAIN_EVENTS_CHANNEL, toDeliveredEvent } from './outbox.js';
import type { DeliveredEvent, DomainEventHandler, DomainEventSubscriptions } from './types.js';

/** Delivered events stay this long (for late durable subscribers and inspection), then are pruned. */
export const DOMAIN_EVENT_RETENTION_MS = 24 * 3600_000;
const PRUNE_INTERVAL_MS = 10 * 60_000;
const BATCH = 200;
const MAX_RETRY_DELAY_MS = 30_000;

interface LocalSubscriber {
  name: string;
  handler: DomainEventHandler;
  /** The last event id this subscriber has handled (or skipped, being newer than it). */
  cursor: number;
  failures: number;
  retryAt: number;
}

export type DomainEventBus = Awaited<ReturnType<typeof createDomainEventBus>>;

/**
 * Delivers the outbox (outbox.ts) to subscribers, after commit, at least once, in commit order
 * (so in order per tenant). One loop per replica: woken by the NOTIFY of each committing writer,
 * after a reconnect of the notification connection, and by a slow poll as a backstop.
 *
 * Each subscriber has its own cursor, so one that fails is retried (with backoff, the same event
 * first) without holding back the others:
 * - local subscribers (`subscribe`): in-memory state of this replica (route table, live
 *   streams); every replica delivers every event to its own, from the moment they subscribed
 *   (they load their state from the tables after subscribing, so nothing falls in between);
 * - durable subscribers (`subscribeDurable`): one delivery across all replicas, the cursor kept
 *   in `domain_event_cursors` and advanced under a row lock, so an event committed while no
 *   replica ran (or before one crashed mid-delivery) is delivered by the next loop to run.
 */
export async function createDomainEventBus(deps: {
  db: Db;
  notifications: Pick<NotificationHub, 'subscribe' | 'onReconnect'>;
  logger: Logger;
  /** Backstop for a lost wake-up (the connection drops between NOTIFY and LISTEN). */
  pollIntervalMs?: number;
  retentionMs?: number;
}) {
  const { db, logger } = deps;
  const locals: LocalSubscriber[] = [];
  const durables = new Map<string, { handler: DomainEventHandler; failures: number; retryAt: number }>();
  let head = await latestEventId();
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let retryTimer: { timer: NodeJS.Timeout; at: number } | undefined;

  async function latestEventId(): Promise<number> {
    const row = await db.selectFrom('domain_events').select(sql<number | null>`max(id)`.as('id')).executeTakeFirst();
    return Number(row?.id ?? 0);
  }

  async function eventsAfter(id: number): Promise<DeliveredEvent[]> {
    const rows = await db.selectFrom('domain_events').selectAll().where('id', '>', String(id)).orderBy('id').limit(BATCH).execute();
    return rows.map(toDeliveredEvent);
  }

  function backOff(subscriber: { failures: number; retryAt: number }, name: string, event: DeliveredEvent, error: unknown): void {
    subscriber.failures++;
    const delay = Math.min(250 * 2 ** (subscriber.failures - 1), MAX_RETRY_DELAY_MS);
    subscriber.retryAt = Date.now() + delay;
    logger.warn({ err: error, subscriber: name, eventId: event.id, type: event.type, retryInMs: delay }, 'domain event handler failed');
    scheduleRetry(delay);
  }

  /** One timer, set for the earliest retry asked for (a later one comes after that pass). */
  function scheduleRetry(delay: number): void {
    const at = Date.now() + delay;
    if (stopped || (retryTimer && retryTimer.at <= at)) return;
    clearTimeout(retryTimer?.timer);
    const timer = setTimeout(() => {
      retryTimer = undefined;
      void deliver();
    }, delay);
    timer.unref();
    retryTimer = { timer, at };
  }

  /**
   * After a pass, every subscriber still failing needs a timer. The one that woke this pass may
   * have fired a moment before the wall clock reached a retry time (timers run on the event
   * loop's cached clock), and then the pass passed that subscriber over: it is retried at once.
   */
  function scheduleBackedOff(): void {
    const now = Date.now();
    const failing = [...locals, ...durables.values()].filter((s) => s.failures > 0).map((s) => s.retryAt);
    if (failing.length > 0) scheduleRetry(Math.max(Math.min(...failing) - now, 1));
  }

  /** One pass for the local subscribers: every event after the lowest cursor, to each in turn. */
  async function deliverLocal(): Promise<void> {
    for (;;) {
      const due = locals.filter((s) => s.retryAt <= Date.now());
      const from = Math.min(head, ...due.map((s) => s.cursor));
      const events = await eventsAfter(from);
      for (const event of events) {
        // In subscription order: the route table (subscribed at start-up) switches a route before
        // a live stream tells the browser about it.
        for (const subscriber of due) {
          if (subscriber.retryAt > Date.now() || event.id <= subscriber.cursor) continue;
          try {
            await subscriber.handler(event);
            subscriber.cursor = event.id;
            subscriber.failures = 0;
          } catch (error) {
            backOff(subscriber, subscriber.name, event, error);
          }
        }
        head = Math.max(head, event.id);
      }
      if (events.length < BATCH) return;
    }
  }

  /** One pass for one durable subscriber, unless another replica is delivering to it right now. */
  async function deliverDurable(name: string): Promise<void> {
    const subscriber = durables.get(name);
    if (!subscriber || subscriber.retryAt > Date.now()) return;
    await db.transaction().execute(async (trx) => {
      const cursor = await trx
        .selectFrom('domain_event_cursors')
        .select('last_event_id')
        .where('subscriber', '=', name)
        .forUpdate()
        .skipLocked()
        .executeTakeFirst();
      if (!cursor) {
        // Another replica is delivering to it: that one retries, not this one.
        subscriber.failures = 0;
        subscriber.retryAt = 0;
        return;
      }
      let last = Number(cursor.last_event_id);
      try {
        for (;;) {
          const events = await eventsAfter(last);
          for (const event of events) {
            await subscriber.handler(event);
            last = event.id;
            subscriber.failures = 0;
          }
          if (events.length < BATCH) return;
        }
      } catch (error) {
        const failed = (await eventsAfter(last))[0];
        if (failed) backOff(subscriber, name, failed, error);
      } finally {
        // What was handled stays handled, also when a later event failed.
        await trx
          .updateTable('domain_event_cursors')
          .set({ last_event_id: String(last), updated_at: new Date() })
          .where('subscriber', '=', name)
          .execute();
      }
    });
  }

  async function pass(): Promise<void> {
    do {
      again = false;
      await deliverLocal();
      for (const name of durables.keys()) {
        await deliverDurable(name);
        // The route table must not wait for every mailer and webhook: what committed meanwhile
        // (its NOTIFY set `again`) reaches the local subscribers between two durable ones.
        if (again) await deliverLocal();
      }
    } while (again && !stopped);
    scheduleBackedOff();
  }

  /** Runs a delivery pass now (one at a time; a wake-up during a pass runs another after it). */
  function deliver(): Promise<void> {
    if (stopped) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = pass()
      .catch((error: unknown) => {
        logger.warn({ err: error }, 'domain event delivery failed; retrying');
        scheduleRetry(1_000);
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  /** Deletes events older than the retention that every durable subscriber has handled. */
  async function prune(now = new Date()): Promise<number> {
    const before = new Date(now.getTime() - (deps.retentionMs ?? DOMAIN_EVENT_RETENTION_MS));
    const result = await db
      .deleteFrom('domain_events')
      .where('occurred_at', '<', before)
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('domain_event_cursors')
              .select('subscriber')
              .whereRef('domain_event_cursors.last_event_id', '<', 'domain_events.id'),
          ),
        ),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  const unlisten = deps.notifications.subscribe(DOMAIN_EVENTS_CHANNEL, () => void deliver());
  deps.notifications.onReconnect(() => void deliver());
  const poll = setInterval(() => void deliver(), deps.pollIntervalMs ?? 5_000);
  poll.unref();
  const pruning = setInterval(() => {
    prune().catch((error: unknown) => logger.warn({ err: error }, 'pruning delivered domain events failed'));
  }, PRUNE_INTERVAL_MS);
  pruning.unref();

  const subscriptions: DomainEventSubscriptions = {
    subscribe(name, handler) {
      const subscriber: LocalSubscriber = { name, handler, cursor: head, failures: 0, retryAt: 0 };
      locals.push(subscriber);
      return () => {
        const index = locals.indexOf(subscriber);
        if (index >= 0) locals.splice(index, 1);
      };
    },
  };

  return {
    ...subscriptions,
    /**
     * A subscriber that must see every event once across the platform, also across restarts
     * (notifications, webhooks, billing). Its first registration starts it at the newest event.
     */
    async subscribeDurable(name: string, handler: DomainEventHandler): Promise<void> {
      await db
        .insertInto('domain_event_cursors')
        .values({ subscriber: name, last_event_id: String(await latestEventId()) })
        .onConflict((oc) => oc.column('subscriber').doNothing())
        .execute();
      durables.set(name, { handler, failures: 0, retryAt: 0 });
      void deliver();
    },
    deliver,
    prune,
    async stop(): Promise<void> {
      stopped = true;
      unlisten();
      clearInterval(poll);
      clearInterval(pruning);
      clearTimeout(retryTimer?.timer);
      await running;
    },
  };
}
