/**
 * Waking a hibernated tenant: concurrent first requests (and a cron wake) of one tenant share one
 * wake; wakes of different tenants go through a first-come first-served line of a few at a time
 * per host (a wake storm starts Odoo processes `maxConcurrentWakes` at a time). Each part of the
 * wake is timed onto the tenant's timeline; a failed wake is an error entry there, and the same
 * tenant is not retried for a short cool-down (a visitor refreshing must not restart a broken Odoo
 * in a loop).
 */
import type { Upstream } from '../runtimes/index.js';
import { redactCredentials } from '../secrets/index.js';
import { recordTenantEvent, tenantById } from '../tenants/index.js';
import type { HibernationDependencies } from './dependencies.js';
import { createFairLimiter } from './fair-limiter.js';
import { lockHibernationRow, markAwake, recordWakeError } from './store.js';

export type WakeReason = 'request' | 'cron';

export type WakeOutcome =
  | { kind: 'awake'; upstream: Upstream }
  /** Not hibernated (or not running): whatever keeps it unserved is not this module's business. */
  | { kind: 'not_hibernated' }
  | { kind: 'failed'; reason: string };

export const WAKE_FAILURE_COOLDOWN_MS = 30_000;

export interface Waker {
  wake(tenantId: string, reason: WakeReason): Promise<WakeOutcome>;
  /** Wakes started on this replica since it started (tests: 20 first requests, one wake). */
  wakesStarted(): number;
}

class WakeTimeout extends Error {}

function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WakeTimeout(`Odoo was not healthy within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

export function createWaker(deps: HibernationDependencies): Waker {
  const { db, logger } = deps;
  const limiter = createFairLimiter(deps.maxConcurrentWakes);
  const inflight = new Map<string, Promise<WakeOutcome>>();
  const failures = new Map<string, { at: number; reason: string }>();
  let started = 0;

  async function wakeNow(tenantId: string, reason: WakeReason, askedAt: number): Promise<WakeOutcome> {
    const queuedMs = Math.round(performance.now() - askedAt);
    const outcome = await db.transaction().execute(async (trx) => {
      const row = await lockHibernationRow(trx, tenantId);
      const lockedAt = performance.now();
      const tenant = await tenantById(tenantId, trx);
      if (!row.hibernated_at || !tenant || tenant.state !== 'running') return { kind: 'not_hibernated' } as const;
      started += 1;
      // Its dedicated PostgreSQL server first (when it sleeps too): Odoo cannot start without it,
      // and the serve spec carries the server's address, which a start may change.
      const server = tenant.server_id ? await deps.servers.wake(tenant.server_id) : { startMs: 0, woke: false };
      const spec = await deps.serveSpecOf(tenant);
      const specAt = performance.now();
      const runtime = deps.runtimes.for(tenant);
      let upstream: Upstream;
      try {
        upstream = await within(runtime.serve(spec), deps.wakeTimeoutMs);
      } catch (error) {
        // A process that never became healthy is stopped again, or it would be restarted forever.
        // Not awaited: the runtime stops it once its own start attempt gives up (it holds the
        // tenant's lock until then), and the visitor is answered now.
        runtime.unserve(tenantId).catch((stopError: unknown) => logger.warn({ err: stopError, tenantId }, 'could not stop a failed wake'));
        throw error;
      }
      const servedAt = performance.now();
      const totalMs = Math.round(servedAt - askedAt);
      await markAwake(trx, tenantId, { at: new Date(), ms: totalMs, reason });
      await recordTenantEvent(trx, tenantId, {
        type: 'info',
        message:
          `Woken from hibernation (${reason === 'cron' ? 'a cron was due' : 'first request'}) in ${totalMs} ms: ` +
          `waited ${queuedMs} ms for a wake slot, ${Math.round(lockedAt - askedAt) - queuedMs} ms for the tenant's lock, ` +
          (server.woke ? `${server.startMs} ms to start its PostgreSQL server, ` : '') +
          `${Math.round(specAt - lockedAt) - server.startMs} ms to load the serve spec, ${Math.round(servedAt - specAt)} ms for Odoo to start and answer its health check`,
      });
      return { kind: 'awake', upstream } as const;
    });
    if (outcome.kind === 'awake') logger.info({ tenantId, reason }, 'tenant woken from hibernation');
    return outcome;
  }

  async function attempt(tenantId: string, reason: WakeReason): Promise<WakeOutcome> {
    const failure = failures.get(tenantId);
    if (failure && Date.now() - failure.at < WAKE_FAILURE_COOLDOWN_MS) return { kind: 'failed', reason: failure.reason };
    const askedAt = performance.now();
    try {
      const outcome = await limiter.run(() => wakeNow(tenantId, reason, askedAt));
      failures.delete(tenantId);
      return outcome;
    } catch (error) {
      const message = redactCredentials(error instanceof Error ? error.message : String(error));
      failures.set(tenantId, { at: Date.now(), reason: message });
      logger.error({ err: error, tenantId }, 'waking a hibernated tenant failed');
      await Promise.all([
        recordWakeError(db, tenantId, message),
        recordTenantEvent(db, tenantId, {
          type: 'error',
          message: `Waking from hibernation failed: ${message}. Visitors see a "could not be started" page; the next request after ${WAKE_FAILURE_COOLDOWN_MS / 1000} s tries again.`,
        }),
      ]).catch((recordError: unknown) => logger.error({ err: recordError, tenantId }, 'could not record a failed wake'));
      return { kind: 'failed', reason: message };
    }
  }

  return {
    wake(tenantId, reason) {
      let pending = inflight.get(tenantId);
      if (!pending) {
        pending = attempt(tenantId, reason).finally(() => inflight.delete(tenantId));
        inflight.set(tenantId, pending);
      }
      return pending;
    },
    wakesStarted: () => started,
  };
}
