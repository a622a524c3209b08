/**
 * Money as integers: an amount is a count of its currency's minor unit (cents, kobo, whole yen)
 * and always travels with its currency. Arithmetic that divides (tax, proration) is done in
 * BigInt and rounded half up once, at the end, so no float ever touches an amount and the same
 * inputs give the same cents on every replica.
 */

export interface Money {
  /** Integer count of the currency's minor unit. */
  readonly amountMinor: number;
  /** ISO 4217 code. */
  readonly currency: string;
}

export function money(amountMinor: number, currency: string): Money {
  if (!Number.isSafeInteger(amountMinor)) throw new RangeError(`Money amounts are whole minor units, got ${amountMinor}`);
  if (!/^[A-Z]{3}$/.test(currency)) throw new RangeError(`Not an ISO 4217 currency code: ${currency}`);
  return { amountMinor, currency };
}

function sameCurrency(a: Money, b: Money): void {
  if (a.currency !== b.currency) throw new RangeError(`Cannot combine ${a.currency} with ${b.currency}`);
}

export function addMoney(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return money(a.amountMinor + b.amountMinor, a.currency);
}

export function subtractMoney(a: Money, b: Money): Money {
  sameCurrency(a, b);
  return money(a.amountMinor - b.amountMinor, a.currency);
}

export function sumMoney(currency: string, amounts: readonly Money[]): Money {
  return amounts.reduce((total, next) => addMoney(total, next), money(0, currency));
}

/**
 * numerator / denominator rounded half away from zero, exactly (BigInt): a negative amount (a
 * credit) rounds to the same magnitude as the positive one, so a charge and its credit cancel.
 */
export function divideRounded(numerator: bigint, denominator: bigint): number {
  if (denominator <= 0n) throw new RangeError('denominator must be positive');
  const negative = numerator < 0n;
  const magnitude = negative ? -numerator : numerator;
  const rounded = (magnitude * 2n + denominator) / (denominator * 2n);
  const result = Number(negative ? -rounded : rounded);
  if (!Number.isSafeInteger(result)) throw new RangeError('amount out of range');
  return result;
}

/** Tax on a net amount at `rateBasisPoints` (1600 = 16 %), rounded half up to the minor unit. */
export function taxOn(net: Money, rateBasisPoints: number): Money {
  if (!Number.isInteger(rateBasisPoints) || rateBasisPoints < 0 || rateBasisPoints > 10_000)
    throw new RangeError(`tax rate must be 0..10000 basis points, got ${rateBasisPoints}`);
  return money(divideRounded(BigInt(net.amountMinor) * BigInt(rateBasisPoints), 10_000n), net.currency);
}

/** `amount` x part / whole, rounded half up (proration: the share of a period still to run). */
export function shareOf(amount: Money, part: number, whole: number): Money {
  if (!Number.isSafeInteger(part) || !Number.isSafeInteger(whole) || part < 0 || whole <= 0 || part > whole)
    throw new RangeError(`share ${part}/${whole} is not a fraction of a whole`);
  return money(divideRounded(BigInt(amount.amountMinor) * BigInt(part), BigInt(whole)), amount.currency);
}

/** Digits after the decimal point of a currency's minor unit (USD 2, JPY 0, KWD 3), from ICU. */
export function minorUnitDigits(currency: string): number {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** "USD 19.00", "JPY 1,900": exact (string arithmetic, no float), for invoices and mails. */
export function formatMoney(value: Money): string {
  const digits = minorUnitDigits(value.currency);
  const negative = value.amountMinor < 0;
  const text = String(Math.abs(value.amountMinor)).padStart(digits + 1, '0');
  const whole = text.slice(0, text.length - digits).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  const fraction = digits > 0 ? `.${text.slice(text.length - digits)}` : '';
  return `${negative ? '-' : ''}${value.currency} ${whole}${fraction}`;
}

/** A tax rate in basis points as people read it: 1600 -> "16%", 1550 -> "15.5%". */
export function formatTaxRate(rateBasisPoints: number): string {
  const whole = Math.trunc(rateBasisPoints / 100);
  const fraction = String(rateBasisPoints % 100)
    .padStart(2, '0')
    .replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}%` : `${whole}%`;
}
