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
/** A request whose answer is the same every time (a login page carries a fresh CSRF token). */
const VERSION_INFO = { jsonrpc: '2.0', method: 'call', id: 1, params: {} };
/** Past premium's 1440 idle minutes for its database server (and its 240 for Odoo) after any real request. */
const past = () => new Date(Date.now() + 1500 * MINUTE);

/**
 * Hibernation of a premium tenant's dedicated PostgreSQL server (issue 12 item 3), with the
 * platform's real process runtime running the fake Odoo and a real dedicated server under its
 * DATA_DIR: the sweep (with a clock a day ahead) stops Odoo and then the server; the first request
 * through the gateway starts the server, then Odoo; backups wake it and it sleeps again; the usage
 * sampler leaves it asleep. (A platform restart keeping it asleep: database-server-hibernation-crash.test.ts.)
 */
describe('database server hibernation and wake on request', () => {
  let test: TestPlatform;
  let port: number;
  let operator: Awaited<ReturnType<typeof createOperator>>;
  let tenant: { id: string; name: string; host: string; serverId: string };

  beforeAll(async () => {
    test = await startTestPlatform({
      TENANT_DATABASE_URL: postgresAdminUrl(),
      BASE_DOMAIN: 'lvh.me',
      ODOO_BIN: resolve('test/fixtures/fake-odoo/odoo-bin'),
      TEMPLATES_AUTOBUILD: 'blank',
      RUN_WORKERS: 'true',
      SPARE_DATABASES: '0',
      HIBERNATION_WAKE_HOLD_SECONDS: '60',
      HIBERNATION_WAKE_TIMEOUT_SECONDS: '60',
    });
    port = Number(new URL(test.url).port);
    operator = await createOperator(test);
    await templateBuilt(test, operator.accessToken);
    const customer = await registerCustomer(test.http, 'dbhibernation');
    const name = `dbh${Date.now().toString(36)}`;
    await runningTenant(test, operator.accessToken, { name, plan: 'premium', accountId: customer.accountId }, 180_000);
    const row = await test.platform.database.db
      .selectFrom('tenants')
      .select(['id', 'server_id'])
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
    tenant = { id: row.id, name, host: `${name}.lvh.me:${port}`, serverId: row.server_id as string };
    expect((await test.platform.servers.get(tenant.serverId)).kind).toBe('dedicated');
    await waitFor('the tenant to answer through the gateway', async () => {
      const answer = await versionInfo();
      return answer.status === 200 ? answer : undefined;
    });
  }, 400_000);

  afterAll(async () => {
    await test?.stop();
  });

  const versionInfo = () => hostRequest(port, tenant.host, 'POST', '/web/webclient/version_info', VERSION_INFO);
  const timeline = async (): Promise<Array<{ type: string; message: string | null }>> =>
    (await test.http.get(`/api/v1/tenants/${tenant.name}/events`, { token: operator.accessToken })).body;
  const hibernationView = async () =>
    (await test.http.get(`/api/v1/tenants/${tenant.name}/hibernation`, { token: operator.accessToken })).body;
  const serverView = async () => (await test.http.get(`/api/v1/database-servers/${tenant.serverId}`, { token: operator.accessToken })).body;
  /** Whether the dedicated server accepts a connection right now. */
  const serverAnswers = async (): Promise<boolean> =>
    withConnection(
      await test.platform.servers.adminUrl(tenant.serverId),
      async (client) => (await client.query('SELECT 1')).rowCount === 1,
    ).catch(() => false);

  /** One sweep a day ahead: the tenant's Odoo, then its database server, stopped. */
  async function hibernateBoth(): Promise<void> {
    const result = await test.platform.hibernation.sweep(past());
    expect(result).toMatchObject({ hibernated: 1, serversHibernated: 1 });
    expect(await test.platform.runtimes.get('process').status(tenant.id)).toBeUndefined();
    expect(await test.platform.servers.isAsleep(tenant.serverId)).toBe(true);
    expect(await serverAnswers()).toBe(false);
  }

  it('stops Odoo and then its dedicated server, and the first request wakes both with the body of a warm request', async () => {
    const warm = await versionInfo();
    expect(warm.status).toBe(200);
    expect(await serverAnswers()).toBe(true);
    // Idle, but not yet for a day: Odoo sleeps, its server does not.
    const early = await test.platform.hibernation.sweep(new Date(Date.now() + 300 * MINUTE));
    expect(early).toMatchObject({ hibernated: 1, serversHibernated: 0 });
    expect(await serverAnswers()).toBe(true);
    expect((await serverView()).hibernatedAt).toBeNull();
    // Its crons would wake it at the next sweep: a request wakes it first (Odoo only, the server is up).
    const startsBefore = test.platform.servers.serverStarts();
    expect((await versionInfo()).text).toBe(warm.text);
    expect(test.platform.servers.serverStarts()).toBe(startsBefore);
    await hibernateBoth();
    expect((await serverView()).hibernatedAt).not.toBeNull();
    expect(await hibernationView()).toMatchObject({ state: 'hibernated', databaseServerAfterIdleMinutes: 1440 });
    expect((await hibernationView()).databaseServerHibernatedAt).not.toBeNull();

    const cold = await versionInfo();
    expect(cold.status).toBe(200);
    expect(cold.text).toBe(warm.text);
    expect(await serverAnswers()).toBe(true);
    expect((await serverView()).hibernatedAt).toBeNull();
    expect(await hibernationView()).toMatchObject({ state: 'awake', databaseServerHibernatedAt: null });
    // The login page reads the tenant's database through the woken server.
    expect((await hostRequest(port, tenant.host, 'GET', '/web/login', undefined, { accept: 'text/html' })).status).toBe(200);
    const events = await timeline();
    expect(events.some((e) => e.message?.startsWith('Database server hibernated: no request for 1440 minutes'))).toBe(true);
    expect(
      events.some((e) =>
        /^Woken from hibernation \(first request\) in \d+ ms: .* \d+ ms to start its PostgreSQL server, \d+ ms to load the serve spec, \d+ ms for Odoo to start/.test(
          e.message ?? '',
        ),
      ),
    ).toBe(true);
  }, 180_000);

  it('starts the server once for 20 concurrent first requests, all of them served', async () => {
    const warm = await versionInfo();
    await hibernateBoth();
    const startsBefore = test.platform.servers.serverStarts();
    const wakesBefore = test.platform.hibernation.wakesStarted();
    const answers = await Promise.all(Array.from({ length: 20 }, () => versionInfo()));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    expect(new Set(answers.map((a) => a.text))).toEqual(new Set([warm.text]));
    expect(test.platform.servers.serverStarts() - startsBefore).toBe(1);
    expect(test.platform.hibernation.wakesStarted() - wakesBefore).toBe(1);
  }, 180_000);

  it('backs up a sleeping tenant (waking its server), and the next sweep puts the server back to sleep', async () => {
    await hibernateBoth();
    const accepted = await test.http.post(`/api/v1/tenants/${tenant.name}/backups`, {}, { token: operator.accessToken });
    expect(accepted.status, accepted.text).toBe(202);
    const id = accepted.body.backup.id as string;
    const backup = await waitFor(
      'the backup to settle',
      async () => {
        const view = (await test.http.get(`/api/v1/tenants/${tenant.name}/backups/${id}`, { token: operator.accessToken })).body;
        return view.state === 'running' ? undefined : view;
      },
      120_000,
      200,
    );
    expect(backup.state, backup.failureReason).toBe('verified');
    expect(backup.archiveBytes).toBeGreaterThan(1000);
    // The backup woke the server, not Odoo.
    expect(await test.platform.servers.isAsleep(tenant.serverId)).toBe(false);
    expect(await test.platform.runtimes.get('process').status(tenant.id)).toBeUndefined();
    // Its scheduled test restore (on the verified event) may hold the server awake a moment longer.
    await waitFor(
      'the server to sleep again',
      async () => ((await test.platform.hibernation.sweep(past())).serversHibernated === 1 ? true : undefined),
      60_000,
      200,
    );
    expect(await serverAnswers()).toBe(false);
    expect(await test.platform.runtimes.get('process').status(tenant.id)).toBeUndefined();
  }, 240_000);

  it('never stops a server someone holds awake', async () => {
    expect(await test.platform.servers.isAsleep(tenant.serverId)).toBe(true);
    const held = await test.platform.servers.whileAwake(tenant.serverId, async () => {
      expect(await serverAnswers()).toBe(true);
      return (await test.platform.hibernation.sweep(past())).serversHibernated;
    });
    expect(held).toBe(0);
    expect(await serverAnswers()).toBe(true);
    expect((await test.platform.hibernation.sweep(past())).serversHibernated).toBe(1);
  }, 120_000);

  it('lets the usage sampler skip a sleeping server without waking it', async () => {
    expect(await test.platform.servers.isAsleep(tenant.serverId)).toBe(true);
    const startsBefore = test.platform.servers.serverStarts();
    const slot = new Date(Math.floor(Date.now() / 300_000) * 300_000);
    await test.platform.usage.sample(tenant.id, slot);
    expect(test.platform.servers.serverStarts()).toBe(startsBefore);
    expect(await test.platform.servers.isAsleep(tenant.serverId)).toBe(true);
    expect(await serverAnswers()).toBe(false);
    const sample = await test.platform.database.db
      .selectFrom('usage_samples')
      .selectAll()
      .where('tenant_id', '=', tenant.id)
      .where('slot', '=', slot)
      .executeTakeFirst();
    // Sampled (its filestore is on this host), its database not measured.
    expect(sample?.filestore_bytes).toBeGreaterThanOrEqual(0);
    expect(sample?.database_bytes).toBeNull();
  }, 60_000);
});
