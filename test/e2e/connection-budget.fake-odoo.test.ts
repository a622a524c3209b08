import { delimiter, dirname, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withConnection } from '../../src/postgres/index.js';
import { waitFor } from '../helpers/gateway-client.js';
import { createOperator, GOOD_PASSWORD, registerCustomer, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

/**
 * Placement keeps a server within its max_connections (issue 16, item 2): with pool processes
 * allowed 200 connections each, a pool (2 HTTP workers + evented + 2 cron workers = 5 processes,
 * 1000 connections) does not fit in the suite's server, so a basic (pool) tenant is refused with
 * an error saying why and what to do, and nothing of it is left; a standard tenant (one
 * dedicated process, 16 connections) still fits.
 */

process.env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

let test: TestPlatform;
let operator: Awaited<ReturnType<typeof createOperator>>;

async function requestTenant(plan: string): Promise<string> {
  const customer = await registerCustomer(test.http, `budget${plan}`);
  const name = `budget${plan.slice(0, 3)}${Date.now().toString(36)}`;
  const created = await test.http.post(
    '/api/v1/tenants',
    { name, plan, template: 'blank', adminEmail: `admin@${name}.example.com`, adminPassword: GOOD_PASSWORD },
    { token: customer.accessToken },
  );
  expect(created.status, created.text).toBe(202);
  return name;
}

async function settled(name: string) {
  return waitFor(
    `tenant ${name} to settle`,
    async () => {
      const answer = await test.http.get(`/api/v1/tenants/${name}`, { token: operator.accessToken });
      return ['running', 'error'].includes(answer.body.state) ? answer.body : undefined;
    },
    90_000,
    200,
  );
}

beforeAll(async () => {
  test = await startTestPlatform({
    ODOO_BIN: resolve('test/fixtures/fake-odoo/odoo-bin'),
    TENANT_DATABASE_URL: postgresAdminUrl(),
    TEMPLATES_AUTOBUILD: 'blank',
    SPARE_DATABASES: '0',
    BASE_DOMAIN: 'lvh.me',
    ODOO_POOL_DB_MAXCONN: '200',
  });
  operator = await createOperator(test);
  await waitFor('the blank template', async () => {
    const templates = await test.http.get('/api/v1/templates', { token: operator.accessToken });
    return templates.body.find((t: { code: string }) => t.code === 'blank')?.available ? true : undefined;
  });
}, 120_000);

afterAll(async () => {
  await test?.stop();
});

describe('the connection budget of a database server', () => {
  it('refuses a pool tenant whose pool would exceed max_connections, and places a dedicated one', async () => {
    const maxConnections = await withConnection(postgresAdminUrl(), async (client) =>
      Number((await client.query('SHOW max_connections')).rows[0]?.max_connections),
    );
    expect(maxConnections).toBeLessThan(5 * 200 + 20);
    const pool = await requestTenant('basic');
    const dedicated = await requestTenant('standard');
    const refused = await settled(pool);
    expect(refused.state).toBe('error');
    expect(refused.stateReason).toMatch(/No shared database server has connections left for another pool tenant/);
    expect(refused.stateReason).toMatch(new RegExp(`max_connections \\(${maxConnections}\\) is below what its Odoo processes may hold`));
    expect(refused.stateReason).toMatch(/add a database server \(saasctl servers add\) or raise its max_connections/);
    expect(refused.databaseServerId ?? null).toBeNull();
    expect((await settled(dedicated)).state).toBe('running');
  }, 150_000);
});
