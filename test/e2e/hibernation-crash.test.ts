import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createJobQueue, type JobQueue } from '../../src/jobs/index.js';
import { createLogger } from '../../src/logging/index.js';
import { exited } from '../helpers/cli.js';
import { hostRequest, waitFor } from '../helpers/gateway-client.js';
import { createHttpClient, GOOD_PASSWORD, uniqueEmail } from '../helpers/platform.js';
import { freeTestPort } from '../helpers/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { servedPlatform } from '../helpers/served-platform.js';

/**
 * Crash safety of the hibernation sweep: `saasctl serve` runs as a real child process and kills
 * itself (SIGKILL, SAAS_TEST_CRASH_AFTER_STEP=hibernate:unserved) after it stopped the tenant's
 * Odoo but before the hibernation committed. The restarted platform must serve the tenant again
 * (its row never said hibernated). Then a hibernation that committed must survive a kill: the
 * restarted runtime does not bring the tenant back, and its first request wakes it.
 */
let database: TestDatabase;
let dataDir: string;
let port: number;
let jobs: JobQueue;
const served = servedPlatform(() => ({ databaseUrl: database.url, dataDir, port, env: { BASE_DOMAIN: 'lvh.me' } }));

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

beforeAll(async () => {
  database = await createTestDatabase('hibernation-crash');
  dataDir = mkdtempSync(join(tmpdir(), 'saas-hibernation-crash-'));
  port = await freeTestPort();
});

afterEach(served.stopAll);

afterAll(async () => {
  await jobs?.stop();
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('the hibernation sweep survives a crash of the platform', () => {
  const http = () => createHttpClient(`http://127.0.0.1:${port}`);

  /** Makes the tenant look idle for an hour (no request was ever recorded) and runs the sweep job. */
  async function sweepAfterAnHourIdle(tenantId: string): Promise<void> {
    await served.query(`UPDATE tenants SET state_changed_at = now() - interval '1 hour' WHERE id = $1`, [tenantId]);
    await served.query('DELETE FROM tenant_hibernation WHERE tenant_id = $1 AND hibernated_at IS NULL', [tenantId]);
    await jobs.send('tenant-hibernation-sweep', {});
  }

  it('restores a tenant whose hibernation was cut short, and keeps a committed one asleep until its first request', async () => {
    let platform = startPlatform({ SAAS_TEST_CRASH_AFTER_STEP: 'hibernate:unserved' });
    await waitFor('the platform to be ready', async () => ((await http().get('/readyz')).status === 200 ? true : undefined), 60_000);
    jobs = createJobQueue({ connectionString: database.url, logger: createLogger('silent') });
    await jobs.start();
    const email = uniqueEmail('hibcrash');
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
    const name = `hc${Date.now().toString(36)}`;
    const created = await http().post(
      '/api/v1/tenants',
      { name, plan: 'standard', template: 'blank', adminEmail: `admin@${name}.example.com`, adminPassword: GOOD_PASSWORD },
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
      180_000,
      200,
    );

    // 1. Killed between stopping Odoo and committing: nothing says hibernated, so it comes back.
    await sweepAfterAnHourIdle(tenantId);
    expect(await exited(platform.child)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(
      await served.query('SELECT tenant_id FROM tenant_hibernation WHERE tenant_id = $1 AND hibernated_at IS NOT NULL', [tenantId]),
    ).toEqual([]);
    // Not idle any more: the once-a-minute sweep may run before the restarted runtime restores,
    // and would then rightly hibernate a tenant idle for an hour (and restore none).
    await served.query('UPDATE tenants SET state_changed_at = now() WHERE id = $1', [tenantId]);
    platform = startPlatform();
    expect(await platform.restored).toBe(1);
    // Served again (recorded where it answers) without a request: one would count as activity.
    await waitFor('the restored upstream', async () => {
      const rows = await served.query('SELECT tenant_id FROM tenant_upstreams WHERE tenant_id = $1', [tenantId]);
      return rows.length === 1 ? true : undefined;
    });
    expect(
      (await served.query<{ message: string }>('SELECT message FROM tenant_events WHERE tenant_id = $1', [tenantId])).filter((e) =>
        e.message?.startsWith('Woken from hibernation'),
      ),
    ).toEqual([]);

    // 2. A committed hibernation outlives a kill: the restarted runtime leaves the tenant stopped.
    await sweepAfterAnHourIdle(tenantId);
    await waitFor('the hibernation to commit', async () => {
      const [row] = await served.query<{ hibernated_at: Date | null }>(
        'SELECT hibernated_at FROM tenant_hibernation WHERE tenant_id = $1',
        [tenantId],
      );
      return row?.hibernated_at ?? undefined;
    });
    platform.child.kill('SIGKILL');
    await exited(platform.child);
    platform = startPlatform();
    expect(await platform.restored).toBe(0);
    expect(await served.query('SELECT tenant_id FROM tenant_upstreams WHERE tenant_id = $1', [tenantId])).toEqual([]);
    const woken = await hostRequest(port, `${name}.lvh.me:${port}`, 'POST', '/web/webclient/version_info', { jsonrpc: '2.0', params: {} });
    expect(woken.status).toBe(200);
    expect(woken.json().result.server_serie).toBe('16.0');
    const wakes = (await served.query<{ message: string }>('SELECT message FROM tenant_events WHERE tenant_id = $1', [tenantId])).filter(
      (e) => e.message?.startsWith('Woken from hibernation'),
    );
    expect(wakes).toHaveLength(1);
  }, 400_000);
});
