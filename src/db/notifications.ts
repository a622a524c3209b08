import pg from 'pg';
import type { Logger } from '../logging/index.js';
import { quoteIdentifier } from './identifiers.js';

/**
 * PostgreSQL LISTEN/NOTIFY, so every control-plane replica learns at once that a tenant changed
 * (gateway routes, live event streams). One dedicated connection per replica, re-established
 * after a drop; `onReconnect` lets subscribers reload what they might have missed.
 */
export interface NotificationHub {
  subscribe(channel: string, handler: (payload: string) => void): () => void;
  onReconnect(handler: () => void): void;
  close(): Promise<void>;
}

export async function createNotificationHub(url: string, channels: string[], logger: Logger): Promise<NotificationHub> {
  const handlers = new Map<string, Set<(payload: string) => void>>();
  const reconnectHandlers = new Set<() => void>();
  let client: pg.Client | undefined;
  let closed = false;

  async function connect(): Promise<void> {
    const next = new pg.Client({ connectionString: url });
    next.on('notification', (message) => {
      for (const handler of handlers.get(message.channel) ?? []) handler(message.payload ?? '');
    });
    next.on('error', (error) => {
      logger.warn({ err: error }, 'notification connection lost; reconnecting');
      scheduleReconnect();
    });
    next.on('end', () => scheduleReconnect());
    await next.connect();
    for (const channel of channels) await next.query(`LISTEN ${quoteIdentifier(channel)}`);
    client = next;
  }

  let reconnecting = false;
  function scheduleReconnect(): void {
    if (closed || reconnecting) return;
    reconnecting = true;
    client = undefined;
    const attempt = (delay: number) =>
      setTimeout(() => {
        connect().then(
          () => {
            reconnecting = false;
            for (const handler of reconnectHandlers) handler();
          },
          () => attempt(Math.min(delay * 2, 10_000)),
        );
      }, delay).unref();
    attempt(200);
  }

  await connect();
  return {
    subscribe(channel, handler) {
      if (!channels.includes(channel)) throw new Error(`not listening on ${channel}`);
      const set = handlers.get(channel) ?? new Set();
      set.add(handler);
      handlers.set(channel, set);
      return () => set.delete(handler);
    },
    onReconnect(handler) {
      reconnectHandlers.add(handler);
    },
    async close() {
      closed = true;
      await client?.end().catch(() => undefined);
    },
  };
}
