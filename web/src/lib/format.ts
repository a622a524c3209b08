import type { Plan, PlanPrice } from './types';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  return dateTime.format(new Date(iso));
}

export function formatTime(iso: string): string {
  return time.format(new Date(iso));
}

export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return relative.format(seconds, 'second');
  if (abs < 45 * 60) return relative.format(Math.round(seconds / 60), 'minute');
  if (abs < 36 * 3600) return relative.format(Math.round(seconds / 3600), 'hour');
  return relative.format(Math.round(seconds / 86400), 'day');
}

export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  return `${Math.round(seconds / 60)} min`;
}

/**
 * An amount in a currency's minor unit (cents, kobo, whole yen) as money: the number of minor
 * digits comes from the currency (USD 2, JPY 0, KWD 3), never an assumed 100.
 */
export function formatMinor(amountMinor: number, currency: string): string {
  const format = new Intl.NumberFormat(undefined, { style: 'currency', currency });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(amountMinor / 10 ** digits);
}

/**
 * An amount typed in the currency's major unit ("9.50") as an integer count of its minor unit
 * (950), read digit by digit (no float touches money); null when it is not a plain amount.
 */
export function parseMinor(text: string, currency: string): number | null {
  const digits = new Intl.NumberFormat(undefined, { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  const match = /^(\d+)(?:[.,](\d*))?$/.exec(text.trim());
  if (!match) return null;
  const fraction = match[2] ?? '';
  if (fraction.length > digits) return null;
  const value = Number(match[1]) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
  return Number.isSafeInteger(value) ? value : null;
}

export function formatPrice(price: PlanPrice): string {
  return `${formatMinor(price.amountCents, price.currency)} / ${price.interval}`;
}

/** "+ USD 5.00 per user above 10", "+ USD 0.25 per GiB above 20": a price's usage pricing, one line each. */
export function usagePricingLines(price: PlanPrice): string[] {
  const lines: string[] = [];
  if (price.perUser)
    lines.push(`+ ${formatMinor(price.perUser.amountCents, price.currency)} per user above ${price.perUser.included} / ${price.interval}`);
  if (price.perStorageGiB)
    lines.push(
      `+ ${formatMinor(price.perStorageGiB.amountCents, price.currency)} per GiB above ${price.perStorageGiB.included} GiB / ${price.interval}`,
    );
  return lines;
}

export function planPriceLabel(plan: Plan): string {
  const monthly = plan.prices.find((p) => p.interval === 'month') ?? plan.prices[0];
  return plan.free || !monthly ? 'Free' : formatPrice(monthly);
}

export function formatMemory(mib: number): string {
  return mib >= 1024 ? `${(mib / 1024).toLocaleString(undefined, { maximumFractionDigits: 1 })} GiB` : `${mib} MiB`;
}

/** `schedule_delete` -> `Schedule delete`. */
export function humanize(text: string): string {
  const spaced = text.replaceAll('_', ' ').replaceAll('-', ' ');
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? null;
}
