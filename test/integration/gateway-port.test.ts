import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordTenantEvent } from '../../src/tenants/index.js';
import { hostRequest, waitFor } from '../helpers/gateway-client.js';
import { registerCustomer, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { freeTestPort } from '../helpers/ports.js';

/** GATEWAY_PORT: tenant traffic on a listener of its own, the API port serves only the platform. */
let test: TestPlatform;
let gatewayPort: number;
let apiPort: number;

beforeAll(async () => {
  gatewayPort = await freeTestPort();
  test = await startTestPlatform({ GATEWAY_PORT: String(gatewayPort), BASE_DOMAIN: 'lvh.me' });
  apiPort = Number(new URL(test.url).port);
  const customer = await registerCustomer(test.http, 'gwport');
  await test.platform.database.db
    .insertInto('tenants')
    .values({
      name: 'portal',
      account_id: customer.accountId,
      plan_code: 'basic',
      template_code: 'blank',
      state: 'stopped',
      database_name: 't_portal',
      role_name: 'r_portal',
      role_password_encrypted: 'v1.unused',
      process_strategy: 'pool',
      admin_email: customer.email,
      admin_login: customer.email,
    })
    .execute();
  // The gateway learns tenants at start and from NOTIFY: this row was written behind its back,
  // so record an event for it, as every real change does.
  const row = await test.platform.database.db.selectFrom('tenants').select('id').where('name', '=', 'portal').executeTakeFirstOrThrow();
  await recordTenantEvent(test.platform.database.db, row.id, { type: 'info', message: 'written by the test' });
  await waitFor('the gateway to know the tenant', async () => {
    const page = await hostRequest(gatewayPort, `portal.lvh.me:${gatewayPort}`, 'GET', '/web/login');
    return page.status === 503 ? page : undefined;
  });
});
afterAll(async () => {
  await test?.stop();
});

describe('gateway on its own port', () => {
  it('serves tenant hosts on GATEWAY_PORT with their status page', async () => {
    const page = await hostRequest(gatewayPort, `portal.lvh.me:${gatewayPort}`, 'GET', '/web/login');
    expect(page.status).toBe(503);
    expect(page.text).toMatch(/stopped/i);
    expect(test.platform.gatewayUrl).toBe(`http://127.0.0.1:${gatewayPort}`);
  });

  it('does not serve the platform on the gateway port, nor tenants on the API port', async () => {
    const platformOnGateway = await hostRequest(gatewayPort, `app.lvh.me:${gatewayPort}`, 'GET', '/api/v1/plans');
    expect(platformOnGateway.status).toBe(404);
    expect(platformOnGateway.text).not.toContain('basic');
    // The API port does not route tenant hosts: no tenant page there (the platform answers itself).
    const tenantOnApi = await hostRequest(apiPort, `portal.lvh.me:${apiPort}`, 'GET', '/web/login');
    expect(tenantOnApi.text).not.toMatch(/stopped/i);
    const plans = await hostRequest(apiPort, `app.lvh.me:${apiPort}`, 'GET', '/api/v1/plans');
    expect(plans.status).toBe(200);
  });

  it("reads a known tenant's row again before showing it a page: a change not yet announced counts at once", async () => {
    // Written behind the gateway's back, with no event: only the confirming read can see it.
    await test.platform.database.db.updateTable('tenants').set({ state: 'suspended' }).where('name', '=', 'portal').execute();
    const page = await hostRequest(gatewayPort, `portal.lvh.me:${gatewayPort}`, 'GET', '/web/login');
    expect(page.status).toBe(403);
    expect(page.text).toMatch(/suspended/i);
  });
});
