/**
 * Sleep and wake of dedicated managed PostgreSQL servers (the `hibernated_at` column of
 * `database_servers`, whose owner is the registry that builds this). Hibernation decides *when*
 * a server may sleep (its tenants' Odoo hibernated and idle long enough); this module makes the
 * stop and the start safe:
 *
 * - `whileAwake(id, fn)` is the lease every other user of a server takes (backups, restores,
 *   the primary-domain switch...): a shared PostgreSQL advisory lock on the platform database,
 *   held on one connection for the duration of `fn`, with the server started first if it slept.
 *   The sleeper takes the same lock exclusively without waiting, so it never stops a server
 *   someone is using; a crashed holder's connection ends and its lease with it.
 * - `sleep(id, check)` is one transaction: the caller's check (which locks its tenants' rows,
 *   the same order a tenant's wake locks them), the server's row, the lease, `pg_ctl stop`, then
 *   the row marked hibernated. Killed before the commit, the row still says awake and the restarted
 *   platform starts the server at boot; after it, boot leaves it stopped.
 * - `wake(id)` starts a sleeping server under its row lock and clears the mark; concurrent wakes
 *   on this replica share one start, other replicas wait for the row and find it awake. Killed
 *   after the start but before the commit, the row still says asleep and boot stops the stray
 *   postmaster again (`settleAtBoot`).
 */
import { sql, type Transaction } from 'kysely';
import type { Database, DatabaseServerRow, Db } from '../db/index.js';
import type { Logger } from '../logging/index.js';

/** First key of the two-key advisory locks of this module (the second is the server's). */
const LEASE_LOCK_SPACE = 0x5e7a; // arbitrary, unique among the platform's two-key advisory locks

export interface ServerSleepDependencies {
  db: Db;
  logger: Logger;
  /** Starts the managed server of `row` and records its (possibly new) address through `trx`. */
  start(row: DatabaseServerRow, trx: Transaction<Database>): Promise<void>;
  /** Stops the managed server of `row`, whether this process started it or not. */
  stop(row: DatabaseServerRow): Promise<void>;
  /** Test-only fault injection (SAAS_TEST_CRASH_AFTER_STEP). */
  crashPoint?: (point: string) => void;
}

export interface ServerWake {
  /** How long the server took to start (0 when it was awake already). */
  startMs: number;
  woke: boolean;
}

/** Only managed dedicated servers sleep: a shared one serves other tenants, an external one is not ours to stop. */
export function canSleep(row: Pick<DatabaseServerRow, 'kind' | 'managed_directory' | 'is_default'>): boolean {
  return row.kind === 'dedicated' && row.managed_directory !== null && !row.is_default;
}

export type ServerSleep = ReturnType<typeof createServerSleep>;

export function createServerSleep(deps: ServerSleepDependencies) {
  const { db, logger } = deps;
  const waking = new Map<string, Promise<ServerWake>>();
  let starts = 0;

  async function wakeNow(id: string): Promise<ServerWake> {
    return db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('database_servers').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
      if (!row?.hibernated_at) return { startMs: 0, woke: false };
      const startedAt = performance.now();
      starts += 1;
      await deps.start(row, trx);
      deps.crashPoint?.('server-wake:started');
      await trx.updateTable('database_servers').set({ hibernated_at: null }).where('id', '=', id).execute();
      const startMs = Math.round(performance.now() - startedAt);
      logger.info({ serverId: id, startMs }, 'dedicated PostgreSQL server woken from hibernation');
      return { startMs, woke: true };
    });
  }

  async function hibernatedAt(id: string): Promise<Date | null> {
    const row = await db.selectFrom('database_servers').select('hibernated_at').where('id', '=', id).executeTakeFirst();
    return row?.hibernated_at ?? null;
  }

  async function wake(id: string): Promise<ServerWake> {
    // Unlocked first look: every caller holds either the tenant's hibernation row or a lease, so a
    // server seen awake here cannot be put to sleep before the caller is done. Spares the shared
    // servers' rows a lock at every tenant wake.
    if ((await hibernatedAt(id)) === null) return { startMs: 0, woke: false };
    let pending = waking.get(id);
    if (!pending) {
      pending = wakeNow(id).finally(() => waking.delete(id));
      waking.set(id, pending);
    }
    return pending;
  }

  return {
    wake,

    async isAsleep(id: string): Promise<boolean> {
      return (await hibernatedAt(id)) !== null;
    },

    hibernatedAt,

    /**
     * Runs `fn` with the server awake and kept awake: woken first if it slept, and the sleeper
     * cannot stop it until `fn` settles. Servers that never sleep run `fn` at once.
     */
    async whileAwake<T>(id: string, fn: () => Promise<T>): Promise<T> {
      const row = await db
        .selectFrom('database_servers')
        .select(['kind', 'managed_directory', 'is_default'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row || !canSleep(row)) return fn();
      return db.connection().execute(async (connection) => {
        await sql`SELECT pg_advisory_lock_shared(${LEASE_LOCK_SPACE}, hashtext(${id}))`.execute(connection);
        try {
          await wake(id);
          return await fn();
        } finally {
          await sql`SELECT pg_advisory_unlock_shared(${LEASE_LOCK_SPACE}, hashtext(${id}))`.execute(connection);
        }
      });
    },

    /**
     * Stops the server if `check` (run first, in the same transaction) still agrees and nobody
     * holds a lease. `onSlept` writes what the caller records of it (timeline entries) in the
     * same transaction. Answers whether the server was put to sleep.
     */
    async sleep(
      id: string,
      check: (trx: Transaction<Database>) => Promise<boolean>,
      onSlept: (trx: Transaction<Database>, at: Date) => Promise<void>,
      now = new Date(),
    ): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        if (!(await check(trx))) return false;
        const row = await trx.selectFrom('database_servers').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
        if (!row || row.hibernated_at || !canSleep(row)) return false;
        const free = await sql<{ free: boolean }>`SELECT pg_try_advisory_xact_lock(${LEASE_LOCK_SPACE}, hashtext(${id})) AS free`.execute(
          trx,
        );
        if (!free.rows[0]?.free) return false; // in use (a backup, a restore...): the next sweep tries again
        deps.crashPoint?.('server-sleep:decided');
        await deps.stop(row);
        deps.crashPoint?.('server-sleep:stopped');
        await trx.updateTable('database_servers').set({ hibernated_at: now }).where('id', '=', id).execute();
        await onSlept(trx, now);
        logger.info({ serverId: id }, 'dedicated PostgreSQL server hibernated');
        return true;
      });
    },

    /**
     * At boot, before managed servers are started: a hibernated server's postmaster still running
     * (a wake killed before its commit) is stopped, so the row and the server agree.
     */
    async settleAtBoot(rows: readonly DatabaseServerRow[]): Promise<void> {
      for (const row of rows) if (row.hibernated_at && canSleep(row)) await deps.stop(row);
    },

    /** Server starts by wakes on this replica since it started (tests: 20 first requests, one start). */
    starts: () => starts,
  };
}
