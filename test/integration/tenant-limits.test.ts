import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemDeviations } from '../helpers/openapi.js';
import {
  createOperator,
  GOOD_PASSWORD,
  type HttpResponse,
  registerCustomer,
  startTestPlatform,
  type TestPlatform,
} from '../helpers/platform.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

/**
 * Per-account tenant limits (issue 15 item 4): a plan's maxTenantsPerAccount (basic: 1), checked
 * in the transaction that inserts the tenant, and the per-account creation rate. No job workers
 * run here: tenants stay `provisioning` (or whatever state a test writes), which is all the
 * limits look at.
 */

type Customer = Awaited<ReturnType<typeof registerCustomer>>;

let test: TestPlatform;
let operator: Awaited<ReturnType<typeof createOperator>>;
let counter = 0;

const uniqueName = (label: string) => {
  counter += 1;
  return `${label}${Date.now().toString(36)}${counter}`;
};

const body = (name: string, plan: string) => ({
  name,
  plan,
  template: 'blank',
  adminEmail: `admin@${name}.example.com`,
  adminPassword: GOOD_PASSWORD,
});

function createTenant(token: string, plan: string, extra: Record<string, unknown> = {}, name = uniqueName('lim')) {
  return test.http.post('/api/v1/tenants', { ...body(name, plan), ...extra }, { token });
}

async function setState(name: string, state: string, extra: Record<string, unknown> = {}): Promise<void> {
  await test.platform.database.db
    .updateTable('tenants')
    .set({ state, state_changed_at: new Date(), ...extra })
    .where('name', '=', name)
    .execute();
}

async function tenantCount(accountId: string, plan: string): Promise<number> {
  const rows = await test.platform.database.db
    .selectFrom('tenants')
    .select('id')
    .where('account_id', '=', accountId)
    .where('plan_code', '=', plan)
    .execute();
  return rows.length;
}

function expectPlanLimit(response: HttpResponse, tenants = '1 tenant'): void {
  expect(response.status, response.text).toBe(409);
  expect(problemDeviations(response)).toEqual([]);
  expect(response.body.field).toBe('plan');
  expect(response.body.detail).toContain(`Your account already has ${tenants} on the Basic plan, the most this plan allows.`);
  // Customer-facing: never an operator command.
  expect(response.body.detail).not.toMatch(/saasctl|operator/i);
}

beforeAll(async () => {
  test = await startTestPlatform({ TENANT_DATABASE_URL: postgresAdminUrl(), RUN_WORKERS: 'false', TEMPLATES_AUTOBUILD: '' });
  operator = await createOperator(test);
  // A ready build of the blank template, written directly: this suite has no Odoo to build one.
  const db = test.platform.database.db;
  const server = await db.selectFrom('database_servers').select('id').executeTakeFirstOrThrow();
  await db
    .insertInto('template_builds')
    .values({
      template_code: 'blank',
      server_id: server.id,
      database_name: 'tpl_blank_limits',
      status: 'ready',
      odoo_version: '17.0',
    })
    .execute();
});
afterAll(async () => {
  await test?.stop();
});

describe('the plan limit on tenants per account', () => {
  it('lets exactly one of 10 parallel basic-plan creations of one customer through; the rest get 409 naming the limit', async () => {
    const customer = await registerCustomer(test.http, 'race');
    const responses = await Promise.all(Array.from({ length: 10 }, () => createTenant(customer.accessToken, 'basic')));
    const accepted = responses.filter((r) => r.status === 202);
    expect(accepted, responses.map((r) => `${r.status} ${r.body?.detail ?? ''}`).join('\n')).toHaveLength(1);
    for (const refused of responses.filter((r) => r.status !== 202)) expectPlanLimit(refused);
    expect(await tenantCount(customer.accountId, 'basic')).toBe(1);

    // Another plan (no limit) is still open to the same account, and the quota says so.
    expect((await createTenant(customer.accessToken, 'standard')).status).toBe(202);
    const quota = await test.http.get('/api/v1/tenant-quota', { token: customer.accessToken });
    expect(quota.status).toBe(200);
    expect(quota.body).toEqual([
      { plan: 'basic', used: 1, limit: 1 },
      { plan: 'standard', used: 1, limit: null },
      { plan: 'premium', used: 0, limit: null },
      { plan: 'enterprise', used: 0, limit: null },
    ]);
  });

  it('does not hold operators to it: an operator creates a second basic tenant for the account', async () => {
    const customer = await registerCustomer(test.http, 'exempt');
    expect((await createTenant(customer.accessToken, 'basic')).status).toBe(202);
    expectPlanLimit(await createTenant(customer.accessToken, 'basic'));
    const byOperator = await createTenant(operator.accessToken, 'basic', { accountId: customer.accountId });
    expect(byOperator.status, byOperator.text).toBe(202);
    expect(byOperator.body.tenant.accountId).toBe(customer.accountId);
    // Two on a plan that allows one: the customer is still refused, now naming two.
    expectPlanLimit(await createTenant(customer.accessToken, 'basic'), '2 tenants');
    const quota = await test.http.get(`/api/v1/tenant-quota?accountId=${customer.accountId}`, { token: operator.accessToken });
    expect(quota.body[0]).toEqual({ plan: 'basic', used: 2, limit: 1 });
  });

  it('counts a tenant scheduled for deletion, frees the place once it is terminated, and checks it again on reactivate', async () => {
    const customer = await registerCustomer(test.http, 'soft');
    const first = uniqueName('soft');
    expect((await createTenant(customer.accessToken, 'basic', {}, first)).status).toBe(202);
    await setState(first, 'scheduled_for_deletion', { delete_after: new Date(Date.now() + 12 * 3600_000) });
    expectPlanLimit(await createTenant(customer.accessToken, 'basic'));

    await setState(first, 'terminated', { terminated_at: new Date() });
    const second = await createTenant(customer.accessToken, 'basic');
    expect(second.status, second.text).toBe(202);

    // Bringing the first one back would make two: refused, and it stays terminated.
    const reactivate = await test.http.post(`/api/v1/tenants/${first}/reactivate`, undefined, { token: customer.accessToken });
    expect(reactivate.status, reactivate.text).toBe(409);
    expect(reactivate.body.field).toBe('plan');
    expect(reactivate.body.detail).toMatch(/then reactivate this one/);
    expect((await test.http.get(`/api/v1/tenants/${first}`, { token: customer.accessToken })).body.state).toBe('terminated');

    // Once the second one is gone, the first may come back.
    await setState(second.body.tenant.name, 'deleted');
    const again = await test.http.post(`/api/v1/tenants/${first}/reactivate`, undefined, { token: customer.accessToken });
    expect(again.status, again.text).toBe(202);
  });

  it('counts staging copies: a customer cannot copy its basic tenant, but can copy a standard one; operators can copy either', async () => {
    const customer = await registerCustomer(test.http, 'copy');
    const basic = uniqueName('cpb');
    const standard = uniqueName('cps');
    expect((await createTenant(customer.accessToken, 'basic', {}, basic)).status).toBe(202);
    expect((await createTenant(customer.accessToken, 'standard', {}, standard)).status).toBe(202);
    await setState(basic, 'running');
    await setState(standard, 'running');

    const copy = (source: string, token: string) =>
      test.http.post(`/api/v1/tenants/${source}/duplicate`, { name: uniqueName('copy'), adminPassword: GOOD_PASSWORD }, { token });
    const refused = await copy(basic, customer.accessToken);
    expectPlanLimit(refused);
    expect(refused.body.detail).toMatch(/staging copy/i);
    expect((await copy(standard, customer.accessToken)).status).toBe(202);
    expect((await copy(basic, operator.accessToken)).status).toBe(202);
    expect(await tenantCount(customer.accountId, 'basic')).toBe(2);
  });
});

