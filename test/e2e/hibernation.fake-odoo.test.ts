import { connect } from 'node:net';
import { delimiter, dirname, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withConnection } from '../../src/postgres/index.js';
import { hostRequest, waitFor } from '../helpers/gateway-client.js';
import {
  createOperator,
  registerCustomer,
  runningTenant,
  startTestPlatform,
  type TestPlatform,
  templateBuilt,
} from '../helpers/platform.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

// The fake Odoo (test/fixtures/fake-odoo) runs `node` from PATH: make that the Node running the tests.
process.env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

const MINUTE = 60_000;
const BROWSER = { accept: 'text/html,application/xhtml+xml' };
/** A request whose answer is the same every time (a login page carries a fresh CSRF token). */
const VERSION_INFO = { jsonrpc: '2.0', method: 'call', id: 1, params: {} };

/**
 * Hibernation (issue 12 item 3) with the platform's real process runtime running the fake Odoo:
 * a `standard` tenant (dedicated processes, 30 idle minutes) is hibernated by the sweep (called
 * with a clock 31+ minutes ahead), then woken by requests through the gateway.
 */
describe('hibernation and wake on request', () => {
  let test: TestPlatform;
  let port: number;
  let operator: Awaited<ReturnType<typeof createOperator>>;
  let tenant: { id: string; name: string; host: string; role: string };

  beforeAll(async () => {
    test = await startTestPlatform({
      TENANT_DATABASE_URL: postgresAdminUrl(),
      BASE_DOMAIN: 'lvh.me',
      ODOO_BIN: resolve('test/fixtures/fake-odoo/odoo-bin'),
      TEMPLATES_AUTOBUILD: 'blank',
      RUN_WORKERS: 'true',
      // Long enough for every wake of the fake Odoo; the failed wake below waits out the timeout.
      HIBERNATION_WAKE_HOLD_SECONDS: '30',
      HIBERNATION_WAKE_TIMEOUT_SECONDS: '6',
    });
    port = Number(new URL(test.url).port);
    operator = await createOperator(test);
    await templateBuilt(test, operator.accessToken);
    const customer = await registerCustomer(test.http, 'hibernation');
    const name = `hib${Date.now().toString(36)}`;
    await runningTenant(test, operator.accessToken, { name, plan: 'standard', accountId: customer.accountId });
    const row = await test.platform.database.db
      .selectFrom('tenants')
      .select(['id', 'role_name'])
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
    tenant = { id: row.id, name, host: `${name}.lvh.me:${port}`, role: row.role_name };
    await waitFor('the tenant to answer through the gateway', async () => {
      const answer = await hostRequest(port, tenant.host, 'GET', '/web/login', undefined, BROWSER);
      return answer.status === 200 ? answer : undefined;
    });
  }, 300_000);

  afterAll(async () => {
    await test?.stop();
  });

  const hibernationView = async () =>
    (await test.http.get(`/api/v1/tenants/${tenant.name}/hibernation`, { token: operator.accessToken })).body;
  const timeline = async (): Promise<Array<{ type: string; message: string | null }>> =>
    (await test.http.get(`/api/v1/tenants/${tenant.name}/events`, { token: operator.accessToken })).body;

  const versionInfo = () => hostRequest(port, tenant.host, 'POST', '/web/webclient/version_info', VERSION_INFO);

  /** Runs the sweep with a clock past the idle threshold and checks the tenant's Odoo is gone. */
  async function hibernate(): Promise<void> {
    const { hibernated } = await test.platform.hibernation.sweep(new Date(Date.now() + 31 * MINUTE));
    expect(hibernated).toBe(1);
    expect((await hibernationView()).state).toBe('hibernated');
    expect(await test.platform.runtimes.get('process').status(tenant.id)).toBeUndefined();
    const upstreams = await test.platform.database.db
      .selectFrom('tenant_upstreams')
      .selectAll()
      .where('tenant_id', '=', tenant.id)
      .execute();
    expect(upstreams).toEqual([]);
    // The customer still sees a running tenant: hibernation is a runtime detail.
    expect((await test.http.get(`/api/v1/tenants/${tenant.name}`, { token: operator.accessToken })).body.state).toBe('running');
  }

  it('hibernates an idle dedicated tenant, and its first request is served with the body of a warm request', async () => {
    const warm = await versionInfo();
    expect(warm.status).toBe(200);
    expect(warm.json().result.server_serie).toMatch(/^\d+\.0$/);
    // Not idle yet: the sweep at the real time leaves it alone.
    expect((await test.platform.hibernation.sweep()).hibernated).toBe(0);
    await hibernate();

    const cold = await versionInfo();
    expect(cold.status).toBe(200);
    expect(cold.text).toBe(warm.text);
    const view = await hibernationView();
    expect(view.state).toBe('awake');
    expect(view.lastWakeReason).toBe('request');
    expect(view.lastWakeMs).toBeGreaterThan(0);
    expect(view.lastWokenAt).not.toBeNull();
    const events = await timeline();
    expect(events.some((e) => e.message?.startsWith('Hibernated: no request for 30 minutes'))).toBe(true);
    expect(
      events.some((e) => /^Woken from hibernation \(first request\) in \d+ ms: waited \d+ ms for a wake slot/.test(e.message ?? '')),
    ).toBe(true);
  }, 120_000);

  it('wakes once for 20 concurrent first requests, all of them served', async () => {
    const warm = await versionInfo();
    await hibernate();
    const wakesBefore = test.platform.hibernation.wakesStarted();
    const wokenBefore = (await timeline()).filter((e) => e.message?.startsWith('Woken from hibernation')).length;

    const answers = await Promise.all(Array.from({ length: 20 }, () => versionInfo()));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(new Set(answers.map((a) => a.text))).toEqual(new Set([warm.text]));
    expect(test.platform.hibernation.wakesStarted() - wakesBefore).toBe(1);
    const wokenAfter = (await timeline()).filter((e) => e.message?.startsWith('Woken from hibernation')).length;
    expect(wokenAfter - wokenBefore).toBe(1);
  }, 120_000);

  it('neither counts websockets and long polling as activity nor wakes a tenant for them', async () => {
    // Awake: a websocket session and a long poll leave the recorded activity as it was.
    await test.platform.hibernation.sweep();
    const before = (await hibernationView()).lastRequestAt;
    expect(await websocketStatus(port, tenant.host)).toBe('HTTP/1.1 101 Switching Protocols');
    expect((await hostRequest(port, tenant.host, 'POST', '/longpolling/poll', { params: {} })).status).toBe(200);
    await test.platform.hibernation.sweep();
    expect((await hibernationView()).lastRequestAt).toBe(before);

    await hibernate();
    const wakesBefore = test.platform.hibernation.wakesStarted();
    const refused = await websocketStatus(port, tenant.host);
    expect(refused).toMatch(/^HTTP\/1\.1 503 /);
    expect((await hostRequest(port, tenant.host, 'POST', '/longpolling/poll', { params: {} })).status).toBe(503);
    expect(test.platform.hibernation.wakesStarted()).toBe(wakesBefore);
    expect((await hibernationView()).state).toBe('hibernated');
    // The next page view wakes it (and leaves it awake for the next test).
    expect((await hostRequest(port, tenant.host, 'GET', '/web/login', undefined, BROWSER)).status).toBe(200);
  }, 120_000);

  it('wakes a hibernated tenant when its earliest cron is due, and lets it sleep again 5 minutes later', async () => {
    const sweepAt = (ms: number) => test.platform.hibernation.sweep(new Date(ms));
    await hibernate();
    const asleep = await hibernationView();
    expect(asleep.cronWakeAt).not.toBeNull();
    const due = new Date(asleep.cronWakeAt).getTime();
    expect((await sweepAt(due - 1000)).cronWakes).toBe(0);
    expect((await sweepAt(due + 1000)).cronWakes).toBe(1);
    const woken = await hibernationView();
    expect(woken.state).toBe('awake');
    expect(woken.lastWakeReason).toBe('cron');
    expect(await test.platform.runtimes.get('process').status(tenant.id)).toMatchObject({ state: 'running' });
    // No request since: it sleeps again after the cron grace (5 minutes), not the plan's 30.
    expect((await sweepAt(Date.now() + 4 * MINUTE)).hibernated).toBe(0);
    expect((await sweepAt(Date.now() + 6 * MINUTE)).hibernated).toBe(1);
    expect((await hibernationView()).state).toBe('hibernated');
    expect((await versionInfo()).status).toBe(200);
  }, 120_000);

  it('answers a wake that fails with a clear page, a 503 for programs, and an error on the timeline', async () => {
    await hibernate();
    // The tenant's role may no longer log in: its Odoo cannot start.
    await withConnection(postgresAdminUrl(), (client) => client.query(`ALTER ROLE "${tenant.role}" NOLOGIN`));
    try {
      const page = await hostRequest(port, tenant.host, 'GET', '/web/login', undefined, BROWSER);
      expect(page.status).toBe(503);
      expect(page.headers['retry-after']).toBe('60');
      expect(page.text).toContain('could not be started');
      expect(page.text).toContain('The operators have been told');
      const rpc = await hostRequest(port, tenant.host, 'POST', '/web/session/get_session_info', { jsonrpc: '2.0', params: {} });
      expect(rpc.status).toBe(503);
      expect(rpc.headers['retry-after']).toBe('60');
      expect(rpc.json().error).toBe('tenant_wake_failed');
      const failure = (await timeline()).find((e) => e.type === 'error' && e.message?.startsWith('Waking from hibernation failed'));
      expect(failure?.message).toContain('not healthy within 6 s');
      const view = await hibernationView();
      expect(view.state).toBe('hibernated');
      expect(view.lastWakeFailed).toBe(true);
    } finally {
      await withConnection(postgresAdminUrl(), (client) => client.query(`ALTER ROLE "${tenant.role}" LOGIN`));
    }
  }, 120_000);
});

/** The status line the gateway answers a websocket handshake with. */
function websocketStatus(port: number, host: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed before a status line: ${JSON.stringify(received)}`)));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n');
      if (end >= 0) {
        socket.removeAllListeners('close');
        socket.destroy();
        resolvePromise(received.slice(0, end));
      }
    });
    socket.write(
      `GET /websocket HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://${host}\r\n\r\n`,
    );
  });
}
