import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemDeviations } from '../helpers/openapi.js';
import { createOperator, registerCustomer, startTestPlatform, type TestPlatform } from '../helpers/platform.js';

let test: TestPlatform;
let operator: string;
let customer: string;

beforeAll(async () => {
  test = await startTestPlatform();
  operator = (await createOperator(test)).accessToken;
  customer = (await registerCustomer(test.http, 'plans')).accessToken;
});
afterAll(async () => {
  await test?.stop();
});

function newPlan(code: string, overrides: Record<string, unknown> = {}) {
  return {
    code,
    name: `Plan ${code}`,
    limits: { cpu: 2, memoryMiB: 2048, storageGiB: 10, odooUsers: 10 },
    placement: { databaseStrategy: 'shared', processStrategy: 'dedicated', replicas: 1, limitPolicy: 'block' },
    prices: [{ interval: 'month', amountCents: 2500, currency: 'EUR' }],
    ...overrides,
  };
}

const codes = (plans: Array<{ code: string }>) => plans.map((p) => p.code);

describe('the default catalog', () => {
  it('is public and lists basic, standard, premium, enterprise in that order', async () => {
    const response = await test.http.get('/api/v1/plans');
    expect(response.status).toBe(200);
    expect(codes(response.body)).toEqual(['basic', 'standard', 'premium', 'enterprise']);
    expect(response.body.every((p: { archived: boolean }) => p.archived === false)).toBe(true);
  });

  it('carries the limits, placement and prices of the product table', async () => {
    const plans: Record<string, Record<string, unknown>> = Object.fromEntries(
      (await test.http.get('/api/v1/plans')).body.map((p: { code: string }) => [p.code, p]),
    );
    expect(plans.basic).toMatchObject({
      name: 'Basic',
      limits: { cpu: 1, memoryMiB: 1024, storageGiB: 5, odooUsers: 3, maxTenantsPerAccount: 1 },
      placement: { databaseStrategy: 'shared', processStrategy: 'pool', replicas: 1 },
      prices: [],
      free: true,
    });
    expect(plans.standard).toMatchObject({
      limits: { cpu: 2, memoryMiB: 2048, storageGiB: 10, odooUsers: 10 },
      placement: { databaseStrategy: 'shared', processStrategy: 'dedicated', replicas: 1 },
      prices: [{ interval: 'month', amountCents: 1900, currency: 'USD', taxRateBasisPoints: 0 }],
      free: false,
    });
    expect(plans.premium).toMatchObject({
      limits: { cpu: 4, memoryMiB: 4096, storageGiB: 20, odooUsers: 25 },
      placement: {
        databaseStrategy: 'dedicated',
        processStrategy: 'dedicated',
        replicas: 1,
        hibernateAfterIdleMinutes: 240,
        hibernateDatabaseServerAfterIdleMinutes: 1440,
      },
      free: false,
    });
    expect(plans.premium?.prices).toEqual(
      expect.arrayContaining([
        { interval: 'month', amountCents: 3900, currency: 'USD', taxRateBasisPoints: 0 },
        { interval: 'year', amountCents: 39000, currency: 'USD', taxRateBasisPoints: 0 },
      ]),
    );
    expect(plans.enterprise).toMatchObject({
      limits: { cpu: 8, memoryMiB: 8192, storageGiB: 50, odooUsers: 100 },
      placement: { databaseStrategy: 'dedicated', processStrategy: 'dedicated', replicas: 2 },
      free: false,
    });
    expect(plans.enterprise?.prices).toEqual(
      expect.arrayContaining([
        { interval: 'month', amountCents: 9900, currency: 'USD', taxRateBasisPoints: 0 },
        { interval: 'year', amountCents: 99000, currency: 'USD', taxRateBasisPoints: 0 },
      ]),
    );
  });

  it('serves one plan by code, and 404 naming the code for an unknown one', async () => {
    const basic = await test.http.get('/api/v1/plans/basic');
    expect(basic.status).toBe(200);
    expect(basic.body.code).toBe('basic');
    const unknown = await test.http.get('/api/v1/plans/platinum');
    expect(unknown.status).toBe(404);
    expect(problemDeviations(unknown)).toEqual([]);
    expect(unknown.body.field).toBe('code');
  });
});

