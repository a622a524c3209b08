import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultCatalog, type PlanDefinition, parseCatalog } from '../../src/plans/index.js';

const catalogFile = new URL('../../src/plans/default-catalog.json', import.meta.url);
const readDefault = (): { plans: Array<Record<string, unknown>> } => JSON.parse(readFileSync(catalogFile, 'utf8'));

function plan(code: string, overrides: Record<string, unknown> = {}) {
  return {
    code,
    name: code,
    limits: { cpu: 1, memoryMiB: 1024, storageGiB: 5, odooUsers: 3 },
    placement: { databaseStrategy: 'shared', processStrategy: 'pool', replicas: 1, limitPolicy: 'block' },
    prices: [],
    ...overrides,
  };
}

describe('the default catalog file', () => {
  it('parses, and is what the service seeds', () => {
    const parsed = parseCatalog(readDefault());
    expect(parsed.map((p) => p.code)).toEqual(['basic', 'standard', 'premium', 'enterprise']);
    expect(defaultCatalog).toEqual(parsed);
  });

  it('grows with each tier and is sorted by sortOrder', () => {
    const plans = parseCatalog(readDefault());
    const limitKeys = ['cpu', 'memoryMiB', 'storageGiB', 'odooUsers'] as const;
    for (let i = 1; i < plans.length; i++) {
      const [smaller, larger] = [plans[i - 1] as PlanDefinition, plans[i] as PlanDefinition];
      for (const key of limitKeys) expect(larger.limits[key], `${larger.code}.${key}`).toBeGreaterThan(smaller.limits[key]);
      expect(larger.sortOrder).toBeGreaterThan(smaller.sortOrder);
    }
  });

  it('matches the product table: free shared basic, dedicated paid tiers, replicated enterprise', () => {
    const byCode = Object.fromEntries(parseCatalog(readDefault()).map((p) => [p.code, p]));
    expect(byCode.basic?.prices).toEqual([]);
    expect(byCode.basic?.placement).toMatchObject({ databaseStrategy: 'shared', processStrategy: 'pool', replicas: 1 });
    expect(byCode.standard?.placement).toMatchObject({ databaseStrategy: 'shared', processStrategy: 'dedicated' });
    expect(byCode.premium?.placement.databaseStrategy).toBe('dedicated');
    expect(byCode.enterprise?.placement.replicas).toBeGreaterThanOrEqual(2);
    expect(byCode.standard?.prices).toEqual([{ interval: 'month', amountCents: 1900, currency: 'USD', taxRateBasisPoints: 0 }]);
    // The free plan cannot be farmed: one tenant per account; paid plans are billed per tenant.
    expect(byCode.basic?.limits.maxTenantsPerAccount).toBe(1);
    for (const code of ['standard', 'premium', 'enterprise']) expect(byCode[code]?.limits.maxTenantsPerAccount, code).toBeNull();
  });
});

describe('parseCatalog', () => {
  it('fills defaults for optional fields', () => {
    const [parsed] = parseCatalog({ plans: [plan('tiny')] });
    expect(parsed).toMatchObject({ description: '', trialDays: 0, sortOrder: 0 });
    expect(parsed?.limits.maxTenantsPerAccount).toBeNull();
  });

  it('takes a pool plan on the docker runtime (pools run in containers there too)', () => {
    const placement = { databaseStrategy: 'shared', processStrategy: 'pool', replicas: 1, limitPolicy: 'block', runtime: 'docker' };
    expect(parseCatalog({ plans: [plan('a1', { placement })] })[0]?.placement).toMatchObject({
      processStrategy: 'pool',
      runtime: 'docker',
    });
  });

  it('refuses a duplicate code, naming it', () => {
    expect(() => parseCatalog({ plans: [plan('basic'), plan('other'), plan('basic')] })).toThrow(/plan code basic appears twice/);
  });

  const invalid: Array<[string, unknown, RegExp]> = [
    ['not an object', 'plans', /Invalid plan catalog at : /],
    ['no plans key', {}, /at plans:/],
    ['an empty list', { plans: [] }, /at plans:/],
    ['an unknown top-level key', { plans: [plan('a1')], extra: true }, /Invalid plan catalog/],
    ['a bad code', { plans: [plan('Basic Plan')] }, /at plans\.0\.code:/],
    [
      'zero cpu in the second plan',
      { plans: [plan('a1'), plan('a2', { limits: { cpu: 0, memoryMiB: 1024, storageGiB: 5, odooUsers: 3 } })] },
      /at plans\.1\.limits\.cpu:/,
    ],
    ['a missing limit', { plans: [plan('a1', { limits: { cpu: 1, memoryMiB: 1024, storageGiB: 5 } })] }, /at plans\.0\.limits\.odooUsers:/],
    [
      'an unknown limit',
      { plans: [plan('a1', { limits: { cpu: 1, memoryMiB: 1024, storageGiB: 5, odooUsers: 3, disks: 2 } })] },
      /at plans\.0\.limits/,
    ],
    [
      'a pool plan with 2 replicas',
      { plans: [plan('a1', { placement: { databaseStrategy: 'shared', processStrategy: 'pool', replicas: 2, limitPolicy: 'block' } })] },
      /at plans\.0\.placement\.replicas: a pool plan runs exactly one replica/,
    ],
    [
      'a bad currency',
      { plans: [plan('a1', { prices: [{ interval: 'month', amountCents: 1, currency: 'dollars' }] })] },
      /at plans\.0\.prices\.0\.currency:/,
    ],
    [
      'two prices for one interval',
      {
        plans: [
          plan('a1', {
            prices: [
              { interval: 'year', amountCents: 1, currency: 'USD' },
              { interval: 'year', amountCents: 2, currency: 'USD' },
            ],
          }),
        ],
      },
      /at plans\.0\.prices: one price per interval/,
    ],
  ];
  for (const [label, document, message] of invalid) {
    it(`refuses ${label}`, () => {
      expect(() => parseCatalog(document)).toThrow(message);
    });
  }

  it('refuses the default catalog with one entry broken', () => {
    const document = readDefault();
    (document.plans[3] as { placement: { replicas: number } }).placement.replicas = 0;
    expect(() => parseCatalog(document)).toThrow(/plans\.3\.placement\.replicas/);
  });
});
