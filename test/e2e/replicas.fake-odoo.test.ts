import { delimiter, dirname, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostRequest, odooLogin, waitFor } from '../helpers/gateway-client.js';
import { createOperator, registerCustomer, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

// The fake Odoo (test/fixtures/fake-odoo) runs `node` from PATH: make that the Node running the tests.
process.env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

/**
 * Two platform replicas sharing one platform database (issue 7 item 3): replica 1 runs the
 * workers and so the Odoo processes; replica 2 is API and gateway only and serves no tenant.
 * A tenant served by replica 1 must be reachable through replica 2's gateway, which knows its
 * upstream only from the database.
 */
describe('two replicas sharing one platform database', () => {
  let workers: TestPlatform;
  let front: TestPlatform;
  const ADMIN_PASSWORD = 'Odoo-Admin-Pass-1';
  const settings = { TENANT_DATABASE_URL: postgresAdminUrl(), BASE_DOMAIN: 'lvh.me' };

  beforeAll(async () => {
    workers = await startTestPlatform({
      ...settings,
      ODOO_BIN: resolve('test/fixtures/fake-odoo/odoo-bin'),
      TEMPLATES_AUTOBUILD: 'blank',
      RUN_WORKERS: 'true',
    });
    front = await startTestPlatform({ ...settings, RUN_WORKERS: 'false' }, { replicaOf: workers });
    const operator = await createOperator(workers);
    await waitFor(
      'the blank template to be built',
      async () => {
        const templates = await workers.http.get('/api/v1/templates', { token: operator.accessToken });
        const build = templates.body.find((t: { code: string }) => t.code === 'blank')?.builds[0];
        if (build?.status === 'failed') throw new Error(`template build failed: ${build.error}`);
        return build?.status === 'ready' ? build : undefined;
      },
      120_000,
      200,
    );
  }, 240_000);

  afterAll(async () => {
    await front?.stop();
    await workers?.stop();
  });

  it("routes a tenant served by replica 1 through replica 2's gateway, and shows it stopped there", async () => {
    const frontPort = Number(new URL(front.url).port);
    const name = 'replicated';
    const host = `${name}.lvh.me:${frontPort}`;
    const customer = await registerCustomer(front.http, 'replicas');
    const created = await front.http.post(
      '/api/v1/tenants',
      { name, plan: 'basic', template: 'blank', adminEmail: `admin@${name}.example.com`, adminPassword: ADMIN_PASSWORD },
      { token: customer.accessToken },
    );
    expect(created.status, created.text).toBe(202);
    const stateOf = async () => (await front.http.get(`/api/v1/tenants/${name}`, { token: customer.accessToken })).body.state as string;
    const reached = (wanted: string) => async () => {
      const state = await stateOf();
      if (state === 'error') throw new Error(`tenant ${name} went to error`);
      return state === wanted ? state : undefined;
    };
    await waitFor('the tenant to run', reached('running'), 120_000, 200);

    // Replica 2 runs no Odoo: the route comes from the upstream replica 1 recorded.
    const login = await waitFor('a login through replica 2', async () => {
      const answer = await odooLogin(frontPort, host, `t_${name}`, `admin@${name}.example.com`, ADMIN_PASSWORD);
      return answer.body.result?.uid === undefined ? undefined : answer;
    });
    expect(login.status).toBe(200);
    expect(login.body.result?.uid).toBe(2);

    const stop = await front.http.post(`/api/v1/tenants/${name}/stop`, undefined, { token: customer.accessToken });
    expect(stop.status, stop.text).toBe(202);
    await waitFor('the tenant to stop', reached('stopped'), 60_000, 200);
    const page = await waitFor('the stopped page on replica 2', async () => {
      const answer = await hostRequest(frontPort, host, 'GET', '/web/login');
      return answer.status === 503 ? answer : undefined;
    });
    expect(page.text).toMatch(/stopped/i);
    const recorded = await front.platform.database.db.selectFrom('tenant_upstreams').selectAll().execute();
    expect(recorded, 'a stopped tenant has no recorded upstream').toEqual([]);
  }, 240_000);
});
