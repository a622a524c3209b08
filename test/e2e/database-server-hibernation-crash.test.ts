import type { ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createJobQueue, type JobQueue } from '../../src/jobs/index.js';
import { createLogger } from '../../src/logging/index.js';
import { LocalPostgresServer } from '../../src/postgres/index.js';
import { exited } from '../helpers/cli.js';
import { hostRequest, waitFor } from '../helpers/gateway-client.js';
import { createHttpClient, GOOD_PASSWORD, uniqueEmail } from '../helpers/platform.js';
import { freeTestPort } from '../helpers/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { servedPlatform } from '../helpers/served-platform.js';

/**
 * Crash safety of database server hibernation: `saasctl serve` runs as a real child process on one
 * data directory and kills itself (SIGKILL) at the crash points of postgres/server-sleep.ts, or is
 * killed after a sleep committed. Each restart must end consistent: the server row and the
 * dedicated PostgreSQL server agree (awake and running, or hibernated and stopped), a sleeping
 * server stays stopped across the restart, and the first request wakes both it and Odoo.
 */
let database: TestDatabase;
let dataDir: string;
let port: number;
let jobs: JobQueue;
const served = servedPlatform(() => ({ databaseUrl: database.url, dataDir, port, env: { BASE_DOMAIN: 'lvh.me', SPARE_DATABASES: '0' } }));

interface Platform {
  child: ChildProcess;
  /** Resolves with the number of tenants the process runtime restored after this start. */
  restored: Promise<number>;
}

function startPlatform(extraEnv: Record<string, string> = {}): Platform {
  const child = served.start({ LOG_LEVEL: 'info', ...extraEnv }, ['ignore', 'pipe', 'inherit']);
  const restored = new Promise<number>((resolvePromise, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      if (process.env.TEST_LOG_LEVEL) console.log(line);
      if (!line.includes('process runtime restored its workloads')) return;
      resolvePromise((JSON.parse(line) as { tenants: number }).tenants);
    });
    child.once('exit', () => reject(new Error('the platform exited before its runtime restored its workloads')));
  });
  restored.catch(() => undefined);
  return { child, restored };
}

/** Whether something accepts TCP connections on the port (the dedicated postmaster). */
function listening(serverPort: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect({ host: '127.0.0.1', port: serverPort });
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('error', () => resolvePromise(false));
  });
}

beforeAll(async () => {
  database = await createTestDatabase('dbserver-hibernation-crash');
  dataDir = mkdtempSync(join(tmpdir(), 'saas-dbserver-hibernation-crash-'));
  // The dedicated PostgreSQL server runs as the postgres user when tests run as root: let it walk in.
  chmodSync(dataDir, 0o755);
  port = await freeTestPort();
});

afterEach(served.stopAll);

