import { createHash } from 'node:crypto';

/**
 * When each tenant's daily backup runs: at `hour` in the platform's time zone, plus a stable
 * jitter within the hour derived from the tenant's id, so a thousand tenants do not all dump at
 * 02:00:00 and each one's backups stay 24 hours apart. Pure: `now` comes from the caller.
 */
export interface DailySchedule {
  hour: number;
  timeZone: string;
}

/** Seconds after the hour at which this tenant's backup runs, the same on every replica and every day. */
export function jitterSeconds(tenantId: string): number {
  return createHash('sha256').update(tenantId).digest().readUInt32BE(0) % 3600;
}

/** Offset of `timeZone` from UTC at `instant`, in milliseconds (positive east of Greenwich). */
function zoneOffsetMs(instant: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(instant));
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** The calendar day (in the zone) that `instant` falls on, as UTC midnight of that date. */
function localDay(instant: number, timeZone: string): number {
  const local = instant + zoneOffsetMs(instant, timeZone);
  const date = new Date(local);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
}

/** The instant of the tenant's slot on a local calendar day (given as UTC midnight of that date). */
function slotOnDay(day: number, tenantId: string, schedule: DailySchedule): Date {
  const wallClock = day + schedule.hour * 3_600_000 + jitterSeconds(tenantId) * 1000;
  // Local wall-clock time -> instant: subtract the zone's offset, then again with the offset at
  // that instant (a day on which the clocks change has another offset at 02:00 than at midnight).
  const first = wallClock - zoneOffsetMs(wallClock, schedule.timeZone);
  return new Date(wallClock - zoneOffsetMs(first, schedule.timeZone));
}

/** The newest slot of this tenant at or before `now`: what a scheduler running at `now` owes it. */
export function latestDueSlot(tenantId: string, now: Date, schedule: DailySchedule): Date {
  const today = localDay(now.getTime(), schedule.timeZone);
  const slot = slotOnDay(today, tenantId, schedule);
  return slot.getTime() <= now.getTime() ? slot : slotOnDay(today - 86_400_000, tenantId, schedule);
}
