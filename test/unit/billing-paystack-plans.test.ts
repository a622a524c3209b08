import { describe, expect, it } from 'vitest';
import { paystackPlanSpecs, planChange } from '../../src/billing/gateways/paystack-plans.js';
import type { Plan } from '../../src/plans/index.js';

/** Our catalog as Paystack plans: which prices become plans, at what amount (pure). */
const plan = (code: string, prices: unknown[], archived = false) => ({ code, archived, prices }) as unknown as Plan;

describe('paystackPlanSpecs', () => {
  it('one Paystack plan per paid price, tax included, with Paystack’s interval names', () => {
    const specs = paystackPlanSpecs([
      plan('standard', [
        { interval: 'month', amountCents: 1900, currency: 'NGN', taxRateBasisPoints: 750 },
        { interval: 'year', amountCents: 19000, currency: 'NGN' },
      ]),
    ]);
    expect(specs).toEqual([
      {
        plan: 'standard',
        interval: 'month',
        name: 'odoo-saas standard monthly',
        amount: 2043,
        currency: 'NGN',
        paystackInterval: 'monthly',
      },
      {
        plan: 'standard',
        interval: 'year',
        name: 'odoo-saas standard yearly',
        amount: 19000,
        currency: 'NGN',
        paystackInterval: 'annually',
      },
    ]);
  });

  it('leaves out free prices and archived plans', () => {
    expect(
      paystackPlanSpecs([
        plan('free', [{ interval: 'month', amountCents: 0, currency: 'USD' }]),
        plan('old', [{ interval: 'month', amountCents: 500, currency: 'USD' }], true),
      ]),
    ).toEqual([]);
  });
});

describe('planChange', () => {
  const [spec] = paystackPlanSpecs([plan('standard', [{ interval: 'month', amountCents: 1900, currency: 'USD' }])]);
  if (!spec) throw new Error('no spec');
  const found = { name: spec.name, plan_code: 'PLN_1', amount: 1900, interval: 'monthly', currency: 'usd' };
  it('creates what Paystack lacks, updates what differs, leaves the rest', () => {
    expect(planChange(spec, null)).toBe('create');
    expect(planChange(spec, found)).toBe('none');
    expect(planChange(spec, { ...found, amount: 2000 })).toBe('update');
    expect(planChange(spec, { ...found, interval: 'annually' })).toBe('update');
    expect(planChange(spec, { ...found, currency: 'NGN' })).toBe('update');
  });
});
