/**
 * HTTP requests seen by this replica's gateway, kept in memory (a request costs a map write, no
 * query) and flushed in batches: the newest time per tenant, written with GREATEST so replicas
 * flushing in any order agree. Idle thresholds are minutes long; a flush every few seconds is
 * far finer than that.
 */
import type { Db } from '../db/index.js';
import type { Logger } from '../logging/index.js';
import { recordRequests } from './store.js';

export const ACTIVITY_FLUSH_MS = 10_000;

export interface ActivityRecorder {
  seen(tenantId: string): void;
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export function createActivityRecorder(deps: { db: Db; logger: Logger; flushMs?: number }): ActivityRecorder {
  let pending = new Map<string, Date>();
  let flushing: Promise<void> = Promise.resolve();

  function flush(): Promise<void> {
    flushing = flushing.then(async () => {
      if (pending.size === 0) return;
      const batch = pending;
      pending = new Map();
      try {
        await recordRequests(deps.db, batch);
      } catch (error) {
        // Put the batch back (newer times seen meanwhile win) and try with the next flush.
        for (const [id, at] of batch) if (!pending.has(id)) pending.set(id, at);
        deps.logger.warn({ err: error, tenants: batch.size }, 'could not record tenant activity; retrying with the next flush');
      }
    });
    return flushing;
  }

  const timer = setInterval(() => void flush(), deps.flushMs ?? ACTIVITY_FLUSH_MS);
  timer.unref();
  return {
    seen(tenantId) {
      pending.set(tenantId, new Date());
    },
    flush,
    async stop() {
      clearInterval(timer);
      await flush();
    },
  };
}
