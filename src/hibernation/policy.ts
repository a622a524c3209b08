/**
 * When a tenant hibernates and when its crons wake it (pure). Only dedicated processes hibernate:
 * a pool's process serves other tenants too. Idle time counts from the newest of the last HTTP
 * request, the last wake and the moment the tenant became `running`, so a tenant just started or
 * just woken is never put back to sleep at once.
 */
import type { TenantHibernationRow } from '../db/index.js';

/** A tenant woken only to run its crons sleeps again this long after, unless a request came. */
export const CRON_WAKE_GRACE_MS = 5 * 60_000;
/** A cron already due when a tenant hibernates wakes it no sooner than this (no wake loops). */
export const MIN_CRON_WAKE_DELAY_MS = 60_000;

export interface HibernationCandidate {
  processStrategy: 'pool' | 'dedicated';
  /** The plan's `placement.hibernateAfterIdleMinutes` (undefined or null: never). */
  idleMinutes: number | null | undefined;
  runningSince: Date;
  row: Pick<TenantHibernationRow, 'last_request_at' | 'hibernated_at' | 'last_woken_at' | 'last_wake_reason'> | undefined;
}

function newest(...times: Array<Date | null | undefined>): number {
  return Math.max(...times.map((time) => time?.getTime() ?? 0));
}

export function hibernationDue(candidate: HibernationCandidate, now: Date): boolean {
  const { idleMinutes, row } = candidate;
  if (candidate.processStrategy !== 'dedicated' || idleMinutes == null || row?.hibernated_at) return false;
  const cronOnly =
    row?.last_wake_reason === 'cron' && row.last_woken_at !== null && newest(row.last_request_at) < row.last_woken_at.getTime();
  const allowedIdleMs = cronOnly ? Math.min(CRON_WAKE_GRACE_MS, idleMinutes * 60_000) : idleMinutes * 60_000;
  const idleFrom = newest(row?.last_request_at, row?.last_woken_at, candidate.runningSince);
  return now.getTime() - idleFrom >= allowedIdleMs;
}

export interface DatabaseServerSleepCandidate {
  /** The plan's `placement.hibernateDatabaseServerAfterIdleMinutes` (undefined or null: never). */
  idleMinutes: number | null | undefined;
  runningSince: Date;
  row: Pick<TenantHibernationRow, 'last_request_at' | 'hibernated_at' | 'last_woken_at' | 'last_wake_reason'> | undefined;
}

/**
 * Whether a hibernated tenant's dedicated PostgreSQL server is stopped too. Idle time counts from
 * the newest of the last request, the last wake *for a request* and the moment the tenant became
 * `running`: a cron wake (or a backup's lease) does not restart the count, so a server woken for
 * those sleeps again at the next sweep once the tenant's Odoo is hibernated again.
 */
export function databaseServerSleepDue(candidate: DatabaseServerSleepCandidate, now: Date): boolean {
  const { idleMinutes, row } = candidate;
  if (idleMinutes == null || !row?.hibernated_at) return false;
  const lastRequestWake = row.last_wake_reason === 'request' ? row.last_woken_at : null;
  const idleFrom = newest(row.last_request_at, lastRequestWake, candidate.runningSince);
  return now.getTime() - idleFrom >= idleMinutes * 60_000;
}

/** When a hibernated tenant is woken for its crons: its earliest `nextcall`, never in the past. */
export function cronWakeTime(earliestNextcall: Date | null, now: Date): Date | null {
  if (!earliestNextcall) return null;
  return new Date(Math.max(earliestNextcall.getTime(), now.getTime() + MIN_CRON_WAKE_DELAY_MS));
}
