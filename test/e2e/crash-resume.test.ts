import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLONE_CRASH_POINTS, PROVISIONING_STEPS } from '../../src/provisioning/index.js';
import { TEMPLATE_OWNER_ROLE } from '../../src/templates/index.js';
import { exited, spawnServe } from '../helpers/cli.js';
import { odooLogin, waitFor } from '../helpers/gateway-client.js';
import { createHttpClient, GOOD_PASSWORD, uniqueEmail } from '../helpers/platform.js';
import { freeTestPort } from '../helpers/ports.js';
import { createTestDatabase, postgresAdminUrl, type TestDatabase } from '../helpers/postgres.js';

/**
 * Crash safety of provisioning: the platform runs as a real child process and is killed
 * (SIGKILL, through the test-only SAAS_TEST_CRASH_AFTER_STEP hook) right after each step, and at
 * the points inside the clone step where the database exists but is not the tenant's yet; on the
 * spare path (a pre-made copy is claimed, renamed, handed over) and on the template path (no
 * spare: CREATE DATABASE ... TEMPLATE, then the hand-over). A new platform process on the same
 * data must finish the tenant (`running`, nothing else), and leave nothing twice or orphaned.
 * All cases share one platform database and data directory (the template is built once); the new
 * process fails the dead one's job over at start-up, so no case waits for a heartbeat to expire.
 */
const fakeOdoo = resolve('test/fixtures/fake-odoo/odoo-bin');
let database: TestDatabase;
let dataDir: string;
let port: number;
/** Every platform process started, so a failed case leaves none running into the next. */
const children = new Set<ChildProcess>();

function startPlatformProcess(extraEnv: Record<string, string> = {}): ChildProcess {
  const env = {
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
    ...extraEnv,
  };
  const started = spawnServe(env);
  children.add(started);
  return started;
}

async function stopPlatform(process: ChildProcess): Promise<void> {
  if (process.exitCode === null && process.signalCode === null) {
    process.kill('SIGTERM');
    await exited(process);
  }
}

async function adminQuery<T extends pg.QueryResultRow>(text: string, values: unknown[] = [], url = postgresAdminUrl()): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
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
  port = await freeTestPort();
});

afterEach(async () => {
  for (const child of children) await stopPlatform(child);
  children.clear();
});