describe('plans carry maxTenantsPerAccount', () => {
  it('publishes it, validates it on replace, and applies a raised limit to the next creation', async () => {
    const basic = (await test.http.get('/api/v1/plans/basic')).body;
    expect(basic.limits.maxTenantsPerAccount).toBe(1);
    expect((await test.http.get('/api/v1/plans/standard')).body.limits.maxTenantsPerAccount).toBeNull();

    const { code: _code, archived: _archived, free: _free, ...definition } = basic;
    for (const bad of [0, -1, 1.5, '2', 1_000_000]) {
      const response = await test.http.put(
        '/api/v1/plans/basic',
        { ...definition, limits: { ...definition.limits, maxTenantsPerAccount: bad } },
        { token: operator.accessToken },
      );
      expect(response.status, `${JSON.stringify(bad)}: ${response.text}`).toBe(400);
      expect(response.body.field).toBe('limits.maxTenantsPerAccount');
    }

    const customer = await registerCustomer(test.http, 'raised');
    expect((await createTenant(customer.accessToken, 'basic')).status).toBe(202);
    expectPlanLimit(await createTenant(customer.accessToken, 'basic'));
    const raised = await test.http.put(
      '/api/v1/plans/basic',
      { ...definition, limits: { ...definition.limits, maxTenantsPerAccount: 2 } },
      { token: operator.accessToken },
    );
    expect(raised.status, raised.text).toBe(200);
    try {
      expect((await createTenant(customer.accessToken, 'basic')).status).toBe(202);
      expectPlanLimit(await createTenant(customer.accessToken, 'basic'), '2 tenants');
    } finally {
      await test.http.put('/api/v1/plans/basic', definition, { token: operator.accessToken });
    }
    expect((await test.http.get('/api/v1/plans/basic')).body.limits.maxTenantsPerAccount).toBe(1);
  });
});

describe('the per-account creation rate (default 10 an hour)', () => {
  it('answers the 11th creation within an hour with 429, Retry-After and a clear message; operators are not limited', async () => {
    expect(test.config.tenantCreateRateLimitPerHour).toBe(10);
    const customer: Customer = await registerCustomer(test.http, 'rate');
    for (let i = 1; i <= 10; i++) {
      const response = await createTenant(customer.accessToken, 'standard');
      expect(response.status, `creation ${i}: ${response.text}`).toBe(202);
    }
    const limited = await createTenant(customer.accessToken, 'standard');
    expect(limited.status, limited.text).toBe(429);
    expect(problemDeviations(limited)).toEqual([]);
    expect(limited.body.type).toBe('/problems/rate_limited');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(3500);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(limited.body.detail).toBe(
      `Your account has created 10 tenants in the last hour, the most allowed; try again in ${retryAfter} s.`,
    );
    // Staging copies are creations too.
    const source = (await test.http.get('/api/v1/tenants', { token: customer.accessToken })).body[0].name as string;
    await setState(source, 'running');
    const copy = await test.http.post(
      `/api/v1/tenants/${source}/duplicate`,
      { name: uniqueName('ratecopy'), adminPassword: GOOD_PASSWORD },
      { token: customer.accessToken },
    );
    expect(copy.status).toBe(429);

    const byOperator = await createTenant(operator.accessToken, 'standard', { accountId: customer.accountId });
    expect(byOperator.status, byOperator.text).toBe(202);

    // Creations older than an hour leave the window.
    await test.platform.database.db
      .updateTable('tenants')
      .set({ created_at: new Date(Date.now() - 3601_000) })
      .where('account_id', '=', customer.accountId)
      .execute();
    expect((await createTenant(customer.accessToken, 'standard')).status).toBe(202);
  });
});