afterAll(async () => {
  await jobs?.stop();
  // A postmaster left running by a failed run of this test (the platform's stop leaves a hibernated one alone).
  for (const name of await served
    .query<{ managed_directory: string }>(
      "SELECT managed_directory FROM database_servers WHERE kind = 'dedicated' AND managed_directory IS NOT NULL",
    )
    .catch(() => [])) {
    await new LocalPostgresServer({ directory: name.managed_directory, logger: createLogger('silent') }).stopIfRunning();
  }
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('database server hibernation survives crashes of the platform', () => {
  const http = () => createHttpClient(`http://127.0.0.1:${port}`);

  async function serverState(serverId: string): Promise<{ hibernated: boolean; port: number }> {
    const [row] = await served.query<{ hibernated_at: Date | null; port: number }>(
      'SELECT hibernated_at, port FROM database_servers WHERE id = $1',
      [serverId],
    );
    if (!row) throw new Error('the server row is gone');
    return { hibernated: row.hibernated_at !== null, port: row.port };
  }

  /** Makes the tenant look idle for two days (no request recorded) and runs the sweep job. */
  async function sweepAfterTwoDaysIdle(tenantId: string): Promise<void> {
    await served.query(`UPDATE tenants SET state_changed_at = now() - interval '2 days' WHERE id = $1`, [tenantId]);
    await served.query(
      `UPDATE tenant_hibernation SET last_request_at = now() - interval '2 days', last_woken_at = now() - interval '2 days' WHERE tenant_id = $1`,
      [tenantId],
    );
    await served.query('DELETE FROM tenant_hibernation WHERE tenant_id = $1 AND hibernated_at IS NULL', [tenantId]);
    await jobs.send('tenant-hibernation-sweep', {});
  }

  it('ends consistent after a kill at each step, keeps a sleeping server stopped across restarts, and the first request wakes both', async () => {
    let platform = startPlatform({ SAAS_TEST_CRASH_AFTER_STEP: 'server-sleep:stopped' });
    await waitFor('the platform to be ready', async () => ((await http().get('/readyz')).status === 200 ? true : undefined), 60_000);
    jobs = createJobQueue({ connectionString: database.url, logger: createLogger('silent') });
    await jobs.start();
    const email = uniqueEmail('dbhibcrash');
    await http().post('/api/v1/auth/register', { email, password: GOOD_PASSWORD, name: 'Crash', organization: 'Crash Ltd' });
    const token = (await http().post('/api/v1/auth/login', { email, password: GOOD_PASSWORD })).body.accessToken as string;
    await waitFor(
      'the blank template',
      async () => {
        const templates = await http().get('/api/v1/templates', { token });
        return templates.body.find((t: { code: string }) => t.code === 'blank') ? true : undefined;
      },
      60_000,
    );
    const name = `dc${Date.now().toString(36)}`;
    const created = await http().post(
      '/api/v1/tenants',
      { name, plan: 'premium', template: 'blank', adminEmail: `admin@${name}.example.com`, adminPassword: GOOD_PASSWORD },
      { token },
    );
    expect(created.status, created.text).toBe(202);
    const tenantId = created.body.tenant.id as string;
    await waitFor(
      'the tenant to run',
      async () => {
        const view = await http().get(`/api/v1/tenants/${name}`, { token });
        if (view.body.state === 'error') throw new Error(`tenant went to error: ${view.body.stateReason}`);
        return view.body.state === 'running' ? true : undefined;
      },
      240_000,
      200,
    );
    const [placed] = await served.query<{ server_id: string }>('SELECT server_id FROM tenants WHERE id = $1', [tenantId]);
    const serverId = placed?.server_id as string;
    const wakeRequest = () =>
      hostRequest(port, `${name}.lvh.me:${port}`, 'POST', '/web/webclient/version_info', { jsonrpc: '2.0', params: {} });
    const wakeMessages = async () =>
      (await served.query<{ message: string }>('SELECT message FROM tenant_events WHERE tenant_id = $1 ORDER BY id', [tenantId]))
        .map((e) => e.message)
        .filter((m) => m?.startsWith('Woken from hibernation'));

    // 1. Killed after stopping the server, before the sleep committed: its row says awake, so the
    //    restarted platform starts it at boot. (Not idle enough for the server any more, so the
    //    once-a-minute sweep cannot put it back to sleep before the checks; its Odoo stays hibernated.)
    await sweepAfterTwoDaysIdle(tenantId);
    expect(await exited(platform.child)).toEqual({ code: null, signal: 'SIGKILL' });
    expect((await serverState(serverId)).hibernated).toBe(false);
    expect(await listening((await serverState(serverId)).port)).toBe(false);
    await served.query(
      `UPDATE tenant_hibernation SET last_request_at = now() - interval '5 hours', cron_wake_at = NULL WHERE tenant_id = $1`,
      [tenantId],
    );
    platform = startPlatform();
    expect(await platform.restored).toBe(0);
    expect((await serverState(serverId)).hibernated).toBe(false);
    expect(await listening((await serverState(serverId)).port)).toBe(true);

    // 2. A committed sleep outlives a kill: the restarted platform leaves the server stopped.
    await sweepAfterTwoDaysIdle(tenantId);
    await waitFor('the server sleep to commit', async () => ((await serverState(serverId)).hibernated ? true : undefined), 60_000);
    expect(await listening((await serverState(serverId)).port)).toBe(false);
    platform.child.kill('SIGKILL');
    await exited(platform.child);
    // No cron wake in what follows: only the request below may wake it.
    await served.query('UPDATE tenant_hibernation SET cron_wake_at = NULL WHERE tenant_id = $1', [tenantId]);

    // 3. Killed after a wake started the server, before it committed: the request is lost, the
    //    postmaster keeps running; the next boot stops it again, as its row says.
    platform = startPlatform({ SAAS_TEST_CRASH_AFTER_STEP: 'server-wake:started' });
    expect(await platform.restored).toBe(0);
    expect(await listening((await serverState(serverId)).port)).toBe(false);
    await wakeRequest().catch(() => undefined);
    expect(await exited(platform.child)).toEqual({ code: null, signal: 'SIGKILL' });
    expect((await serverState(serverId)).hibernated).toBe(true);
    expect(await listening((await serverState(serverId)).port)).toBe(true);
    platform = startPlatform();
    expect(await platform.restored).toBe(0);
    expect((await serverState(serverId)).hibernated).toBe(true);
    expect(await listening((await serverState(serverId)).port)).toBe(false);
    expect(await wakeMessages()).toEqual([]);

    // The first request wakes the server, then Odoo.
    const woken = await wakeRequest();
    expect(woken.status).toBe(200);
    expect(woken.json().result.server_serie).toBe('16.0');
    expect((await serverState(serverId)).hibernated).toBe(false);
    expect(await listening((await serverState(serverId)).port)).toBe(true);
    const wakes = await wakeMessages();
    expect(wakes).toHaveLength(1);
    expect(wakes[0]).toMatch(/\d+ ms to start its PostgreSQL server/);
  }, 600_000);
});
