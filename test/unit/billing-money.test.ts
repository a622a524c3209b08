import { describe, expect, it } from 'vitest';
import { addMoney, divideRounded, formatMoney, formatTaxRate, money, shareOf, sumMoney, taxOn } from '../../src/billing/index.js';
import { parseCatalog } from '../../src/plans/index.js';

describe('money in integer minor units', () => {
  it('refuses fractions of a minor unit and mixed currencies', () => {
    expect(() => money(19.5, 'USD')).toThrow(/whole minor units/);
    expect(() => money(100, 'usd')).toThrow(/ISO 4217/);
    expect(() => addMoney(money(1, 'USD'), money(1, 'EUR'))).toThrow(/Cannot combine USD with EUR/);
    expect(sumMoney('NGN', [money(150_000, 'NGN'), money(50, 'NGN')])).toEqual({ amountMinor: 150_050, currency: 'NGN' });
  });

  it('rounds half away from zero, exactly, so a charge and its credit cancel', () => {
    expect(divideRounded(5n, 2n)).toBe(3);
    expect(divideRounded(-5n, 2n)).toBe(-3);
    expect(divideRounded(4n, 3n)).toBe(1);
    expect(divideRounded(-4n, 3n)).toBe(-1);
    // Far beyond 2^53 in the intermediate product: still exact.
    expect(divideRounded(100_000_000n * 31_536_000n, 31_536_000n)).toBe(100_000_000);
  });

  it('tax is computed on the net amount in basis points', () => {
    expect(taxOn(money(1900, 'USD'), 1600)).toEqual(money(304, 'USD'));
    expect(taxOn(money(1333, 'USD'), 1600)).toEqual(money(213, 'USD'));
    expect(taxOn(money(5, 'USD'), 1000)).toEqual(money(1, 'USD')); // 0.5 -> 1
    expect(taxOn(money(1000, 'KES'), 0)).toEqual(money(0, 'KES'));
    expect(() => taxOn(money(1, 'USD'), 10_001)).toThrow(/basis points/);
    expect(() => taxOn(money(1, 'USD'), 7.5)).toThrow(/basis points/);
  });

  it('shares of a period are rounded once', () => {
    expect(shareOf(money(1900, 'USD'), 20, 30)).toEqual(money(1267, 'USD'));
    expect(() => shareOf(money(1900, 'USD'), 31, 30)).toThrow(/fraction/);
  });

  it('formats with the currency’s own minor unit, without floats', () => {
    expect(formatMoney(money(2204, 'USD'))).toBe('USD 22.04');
    expect(formatMoney(money(-1267, 'USD'))).toBe('-USD 12.67');
    expect(formatMoney(money(1_900_000, 'JPY'))).toBe('JPY 1,900,000');
    expect(formatMoney(money(1_234_567, 'KWD'))).toBe('KWD 1,234.567');
    expect(formatMoney(money(5, 'NGN'))).toBe('NGN 0.05');
    expect(formatTaxRate(1600)).toBe('16%');
    expect(formatTaxRate(1550)).toBe('15.5%');
    expect(formatTaxRate(75)).toBe('0.75%');
  });
});

describe('plan prices in the catalog', () => {
  const plan = (prices: unknown[]) => ({
    plans: [
      {
        code: 'pp',
        name: 'P',
        limits: { cpu: 1, memoryMiB: 1024, storageGiB: 5, odooUsers: 3 },
        placement: { databaseStrategy: 'shared', processStrategy: 'pool', replicas: 1, limitPolicy: 'block' },
        prices,
      },
    ],
  });

  it('carries a tax rate in basis points (default 0)', () => {
    const [parsed] = parseCatalog(plan([{ interval: 'month', amountCents: 1900, currency: 'USD', taxRateBasisPoints: 1600 }]));
    expect(parsed?.prices[0]?.taxRateBasisPoints).toBe(1600);
    const [untaxed] = parseCatalog(plan([{ interval: 'year', amountCents: 19000, currency: 'NGN' }]));
    expect(untaxed?.prices[0]?.taxRateBasisPoints).toBe(0);
  });

  it('refuses unknown currencies, mixed currencies, fractional amounts and tax rates', () => {
    expect(() => parseCatalog(plan([{ interval: 'month', amountCents: 1, currency: 'ABC' }]))).toThrow(/prices.0.currency/);
    expect(() =>
      parseCatalog(
        plan([
          { interval: 'month', amountCents: 1, currency: 'USD' },
          { interval: 'year', amountCents: 10, currency: 'EUR' },
        ]),
      ),
    ).toThrow(/one currency/);
    expect(() => parseCatalog(plan([{ interval: 'month', amountCents: 19.99, currency: 'USD' }]))).toThrow(/amountCents/);
    expect(() => parseCatalog(plan([{ interval: 'month', amountCents: 1, currency: 'USD', taxRateBasisPoints: 16.5 }]))).toThrow(
      /taxRateBasisPoints/,
    );
  });
});
