import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/postgres/index.js';
import { cliEnvironment, repositoryRoot } from '../helpers/cli.js';
import { odooLogin, waitFor } from '../helpers/gateway-client.js';
import { createHttpClient, GOOD_PASSWORD, uniqueEmail } from '../helpers/platform.js';
import { createTestDatabase, postgresAdminUrl, type TestDatabase } from '../helpers/postgres.js';

/**
 * Crash safety of provisioning: the platform runs as a real child process and is killed
 * (SIGKILL, through the test-only SAAS_TEST_CRASH_AFTER_STEP hook) right after a step; a new
 * platform process on the same data must finish the tenant, and leave nothing twice or orphaned.
 */
const fakeOdoo = resolve('test/fixtures/fake-odoo/odoo-bin');
let database: TestDatabase;
let dataDir: string;
let port: number;
let child: ChildProcess | undefined;

function startPlatformProcess(extraEnv: Record<string, string> = {}): ChildProcess {
  const env = cliEnvironment({
    DATABASE_URL: database.url,
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    SECRET_KEY: 'crash-test-secret-key-that-is-at-least-32-chars',
    TENANT_DATABASE_URL: postgresAdminUrl(),
    ODOO_BIN: fakeOdoo,
    TEMPLATES_AUTOBUILD: 'blank',
    LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    // The fake Odoo's launcher runs `node`: the one running the tests (>= 22).
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
    ...extraEnv,
  });
  const started = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
    cwd: repositoryRoot,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child = started;
  return started;
}

function exited(process: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (process.exitCode !== null || process.signalCode !== null)
    return Promise.resolve({ code: process.exitCode, signal: process.signalCode });
  return new Promise((r) => process.once('exit', (code, signal) => r({ code, signal })));
}

async function stopPlatform(process: ChildProcess): Promise<void> {
  if (process.exitCode === null && process.signalCode === null) {
    process.kill('SIGTERM');
    await exited(process);
  }
}

async function adminQuery<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: postgresAdminUrl() });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Live processes whose command line contains `text`, with their parent pid. */
function processesMentioning(text: string): Array<{ pid: number; parent: number }> {
  const found: Array<{ pid: number; parent: number }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (cmdline.includes(text) && state[0] !== 'Z') found.push({ pid: Number(entry), parent: Number(state[1]) });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

beforeAll(async () => {
  database = await createTestDatabase('crash');
  dataDir = mkdtempSync(join(tmpdir(), 'saas-crash-'));
  port = await freePort();
});

afterAll(async () => {
  if (child) await stopPlatform(child);
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('provisioning survives a crash of the platform', () => {
  const http = () => createHttpClient(`http://127.0.0.1:${port}`);

  for (const step of ['clone', 'serve']) {
    it(`finishes a tenant whose platform was killed right after the ${step} step`, async () => {
      const first = startPlatformProcess({ SAAS_TEST_CRASH_AFTER_STEP: step });
      await waitFor('the platform to be ready', async () => ((await http().get('/readyz')).status === 200 ? true : undefined), 60_000);
      const email = uniqueEmail(`crash-${step}`);
      await http().post('/api/v1/auth/register', { email, password: GOOD_PASSWORD, name: 'Crash', organization: 'Crash Ltd' });
      const token = (await http().post('/api/v1/auth/login', { email, password: GOOD_PASSWORD })).body.accessToken as string;
      await waitFor(
        'the blank template',
        async () => {
          const templates = await http().get('/api/v1/templates', { token });
          return templates.body
            .find((t: { code: string }) => t.code === 'blank')
            ?.builds.some((b: { status: string }) => b.status === 'ready')
            ? true
            : undefined;
        },
        60_000,
      );
      const name = `crash${step}${Date.now().toString(36)}`;
      const created = await http().post(
        '/api/v1/tenants',
        { name, plan: 'basic', template: 'blank', adminEmail: `admin@${name}.example.com`, adminPassword: 'Odoo-Admin-Pass-1' },
        { token },
      );
      expect(created.status, created.text).toBe(202);

      const crash = await exited(first);
      expect(crash.signal).toBe('SIGKILL');
      // Killed mid-way: still provisioning, with exactly the steps up to the crash done.
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      const { rows } = await client.query<{ state: string; provisioning_step: string }>(
        'SELECT state, provisioning_step FROM tenants WHERE name = $1',
        [name],
      );
      await client.end();
      expect(rows[0]).toEqual({ state: 'provisioning', provisioning_step: step });

      const second = startPlatformProcess();
      await waitFor(
        'the restarted platform to be ready',
        async () => ((await http().get('/readyz')).status === 200 ? true : undefined),
        60_000,
      );
      const tenant = await waitFor(
        `tenant ${name} to be running after the restart`,
        async () => {
          const response = await http().get(`/api/v1/tenants/${name}`, { token });
          if (response.body.state === 'error') throw new Error(`tenant went to error: ${response.body.stateReason}`);
          return response.body.state === 'running' ? response.body : undefined;
        },
        90_000,
        250,
      );
      expect(tenant.databaseName).toBe(`t_${name}`);
      const login = await odooLogin(port, `${name}.lvh.me:${port}`, `t_${name}`, `admin@${name}.example.com`, 'Odoo-Admin-Pass-1');
      expect(login.body.result?.uid).toBe(2);

      // Nothing twice, nothing orphaned: one database and one role for the tenant, no half-made copies.
      const databases = await adminQuery<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`%${name}%`]);
      expect(databases.map((d) => d.datname)).toEqual([`t_${name}`]);
      const roles = await adminQuery<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE $1`, [`%${name}%`]);
      expect(roles.map((r) => r.rolname)).toEqual([`r_${name}`]);
      expect(existsSync(join(dataDir, 'odoo', 'filestore', `t_${name}`))).toBe(true);
      const timeline = (await http().get(`/api/v1/tenants/${name}/events`, { token })).body as Array<{
        type: string;
        step: string | null;
        toState: string | null;
      }>;
      expect(timeline.filter((e) => e.type === 'state' && e.toState === 'running')).toHaveLength(1);
      // Every Odoo process of this data directory belongs to the new platform: the crashed
      // platform's processes were stopped, not left running beside the new ones.
      const odooProcesses = processesMentioning(join(dataDir, 'runtime'));
      expect(odooProcesses.length).toBeGreaterThan(0);
      expect(odooProcesses.filter((p) => p.parent !== second.pid)).toEqual([]);

      await stopPlatform(second);
    }, 240_000);
  }
});
