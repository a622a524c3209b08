/**
 * Billing periods in UTC. A subscription keeps its anchor (when its first paid period began)
 * and period n ends at anchor + n intervals, each computed from the anchor, not from the last
 * end: a subscription started on 31 January renews on 28/29 February, then 31 March again,
 * never drifting to the 28th of every month.
 */
import type { PriceInterval } from '../plans/index.js';

export const DAY_MS = 24 * 60 * 60 * 1000;
export const HOUR_MS = 60 * 60 * 1000;

export function addDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * DAY_MS);
}

/** `months` calendar months after `date` (UTC), clamped to the last day of a shorter month. */
export function addMonths(date: Date, months: number): Date {
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return new Date(
    Date.UTC(
      year,
      month,
      Math.min(date.getUTCDate(), lastDay),
      date.getUTCHours(),
      date.getUTCMinutes(),
      date.getUTCSeconds(),
      date.getUTCMilliseconds(),
    ),
  );
}

/** The end of period number `n` (1 = the first) of a subscription anchored at `anchor`. */
export function periodEnd(anchor: Date, interval: PriceInterval, n: number): Date {
  return addMonths(anchor, (interval === 'year' ? 12 : 1) * n);
}
