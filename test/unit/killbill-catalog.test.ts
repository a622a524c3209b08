import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type CatalogPlan,
  CatalogRefusedError,
  catalogHasPlans,
  decimalAmount,
  killbillCatalogXml,
  killbillOverdueXml,
  killbillPlanName,
  minorAmount,
  planOfKillbillName,
} from '../../src/billing/providers/killbill/index.js';
import { CATALOG_PLANS } from '../fixtures/killbill/plans.js';

describe('Kill Bill catalog generated from the plan catalog', () => {
  it('matches the golden catalog XML (free and archived plans left out, TRIAL + EVERGREEN per price)', () => {
    const xml = killbillCatalogXml(CATALOG_PLANS, { name: 'odoo-saas', effectiveDate: new Date('2026-01-01T00:00:00Z') });
    expect(xml).toBe(readFileSync('test/fixtures/killbill/catalog.golden.xml', 'utf8'));
  });

  it('is the same for the same plans in another order (a re-upload of an unchanged catalog is recognisable)', () => {
    const options = { name: 'odoo-saas', effectiveDate: new Date('2026-01-01T00:00:00Z') };
    expect(killbillCatalogXml([...CATALOG_PLANS].reverse(), options)).toBe(killbillCatalogXml(CATALOG_PLANS, options));
  });

  it('refuses a taxed price (Kill Bill adds no tax) and a catalog with nothing to bill, saying why', () => {
    const taxed: CatalogPlan = {
      code: 'vat',
      archived: false,
      trialDays: 0,
      prices: [{ interval: 'month', amountCents: 100, currency: 'EUR', taxRateBasisPoints: 1900 }],
    };
    const options = { name: 'x', effectiveDate: new Date(0) };
    expect(() => killbillCatalogXml([taxed], options)).toThrow(CatalogRefusedError);
    expect(() => killbillCatalogXml([taxed], options)).toThrow(/Plan vat has a tax rate/);
    expect(() => killbillCatalogXml([CATALOG_PLANS[0] as CatalogPlan], options)).toThrow(/No paid plan/);
  });

  it('refuses a per-user or per-GiB price (the Kill Bill provider bills no usage), naming the way out', () => {
    const seats: CatalogPlan = {
      code: 'seats',
      archived: false,
      trialDays: 0,
      prices: [
        { interval: 'month', amountCents: 4900, currency: 'USD', taxRateBasisPoints: 0, perUser: { included: 2, amountCents: 500 } },
      ],
    };
    const options = { name: 'x', effectiveDate: new Date(0) };
    expect(() => killbillCatalogXml([seats], options)).toThrow(CatalogRefusedError);
    expect(() => killbillCatalogXml([seats], options)).toThrow(/Plan seats prices extra users .*BILLING_PROVIDER=builtin/);
    const storage = {
      ...seats,
      prices: [{ ...(seats.prices[0] as CatalogPlan['prices'][number]), perUser: undefined, perStorageGiB: {} }],
    };
    expect(() => killbillCatalogXml([storage], options)).toThrow(/prices extra storage/);
  });

  it('names plans both ways and converts amounts exactly', () => {
    expect(killbillPlanName('standard', 'month')).toBe('standard-monthly');
    expect(killbillPlanName('pro-team', 'year')).toBe('pro-team-annual');
    expect(planOfKillbillName('pro-team-annual')).toEqual({ plan: 'pro-team', interval: 'year' });
    expect(planOfKillbillName('standard-monthly')).toEqual({ plan: 'standard', interval: 'month' });
    expect(planOfKillbillName('sports-car-weekly')).toBeNull();
    expect(decimalAmount(1900, 'USD')).toBe('19.00');
    expect(decimalAmount(5, 'USD')).toBe('0.05');
    expect(decimalAmount(1900, 'JPY')).toBe('1900');
    expect(minorAmount(19, 'USD')).toBe(1900);
    expect(minorAmount(0.29, 'USD')).toBe(29);
    expect(minorAmount(1900, 'JPY')).toBe(1900);
  });

  it('recognises a catalog Kill Bill already has, as Kill Bill answers it (reformatted amounts), and a changed price', () => {
    const ours = killbillCatalogXml(CATALOG_PLANS, { name: 'odoo-saas', effectiveDate: new Date('2026-01-01T00:00:00Z') });
    const asKillbillAnswers = ours
      .replaceAll('<plan name="standard-monthly">', '<plan name="standard-monthly" prettyName="standard-monthly">')
      .replaceAll('<value>19.00</value>', '<value>19.000000000</value>');
    expect(catalogHasPlans(asKillbillAnswers, ours)).toBe(true);
    expect(catalogHasPlans(asKillbillAnswers.replace('<value>19.000000000</value>', '<value>21.000000000</value>'), ours)).toBe(false);
    expect(catalogHasPlans('', ours)).toBe(false);
  });
});

describe('Kill Bill overdue configuration generated from our dunning defaults', () => {
  it('matches the golden XML: grace from day 1, suspended on day 7, terminated on day 30', () => {
    expect(killbillOverdueXml()).toBe(readFileSync('test/fixtures/killbill/overdue.golden.xml', 'utf8'));
  });

  it('follows the schedule it is given and refuses one out of order', () => {
    const xml = killbillOverdueXml({ suspendOnDay: 10, terminateOnDay: 45 });
    expect(xml).toMatch(
      /<state name="SUSPENDED">\s*<condition><timeSinceEarliestUnpaidInvoiceEqualsOrExceeds><unit>DAYS<\/unit><number>10</,
    );
    expect(xml).toMatch(
      /<state name="TERMINATED">\s*<condition><timeSinceEarliestUnpaidInvoiceEqualsOrExceeds><unit>DAYS<\/unit><number>45</,
    );
    expect(() => killbillOverdueXml({ suspendOnDay: 10, terminateOnDay: 5 })).toThrow(/dunning days/);
  });
});
