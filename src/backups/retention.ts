/**
 * Which backups to keep: grandfather-father-son over the scheduled ones (the newest backup of
 * each of the last `daily` days, `weekly` ISO weeks and `monthly` months that have one), and
 * every other backup (on demand, before an operation) for `otherDays` days or until its own
 * `keepUntil`. Failed backups never count: they are kept `otherDays` days for the record (their
 * archive is already gone) and protect nothing. Running ones are always kept, and so is a
 * tenant's newest verified backup whatever its age. Pure: `now` comes from the caller; days,
 * weeks and months are UTC calendar ones.
 */
export interface RetentionPolicy {
  daily: number;
  weekly: number;
  monthly: number;
  otherDays: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { daily: 7, weekly: 4, monthly: 3, otherDays: 30 };

export interface RetainedBackup {
  id: string;
  trigger: string;
  state: 'running' | 'verified' | 'failed';
  startedAt: Date;
  keepUntil: Date | null;
}

export type RetentionReason = 'running' | 'newest' | 'daily' | 'weekly' | 'monthly' | 'kept-window' | 'expired' | 'failed-expired';

export interface RetentionDecision {
  id: string;
  keep: boolean;
  reason: RetentionReason;
}

const DAY_MS = 86_400_000;

function dayKey(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** ISO-8601 week: the year of its Thursday and its number. */
function weekKey(date: Date): string {
  const day = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / DAY_MS + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

function monthKey(date: Date): string {
  return date.toISOString().slice(0, 7);
}

/** The newest backup of each of the `count` newest periods, by `key`. `newestFirst` is sorted. */
function newestPerPeriod(newestFirst: RetainedBackup[], count: number, key: (date: Date) => string): Set<string> {
  const kept = new Set<string>();
  const periods = new Set<string>();
  for (const backup of newestFirst) {
    const period = key(backup.startedAt);
    if (periods.has(period)) continue;
    if (periods.size >= count) break;
    periods.add(period);
    kept.add(backup.id);
  }
  return kept;
}

/** One tenant's backups -> what to keep and why. Every input backup gets exactly one decision. */
export function retentionDecisions(backups: readonly RetainedBackup[], policy: RetentionPolicy, now: Date): RetentionDecision[] {
  const newestFirst = [...backups].sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime() || (a.id < b.id ? -1 : 1));
  const verified = newestFirst.filter((b) => b.state === 'verified');
  const scheduled = verified.filter((b) => b.trigger === 'schedule');
  const daily = newestPerPeriod(scheduled, policy.daily, dayKey);
  const weekly = newestPerPeriod(scheduled, policy.weekly, weekKey);
  const monthly = newestPerPeriod(scheduled, policy.monthly, monthKey);
  const newest = verified[0]?.id;
  const windowStart = now.getTime() - policy.otherDays * DAY_MS;

  return newestFirst.map((backup): RetentionDecision => {
    const decide = (keep: boolean, reason: RetentionReason) => ({ id: backup.id, keep, reason });
    if (backup.state === 'running') return decide(true, 'running');
    if (backup.state === 'failed')
      return decide(backup.startedAt.getTime() > windowStart, backup.startedAt.getTime() > windowStart ? 'kept-window' : 'failed-expired');
    if (backup.id === newest) return decide(true, 'newest');
    if (backup.keepUntil && backup.keepUntil.getTime() > now.getTime()) return decide(true, 'kept-window');
    if (backup.trigger === 'schedule') {
      if (daily.has(backup.id)) return decide(true, 'daily');
      if (weekly.has(backup.id)) return decide(true, 'weekly');
      if (monthly.has(backup.id)) return decide(true, 'monthly');
      return decide(false, 'expired');
    }
    if (!backup.keepUntil && backup.startedAt.getTime() > windowStart) return decide(true, 'kept-window');
    return decide(false, 'expired');
  });
}
