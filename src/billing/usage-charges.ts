/**
 * Billable usage of a billing period, and what it costs above a price's included amounts. Pure:
 * the provider hands in the tenant's usage points of the period (usage/ measures them), the
 * engine decides with the result.
 *
 * The rule: a period's billable quantity is the PEAK OF ITS DAILY MAXIMA. Each UTC day's maximum
 * of active internal Odoo users (and of database + filestore size, in started GiB) is taken, and
 * the period is billed for its highest day. Why:
 * - it counts what the plan's limit counts (active users at one time), so "10 users included"
 *   means the same on the plans page, in the limit warnings and on the invoice;
 * - the customer can predict and check it: it is the top of the daily usage chart, and the
 *   invoice names the day it happened;
 * - daily maxima are what usage/ keeps for the whole life of a tenant (raw samples only for 7
 *   days), so a period can be recomputed, or disputed, long after it closed;
 * - a user added for one day costs the same as one kept all period, like a seat: cheaper
 *   averaging schemes invite adding users for a day and removing them before the sample.
 * Days without a sample (a stopped, hibernated or not yet created tenant) do not count; a period
 * without any sample bills nothing extra.
 */
import type { PriceInterval } from '../plans/index.js';
import { formatMoney, money } from './money.js';

/** One usage measurement (a raw sample, or the maximum of an hour or a day starting at `at`). */
export interface UsagePoint {
  at: Date;
  odooUsers: number | null;
  storageBytes: number | null;
}

/** A price per unit above an included amount (minor units of the price's currency). */
export interface ExtraUnitPrice {
  included: number;
  amountMinor: number;
}

export const USAGE_METRICS = ['odoo_users', 'storage_gib'] as const;
export type UsageMetric = (typeof USAGE_METRICS)[number];

/** The peak of one metric over a period. */
export interface MetricPeak {
  /** Highest daily maximum; null when the period has no sample of this metric. */
  peak: number | null;
  /** The first UTC day (midnight) that reached the peak. */
  peakDay: Date | null;
  /** UTC days of the period with at least one sample of this metric. */
  daysSampled: number;
}

export type PeriodUsage = Record<UsageMetric, MetricPeak>;

const GIB = 1024 ** 3;
const DAY_MS = 86_400_000;

/** Started GiB: 1 byte over 5 GiB is 6 GiB (storage is billed per started GiB). */
export function startedGiB(bytes: number): number {
  return Math.ceil(bytes / GIB);
}

function peakOf(points: ReadonlyArray<{ day: number; value: number | null }>): MetricPeak {
  const daily = new Map<number, number>();
  for (const { day, value } of points) {
    if (value === null || !Number.isFinite(value)) continue;
    daily.set(day, Math.max(daily.get(day) ?? Number.NEGATIVE_INFINITY, value));
  }
  let peak: number | null = null;
  let peakDay: number | null = null;
  for (const day of [...daily.keys()].sort((a, b) => a - b)) {
    const value = daily.get(day) as number;
    if (peak === null || value > peak) {
      peak = value;
      peakDay = day;
    }
  }
  return { peak, peakDay: peakDay === null ? null : new Date(peakDay), daysSampled: daily.size };
}

/**
 * The peaks of `period` (start inclusive, end exclusive) from the points measured in it. Points
 * outside the period are ignored, overlapping sources (a raw sample and the rollup holding it)
 * are harmless: a maximum counts once.
 */
export function periodUsage(points: readonly UsagePoint[], period: { start: Date; end: Date }): PeriodUsage {
  const inPeriod = points
    .filter((p) => p.at >= period.start && p.at < period.end)
    .map((p) => ({ ...p, day: Math.floor(p.at.getTime() / DAY_MS) * DAY_MS }));
  return {
    odoo_users: peakOf(inPeriod.map((p) => ({ day: p.day, value: p.odooUsers }))),
    storage_gib: peakOf(inPeriod.map((p) => ({ day: p.day, value: p.storageBytes === null ? null : startedGiB(p.storageBytes) }))),
  };
}

/**
 * The usage of a period, measured (the provider's, from the tenant's points); null when the
 * subscription meters nothing (it bills no tenant).
 */
export type UsageMeter = (period: { start: Date; end: Date }) => PeriodUsage | null;

/** What a price charges per unit of each metric above its included amount, when it does. */
export interface UsagePricing {
  currency: string;
  perUser?: ExtraUnitPrice | undefined;
  perStorageGiB?: ExtraUnitPrice | undefined;
}

/** One charge for usage above the included amount, with the figures that explain it. */
export interface UsageCharge {
  metric: UsageMetric;
  peak: number;
  peakDay: Date;
  included: number;
  extra: number;
  unitAmountMinor: number;
  amountMinor: number;
  /** The invoice line's text: the quantity explained. */
  description: string;
}

const UNITS: Record<UsageMetric, { pricing: 'perUser' | 'perStorageGiB'; what: string; unit: (n: number) => string }> = {
  odoo_users: { pricing: 'perUser', what: 'active users', unit: (n) => (n === 1 ? 'extra user' : 'extra users') },
  storage_gib: { pricing: 'perStorageGiB', what: 'GiB of storage', unit: () => 'extra GiB' },
};

function isoDay(day: Date): string {
  return day.toISOString().slice(0, 10);
}

/**
 * The charges of a period's usage under `price`: one per priced metric whose peak is above the
 * included amount (none when it is not, or when nothing was measured).
 */
export function usageCharges(price: UsagePricing, usage: PeriodUsage): UsageCharge[] {
  const charges: UsageCharge[] = [];
  for (const metric of USAGE_METRICS) {
    const unit = UNITS[metric];
    const pricing = price[unit.pricing];
    const { peak, peakDay } = usage[metric];
    if (!pricing || peak === null || peakDay === null || peak <= pricing.included) continue;
    const extra = peak - pricing.included;
    const amount = money(extra * pricing.amountMinor, price.currency);
    charges.push({
      metric,
      peak,
      peakDay,
      included: pricing.included,
      extra,
      unitAmountMinor: pricing.amountMinor,
      amountMinor: amount.amountMinor,
      description:
        `${extra} ${unit.unit(extra)} x ${formatMoney(money(pricing.amountMinor, price.currency))}: ` +
        `peak of ${peak} ${unit.what} on ${isoDay(peakDay)}, ${pricing.included} included`,
    });
  }
  return charges;
}

/** The usage of a closed period as billing records it (one row per subscription and period). */
export interface PeriodUsageRecord {
  subscriptionId: string;
  plan: string;
  interval: PriceInterval;
  periodStart: Date;
  periodEnd: Date;
  usage: PeriodUsage;
  /** What the period's usage was charged (0 when nothing was above the included amounts). */
  chargedMinor: number;
  currency: string;
}