describe('operators manage plans', () => {
  it('creates a plan with defaults, which then appears in the public list in sort order', async () => {
    const created = await test.http.post('/api/v1/plans', newPlan('growth', { sortOrder: 25 }), { token: operator });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ code: 'growth', description: '', trialDays: 0, sortOrder: 25, archived: false, free: false });
    const list = await test.http.get('/api/v1/plans');
    expect(codes(list.body)).toEqual(['basic', 'standard', 'growth', 'premium', 'enterprise']);
    const free = await test.http.post('/api/v1/plans', newPlan('gratis', { prices: [], sortOrder: 9000 }), { token: operator });
    expect(free.body.free).toBe(true);
  });

  it('updates a plan: the new definition is served and limits change', async () => {
    await test.http.post('/api/v1/plans', newPlan('editable'), { token: operator });
    const { code: _ignored, ...definition } = newPlan('editable');
    const updated = await test.http.put(
      '/api/v1/plans/editable',
      { ...definition, name: 'Edited', limits: { cpu: 3, memoryMiB: 3072, storageGiB: 15, odooUsers: 12 }, trialDays: 30 },
      { token: operator },
    );
    expect(updated.status).toBe(200);
    const fetched = await test.http.get('/api/v1/plans/editable');
    expect(fetched.body).toMatchObject({
      name: 'Edited',
      limits: { cpu: 3, memoryMiB: 3072, storageGiB: 15, odooUsers: 12 },
      trialDays: 30,
    });

    const missing = await test.http.put('/api/v1/plans/no-such-plan', definition, { token: operator });
    expect(missing.status).toBe(404);
    // The code is the URL's: a code in the body is an unknown field.
    const withCode = await test.http.put('/api/v1/plans/editable', { ...definition, code: 'renamed' }, { token: operator });
    expect(withCode.status).toBe(400);
    expect(withCode.body.field).toBe('code');
  });

  it('archives a plan: gone from the public list, listed for operators with includeArchived=true only', async () => {
    await test.http.post('/api/v1/plans', newPlan('retiring'), { token: operator });
    const archived = await test.http.post('/api/v1/plans/retiring/archive', undefined, { token: operator });
    expect(archived.status).toBe(200);
    expect(archived.body.archived).toBe(true);

    expect(codes((await test.http.get('/api/v1/plans')).body)).not.toContain('retiring');
    expect(codes((await test.http.get('/api/v1/plans?includeArchived=true')).body)).not.toContain('retiring');
    expect(codes((await test.http.get('/api/v1/plans?includeArchived=true', { token: customer })).body)).not.toContain('retiring');
    expect(codes((await test.http.get('/api/v1/plans', { token: operator })).body)).not.toContain('retiring');

    const forOperator = await test.http.get('/api/v1/plans?includeArchived=true', { token: operator });
    const retiring = forOperator.body.find((p: { code: string }) => p.code === 'retiring');
    expect(retiring).toMatchObject({ archived: true });
    expect(forOperator.body.filter((p: { archived: boolean }) => p.archived)).toHaveLength(1);
    // Existing tenants keep an archived plan, so it can still be read by code.
    expect((await test.http.get('/api/v1/plans/retiring')).body.archived).toBe(true);
    expect((await test.http.post('/api/v1/plans/nothing-here/archive', undefined, { token: operator })).status).toBe(404);
  });

  it('refuses a duplicate code with 409 naming code', async () => {
    for (const code of ['basic', 'growth-dup']) {
      if (code !== 'basic') expect((await test.http.post('/api/v1/plans', newPlan(code), { token: operator })).status).toBe(201);
      const duplicate = await test.http.post('/api/v1/plans', newPlan(code, { name: 'Other' }), { token: operator });
      expect(duplicate.status).toBe(409);
      expect(problemDeviations(duplicate)).toEqual([]);
      expect(duplicate.body.field).toBe('code');
    }
    expect((await test.http.get('/api/v1/plans/basic')).body.name).toBe('Basic');
  });

  it('records plan changes in the audit log', async () => {
    await test.http.post('/api/v1/plans', newPlan('audited'), { token: operator });
    const audit = await test.http.get('/api/v1/audit-log?action=POST%20%2Fapi%2Fv1%2Fplans', { token: operator });
    expect(audit.body).toEqual(
      expect.arrayContaining([expect.objectContaining({ targetType: 'plan', targetId: 'audited', outcome: 'success' })]),
    );
  });
});