afterAll(async () => {
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

type ProvisioningPath = 'spare' | 'template';

/** Where each case kills the platform: after every step (a staging copy's `neutralise` aside), and inside the clone step. */
function crashPoints(path: ProvisioningPath): string[] {
  const afterSteps = PROVISIONING_STEPS.filter((step) => step !== 'neutralise');
  const insideClone = CLONE_CRASH_POINTS.filter((point) => (path === 'spare' ? point !== 'clone:created' : point === 'clone:created'));
  return [...afterSteps, ...insideClone];
}

const pathSettings: Record<ProvisioningPath, Record<string, string>> = {
  spare: { SPARE_DATABASES: '1' },
  template: { SPARE_DATABASES: '0' },
};

describe('provisioning survives a crash of the platform', () => {
  const http = () => createHttpClient(`http://127.0.0.1:${port}`);
  const platformQuery = <T extends pg.QueryResultRow>(text: string, values: unknown[] = []) => adminQuery<T>(text, values, database.url);
  const tenantDatabaseQuery = <T extends pg.QueryResultRow>(name: string, text: string) => {
    const url = new URL(postgresAdminUrl());
    url.pathname = `/t_${name}`;
    return adminQuery<T>(text, [], url.toString());
  };

  async function startReadyPlatform(env: Record<string, string>): Promise<ChildProcess> {
    const started = startPlatformProcess(env);
    await waitFor('the platform to be ready', async () => ((await http().get('/readyz')).status === 200 ? true : undefined), 60_000);
    return started;
  }

  async function registeredToken(label: string): Promise<string> {
    const email = uniqueEmail(`crash-${label.replace(/[^a-z]/g, '')}`);
    await http().post('/api/v1/auth/register', { email, password: GOOD_PASSWORD, name: 'Crash', organization: 'Crash Ltd' });
    return (await http().post('/api/v1/auth/login', { email, password: GOOD_PASSWORD })).body.accessToken as string;
  }

  async function templateAndSparesReady(path: ProvisioningPath, token: string): Promise<void> {
    await waitFor(
      'the blank template',
      async () => {
        const templates = await http().get('/api/v1/templates', { token });
        return templates.body.find((t: { code: string; available: boolean }) => t.code === 'blank')?.available ? true : undefined;
      },
      60_000,
    );
    if (path !== 'spare') return;
    await waitFor(
      'a ready spare database',
      async () => ((await platformQuery("SELECT 1 FROM spare_databases WHERE status = 'ready'")).length > 0 ? true : undefined),
      60_000,
    );
  }

  /** Waits until the restarted platform has finished the tenant, which must then be running. */
  async function expectRunningAfterRestart(name: string, token: string): Promise<void> {
    const tenant = await waitFor(
      `tenant ${name} to finish provisioning after the restart`,
      async () => {
        const response = await http().get(`/api/v1/tenants/${name}`, { token });
        return ['running', 'error'].includes(response.body.state) ? response.body : undefined;
      },
      90_000,
      250,
    );
    expect(tenant.state, `state reason: ${tenant.stateReason}`).toBe('running');
  }

  for (const path of ['template', 'spare'] as const) {
    for (const point of crashPoints(path)) {
      it(`${path} path: finishes a tenant whose platform was killed at ${point}`, async () => {
        const first = await startReadyPlatform({ ...pathSettings[path], SAAS_TEST_CRASH_AFTER_STEP: point });
        const token = await registeredToken(point);
        await templateAndSparesReady(path, token);
        const name = `crash${path.slice(0, 1)}${point.replace(/[^a-z]/g, '').slice(0, 12)}${Date.now().toString(36)}`;
        // The job starts as soon as the request commits, so a crash at the first steps can kill the
        // platform before its 202 is on the wire: then the answer is lost, and the row below is the proof.
        const created = await http()
          .post(
            '/api/v1/tenants',
            { name, plan: 'basic', template: 'blank', adminEmail: `admin@${name}.example.com`, adminPassword: 'Odoo-Admin-Pass-1' },
            { token },
          )
          .catch((error: Error) => ({ status: 0, text: error.message }));

        const crash = await exited(first);
        expect(crash.signal).toBe('SIGKILL');
        if (created.status !== 0) expect(created.status, created.text).toBe(202);
        // Killed mid-way: still provisioning, with exactly the steps up to the crash done.
        const [killed] = await platformQuery<{ state: string; provisioning_step: string; spare_database: string | null }>(
          'SELECT state, provisioning_step, spare_database FROM tenants WHERE name = $1',
          [name],
        );
        expect(killed).toMatchObject({ state: 'provisioning', provisioning_step: point.startsWith('clone:') ? 'role' : point });

        const second = await startReadyPlatform(pathSettings[path]);
        await expectRunningAfterRestart(name, token);
        // The case took the path it is named after.
        const [row] = await platformQuery<{ database_name: string; spare_database: string | null }>(
          'SELECT database_name, spare_database FROM tenants WHERE name = $1',
          [name],
        );
        expect(row?.database_name).toBe(`t_${name}`);
        expect(row?.spare_database !== null).toBe(path === 'spare');
        const login = await odooLogin(port, `${name}.lvh.me:${port}`, `t_${name}`, `admin@${name}.example.com`, 'Odoo-Admin-Pass-1');
        expect(login.body.result?.uid).toBe(2);

        // Nothing twice, nothing orphaned: one database and one role for the tenant, no half-made copies.
        const databases = await adminQuery<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`%${name}%`]);
        expect(databases.map((d) => d.datname)).toEqual([`t_${name}`]);
        const roles = await adminQuery<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname LIKE $1`, [`%${name}%`]);
        expect(roles.map((r) => r.rolname)).toEqual([`r_${name}`]);
        expect(existsSync(join(dataDir, 'odoo', 'filestore', `t_${name}`))).toBe(true);
        // The tenant's role owns every table of its database; the template owner owns nothing in it,
        // and still owns the template databases (a hand-over must not give them away).
        const tableOwners = await tenantDatabaseQuery<{ owner: string }>(
          name,
          "SELECT DISTINCT tableowner AS owner FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
        );
        expect(tableOwners.map((t) => t.owner)).toEqual([`r_${name}`]);
        const templateOwned = await tenantDatabaseQuery<{ n: number }>(
          name,
          `SELECT count(*)::int AS n FROM pg_shdepend WHERE deptype = 'o' AND refobjid = '${TEMPLATE_OWNER_ROLE}'::regrole
             AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        );
        expect(templateOwned[0]?.n).toBe(0);
        const templateDatabaseOwners = await adminQuery<{ owner: string }>(
          "SELECT DISTINCT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datistemplate AND datname NOT IN ('template0', 'template1')",
        );
        expect(templateDatabaseOwners.map((t) => t.owner)).toEqual([TEMPLATE_OWNER_ROLE]);
        const timeline = (await http().get(`/api/v1/tenants/${name}/events`, { token })).body as Array<{
          type: string;
          toState: string | null;
        }>;
        expect(timeline.filter((e) => e.type === 'state' && e.toState === 'running')).toHaveLength(1);
        // Every Odoo process of this data directory belongs to the new platform: the crashed
        // platform's processes were stopped, not left running beside the new ones. A prefork
        // worker's parent is its master, which the new platform started.
        const odooProcesses = processesMentioning(join(dataDir, 'runtime'));
        expect(odooProcesses.length).toBeGreaterThan(0);
        const started = new Set(odooProcesses.filter((p) => p.parent === second.pid).map((p) => p.pid));
        expect(odooProcesses.filter((p) => p.parent !== second.pid && !started.has(p.parent))).toEqual([]);

        await stopPlatform(second);
      }, 240_000);
    }
  }

  it('provisions a tenant whose platform was killed right after the create committed, before it answered', async () => {
    // The tenant's row, first event and provisioning job are one transaction: once it committed
    // (here the platform dies at once, the customer never gets the 202) the job is there for the
    // next platform to run; before it committed, there is no tenant at all.
    const first = await startReadyPlatform({ SAAS_TEST_CRASH_AFTER_STEP: 'create:committed' });
    const token = await registeredToken('createcommitted');
    await templateAndSparesReady('template', token);
    const name = `crashcreate${Date.now().toString(36)}`;
    const request = http().post(
      '/api/v1/tenants',
      { name, plan: 'basic', template: 'blank', adminEmail: `admin@${name}.example.com`, adminPassword: 'Odoo-Admin-Pass-1' },
      { token },
    );
    await expect(request).rejects.toThrow();
    expect((await exited(first)).signal).toBe('SIGKILL');
    const [killed] = await platformQuery<{ state: string; job_id: string | null; jobs: number }>(
      `SELECT t.state, t.job_id, (SELECT count(*)::int FROM pgboss.job j WHERE j.id::text = t.job_id) AS jobs
         FROM tenants t WHERE t.name = $1`,
      [name],
    );
    expect(killed).toMatchObject({ state: 'provisioning', jobs: 1 });

    const second = await startReadyPlatform({});
    await expectRunningAfterRestart(name, token);
    const login = await odooLogin(port, `${name}.lvh.me:${port}`, `t_${name}`, `admin@${name}.example.com`, 'Odoo-Admin-Pass-1');
    expect(login.body.result?.uid).toBe(2);
    await stopPlatform(second);
  }, 240_000);
});