describe('plan validation', () => {
  const invalid: Array<[string, Record<string, unknown>, string]> = [
    ['zero cpu', { limits: { cpu: 0, memoryMiB: 2048, storageGiB: 10, odooUsers: 10 } }, 'limits.cpu'],
    ['negative cpu', { limits: { cpu: -1, memoryMiB: 2048, storageGiB: 10, odooUsers: 10 } }, 'limits.cpu'],
    ['cpu as text', { limits: { cpu: '2', memoryMiB: 2048, storageGiB: 10, odooUsers: 10 } }, 'limits.cpu'],
    ['too little memory', { limits: { cpu: 1, memoryMiB: 100, storageGiB: 10, odooUsers: 10 } }, 'limits.memoryMiB'],
    ['fractional memory', { limits: { cpu: 1, memoryMiB: 1024.5, storageGiB: 10, odooUsers: 10 } }, 'limits.memoryMiB'],
    ['zero storage', { limits: { cpu: 1, memoryMiB: 1024, storageGiB: 0, odooUsers: 10 } }, 'limits.storageGiB'],
    ['fractional users', { limits: { cpu: 1, memoryMiB: 1024, storageGiB: 10, odooUsers: 1.5 } }, 'limits.odooUsers'],
    ['missing limit', { limits: { cpu: 1, memoryMiB: 1024, storageGiB: 10 } }, 'limits.odooUsers'],
    ['unknown limit', { limits: { cpu: 1, memoryMiB: 1024, storageGiB: 10, odooUsers: 1, gpus: 1 } }, 'limits.gpus'],
    [
      'zero tenants per account',
      { limits: { cpu: 1, memoryMiB: 1024, storageGiB: 10, odooUsers: 1, maxTenantsPerAccount: 0 } },
      'limits.maxTenantsPerAccount',
    ],
    [
      'pool with 2 replicas',
      { placement: { databaseStrategy: 'shared', processStrategy: 'pool', replicas: 2, limitPolicy: 'block' } },
      'placement.replicas',
    ],
    [
      'zero replicas',
      { placement: { databaseStrategy: 'shared', processStrategy: 'dedicated', replicas: 0, limitPolicy: 'block' } },
      'placement.replicas',
    ],
    [
      'unknown strategy',
      { placement: { databaseStrategy: 'cloud', processStrategy: 'pool', replicas: 1, limitPolicy: 'block' } },
      'placement.databaseStrategy',
    ],
    [
      'unknown policy',
      { placement: { databaseStrategy: 'shared', processStrategy: 'pool', replicas: 1, limitPolicy: 'ignore' } },
      'placement.limitPolicy',
    ],
    [
      'a database server sleeping on a shared server',
      {
        placement: {
          databaseStrategy: 'shared',
          processStrategy: 'dedicated',
          replicas: 1,
          limitPolicy: 'block',
          hibernateAfterIdleMinutes: 30,
          hibernateDatabaseServerAfterIdleMinutes: 60,
        },
      },
      'placement.hibernateDatabaseServerAfterIdleMinutes',
    ],
    [
      'a database server sleeping before its Odoo',
      {
        placement: {
          databaseStrategy: 'dedicated',
          processStrategy: 'dedicated',
          replicas: 1,
          limitPolicy: 'block',
          hibernateAfterIdleMinutes: 240,
          hibernateDatabaseServerAfterIdleMinutes: 60,
        },
      },
      'placement.hibernateDatabaseServerAfterIdleMinutes',
    ],
    [
      'a database server sleeping while its Odoo never does',
      {
        placement: {
          databaseStrategy: 'dedicated',
          processStrategy: 'dedicated',
          replicas: 1,
          limitPolicy: 'block',
          hibernateDatabaseServerAfterIdleMinutes: 60,
        },
      },
      'placement.hibernateDatabaseServerAfterIdleMinutes',
    ],
    ['lowercase currency', { prices: [{ interval: 'month', amountCents: 100, currency: 'usd' }] }, 'prices.0.currency'],
    ['negative price', { prices: [{ interval: 'month', amountCents: -1, currency: 'USD' }] }, 'prices.0.amountCents'],
    ['weekly price', { prices: [{ interval: 'week', amountCents: 1, currency: 'USD' }] }, 'prices.0.interval'],
    [
      'two monthly prices',
      {
        prices: [
          { interval: 'month', amountCents: 100, currency: 'USD' },
          { interval: 'month', amountCents: 200, currency: 'USD' },
        ],
      },
      'prices',
    ],
    ['uppercase code', { code: 'Gold' }, 'code'],
    ['one-letter code', { code: 'g' }, 'code'],
    ['blank name', { name: '   ' }, 'name'],
    ['negative trial', { trialDays: -1 }, 'trialDays'],
  ];

  for (const [label, change, field] of invalid) {
    it(`refuses ${label} with 400 naming ${field}`, async () => {
      const response = await test.http.post('/api/v1/plans', { ...newPlan('invalid-plan'), ...change }, { token: operator });
      expect(response.status).toBe(400);
      expect(problemDeviations(response)).toEqual([]);
      expect(response.body.field).toBe(field);
    });
  }

  it('also validates updates (a pool plan cannot get 2 replicas)', async () => {
    const { code: _ignored, ...definition } = newPlan('basic');
    const response = await test.http.put(
      '/api/v1/plans/basic',
      { ...definition, placement: { databaseStrategy: 'shared', processStrategy: 'pool', replicas: 2, limitPolicy: 'block' } },
      { token: operator },
    );
    expect(response.status).toBe(400);
    expect(response.body.field).toBe('placement.replicas');
    expect((await test.http.get('/api/v1/plans/basic')).body.placement.replicas).toBe(1);
  });

  it('created nothing for any refused plan', async () => {
    expect((await test.http.get('/api/v1/plans/invalid-plan')).status).toBe(404);
  });
});

describe('who may change plans', () => {
  it('refuses customers with 403 and anonymous callers with 401, and changes nothing', async () => {
    const { code: _ignored, ...definition } = newPlan('basic');
    const attempts: Array<[string, string, unknown]> = [
      ['POST', '/api/v1/plans', newPlan('customer-made')],
      ['PUT', '/api/v1/plans/basic', { ...definition, name: 'Hijacked' }],
      ['POST', '/api/v1/plans/basic/archive', undefined],
    ];
    for (const [method, path, body] of attempts) {
      const asCustomer = await test.http.request(method, path, body, { token: customer });
      expect(asCustomer.status, `${method} ${path} as customer`).toBe(403);
      expect(problemDeviations(asCustomer)).toEqual([]);
      const anonymous = await test.http.request(method, path, body);
      expect(anonymous.status, `${method} ${path} anonymous`).toBe(401);
    }
    expect((await test.http.get('/api/v1/plans/customer-made')).status).toBe(404);
    const basic = await test.http.get('/api/v1/plans/basic');
    expect(basic.body).toMatchObject({ name: 'Basic', archived: false });
  });
});
