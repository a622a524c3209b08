import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/index.js';
import { renderOdooConfig } from '../../src/odoo/index.js';
import { quoteIdentifier, quoteLiteral, withConnection } from '../../src/postgres/index.js';
import {
  createProcessRuntime,
  type ProcessRuntime,
  type ProcessRuntimeOptions,
  type TenantServeSpec,
  type Upstream,
} from '../../src/runtimes/index.js';
import { POOL_DBFILTER } from '../../src/tenants/index.js';
import { sqlPoolAccess } from '../helpers/pool-access.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

/**
 * The process runtime with the fake Odoo (test/fixtures/fake-odoo) on the suite's real
 * PostgreSQL: pools and a dedicated process served, killed and restarted, logs kept apart,
 * tenants detached, everything stopped, and a crashed platform's leftovers replaced on restart.
 * The steps build on each other and run in order.
 */

const ODOO_BIN = resolve(import.meta.dirname, '../fixtures/fake-odoo/odoo-bin');
const CHILD_SCRIPT = resolve(import.meta.dirname, '../helpers/process-runtime-child.ts');
const suffix = randomBytes(3).toString('hex');
const SERVER_ID = `srv${suffix}-0000-4000-8000-000000000000`;
const PASSWORD = `pw-${suffix}`;
const ENV = { NODE: process.execPath };

let adminUrl: string;
let workDir: string;
let odooDataDir: string;
const runtimes: ProcessRuntime[] = [];
const helperChildren = new Set<ChildProcess>();

function tenantSpec(label: string, processStrategy: 'pool' | 'dedicated'): TenantServeSpec {
  const name = `pr${suffix}${label}`;
  const parsed = new URL(postgresAdminUrl());
  return {
    tenantId: `tenant-${label}-${suffix}`,
    tenantName: name,
    hostName: `${name}.example.test`,
    databaseName: `t_${name}`,
    processStrategy,
    databaseServerId: SERVER_ID,
    tenantRole: { host: parsed.hostname, port: Number(parsed.port || 5432), user: `r_${name}`, password: PASSWORD },
    limits: { cpu: 0.5, memoryMiB: 512 },
    replicas: 1,
  };
}

const A = tenantSpec('a', 'pool');
const B = tenantSpec('b', 'pool');
const C = tenantSpec('c', 'dedicated');
const ALL = [A, B, C];

const poolAccess = () => sqlPoolAccess(adminUrl, PASSWORD);

function admin(sql: string, values: unknown[] = []): Promise<pg.QueryResult> {
  return withConnection(adminUrl, (client) => client.query(sql, values));
}

interface HttpAnswer {
  status: number;
  text: string;
}

/** node:http rather than fetch: fetch does not let a test set the Host header. */
function http(
  port: number,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpAnswer> {
  return new Promise((resolvePromise, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: init.headers ?? {} },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolvePromise({ status: response.statusCode ?? 0, text }));
      },
    );
    request.on('error', reject);
    request.end(init.body);
  });
}

/** Logs in as the template's admin through the upstream, as the gateway would forward it. */
async function login(upstream: Upstream, spec: TenantServeSpec, database = spec.databaseName): Promise<{ uid?: number; error?: string }> {
  const answer = await http(upstream.port, '/web/session/authenticate', {
    method: 'POST',
    headers: { Host: spec.hostName, 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 1, params: { db: database, login: 'admin', password: 'admin' } }),
  });
  const body = JSON.parse(answer.text) as { result?: { uid?: number }; error?: { data?: { message?: string } } };
  return { uid: body.result?.uid, error: body.error?.data?.message };
}

async function expectServes(upstream: Upstream, spec: TenantServeSpec): Promise<void> {
  expect((await http(upstream.port, '/web/health', { headers: { Host: spec.hostName } })).status).toBe(200);
  expect(await login(upstream, spec)).toEqual({ uid: 2, error: undefined });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Live processes (not zombies) whose command line mentions the runtime's work directory. */
function processesUsing(dir: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        if (/^\d+ \(.*\) Z/.test(stat)) return false;
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    });
}

function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function canConnect(user: string, database: string): Promise<boolean> {
  const parsed = new URL(adminUrl);
  const client = new pg.Client({ host: parsed.hostname, port: Number(parsed.port || 5432), user, password: PASSWORD, database });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function newRuntime(desired: () => TenantServeSpec[], overrides: Partial<ProcessRuntimeOptions> = {}): ProcessRuntime {
  const runtime = createProcessRuntime({
    odooBin: ODOO_BIN,
    workDir,
    odooDataDir,
    env: ENV,
    logger: createLogger('warn'),
    poolAccess: poolAccess(),
    poolDbfilter: POOL_DBFILTER,
    desiredTenants: async () => desired(),
    poolWorkers: 2,
    healthTimeoutMs: 20_000,
    healthCheck: { intervalMs: 500, failureThreshold: 3, requestTimeoutMs: 1_000, startPollMs: 50 },
    backoff: { initialMs: 100, maxMs: 1_000, resetAfterMs: 60_000 },
    stopGraceMs: 3_000,
    ...overrides,
  });
  runtimes.push(runtime);
  return runtime;
}

/** A tenant as provisioning leaves it: role, database owned by it, CONNECT only for it, tables. */
async function createTenantDatabase(spec: TenantServeSpec): Promise<void> {
  const role = quoteIdentifier(spec.tenantRole.user);
  const database = quoteIdentifier(spec.databaseName);
  await admin(`CREATE ROLE ${role} WITH LOGIN PASSWORD ${quoteLiteral(PASSWORD)}`);
  await admin(`CREATE DATABASE ${database} OWNER ${role}`);
  await admin(`REVOKE CONNECT, TEMPORARY ON DATABASE ${database} FROM PUBLIC`);
  await admin(`GRANT CONNECT ON DATABASE ${database} TO ${role}`);
  const config = join(workDir, `init-${spec.tenantName}.conf`);
  writeFileSync(
    config,
    renderOdooConfig({
      db_host: spec.tenantRole.host,
      db_port: spec.tenantRole.port,
      db_user: spec.tenantRole.user,
      db_password: PASSWORD,
      data_dir: odooDataDir,
    }),
    { mode: 0o600 },
  );
  await promisify(execFile)(ODOO_BIN, ['-c', config, '-d', spec.databaseName, '-i', 'base', '--without-demo=all', '--stop-after-init'], {
    env: { ...process.env, ...ENV },
  });
  rmSync(config);
}

beforeAll(async () => {
  adminUrl = postgresAdminUrl();
  workDir = mkdtempSync(join(tmpdir(), 'process-runtime-'));
  odooDataDir = join(workDir, 'odoo-data');
  await Promise.all(ALL.map(createTenantDatabase));
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(runtimes.map((runtime) => runtime.stop()));
  for (const child of helperChildren) child.kill('SIGKILL');
  for (const pid of processesUsing(workDir)) process.kill(pid, 'SIGKILL');
  for (const spec of ALL) await admin(`DROP DATABASE IF EXISTS ${quoteIdentifier(spec.databaseName)} WITH (FORCE)`);
  const roles = await admin("SELECT rolname FROM pg_roles WHERE rolname LIKE 'p\\_pool\\_srv' || $1 || '%' OR rolname = ANY($2)", [
    suffix,
    ALL.map((spec) => spec.tenantRole.user),
  ]);
  for (const { rolname } of roles.rows as Array<{ rolname: string }>) await admin(`DROP ROLE IF EXISTS ${quoteIdentifier(rolname)}`);
  rmSync(workDir, { recursive: true, force: true });
}, 60_000);

describe('process runtime with the fake Odoo', () => {
  let runtime: ProcessRuntime;
  let desired: TenantServeSpec[] = [];
  const upstreams = new Map<string, Upstream>();

  it('serves two pool tenants from one process and a dedicated tenant from its own', async () => {
    runtime = newRuntime(() => desired);
    await runtime.start();
    for (const spec of ALL) {
      upstreams.set(spec.tenantId, await runtime.serve(spec));
      desired.push(spec);
    }
    const [a, b, c] = ALL.map((spec) => upstreams.get(spec.tenantId) as Upstream);
    expect(a).toEqual(b);
    expect(a?.websocketPort).toBeDefined();
    // The pool's two prefork workers (the default), the login check warms each; a threaded process is one.
    expect(a?.webWorkers).toBe(2);
    expect(c?.port).not.toBe(a?.port);
    expect(c?.websocketPort).toBeUndefined();
    expect(c?.webWorkers).toBe(1);
    expect(runtime.upstream(A.tenantId)).toEqual(a);

    const [statusA, statusB, statusC] = await Promise.all(ALL.map((spec) => runtime.status(spec.tenantId)));
    expect(statusA?.state).toBe('running');
    expect(statusA?.workload).toMatch(/^pool-srv[0-9a-f]{5}-1$/);
    expect(statusB?.workload).toBe(statusA?.workload);
    expect(statusB?.pid).toBe(statusA?.pid);
    expect(statusC?.workload).toBe(`tenant-${C.tenantName}`);
    expect(statusC?.pid).not.toBe(statusA?.pid);
    expect(statusA?.memoryBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(statusC?.restarts).toBe(0);

    for (const spec of ALL) await expectServes(upstreams.get(spec.tenantId) as Upstream, spec);
    // The pool picks the database from the host: tenant A's host cannot open B's database.
    expect((await login(a as Upstream, A, B.databaseName)).error).toMatch(/Database not found/);
  });

  it('writes private config files with the isolation settings, and runs a cron process per pool', async () => {
    const pool = (await runtime.status(A.tenantId))?.workload as string;
    const webConfig = join(workDir, pool, 'web.conf');
    expect(statSync(webConfig).mode & 0o777).toBe(0o600);
    const web = readFileSync(webConfig, 'utf8');
    expect(web).toContain('dbfilter = ^t_%d$');
    expect(web).toContain('list_db = False');
    expect(web).toContain('proxy_mode = True');
    expect(web).toContain('max_cron_threads = 0');
    expect(web).toContain(`db_user = ${poolAccess().roleOf(pool)}`);
    expect(web).not.toContain('admin_passwd = admin\n');
    const cron = readFileSync(join(workDir, pool, 'cron.conf'), 'utf8');
    expect(cron).toContain('http_enable = False');
    expect(cron).toContain('max_cron_threads = 2');
    expect(cron).toContain('workers = 1');
    expect(processesUsing(join(workDir, pool, 'cron.conf')).length).toBeGreaterThan(0);
    const dedicated = readFileSync(join(workDir, `tenant-${C.tenantName}`, 'web.conf'), 'utf8');
    expect(dedicated).toContain(`dbfilter = ^t_pr${suffix}c$`);
    expect(dedicated).toContain(`db_name = ${C.databaseName}`);
    expect(dedicated).toContain(`db_user = ${C.tenantRole.user}`);
    expect(dedicated).toContain(`limit_memory_hard = ${512 * 1024 * 1024}`);
  });

  it('puts each workload in a cgroup with its limits where the host allows it', async () => {
    const { mechanism } = runtime.resourceLimits;
    console.info(`process runtime resource limits on this host: ${mechanism} (${runtime.resourceLimits.detail})`);
    if (mechanism === 'none') return;
    const pid = (await runtime.status(C.tenantId))?.pid as number;
    const groups = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    expect(groups).toContain(`/saas-odoo/tenant-${C.tenantName}`);
    const memoryLine =
      groups.split('\n').find((line) => (mechanism === 'cgroup-v2' ? line.startsWith('0::') : /:memory:/.test(line))) ?? '';
    const path = memoryLine.split(':').slice(2).join(':');
    const root = mechanism === 'cgroup-v2' ? '/sys/fs/cgroup' : '/sys/fs/cgroup/memory';
    const limitFile = mechanism === 'cgroup-v2' ? 'memory.max' : 'memory.limit_in_bytes';
    expect(readFileSync(join(root, path, limitFile), 'utf8').trim()).toBe(String(512 * 1024 * 1024));
    // What the metrics read of the workload: the kernel's accounting of its group.
    const reported = (runtime.workloadMetrics?.() ?? []).find((w) => w.kind === 'dedicated' && w.name === C.tenantId);
    expect(reported).toMatchObject({ up: true, restarts: 0, oomKills: 0, tenantIds: [C.tenantId] });
    expect(reported?.memoryBytes).toBeGreaterThan(0);
    const cpuAccounted =
      mechanism === 'cgroup-v2' ||
      existsSync('/sys/fs/cgroup/cpuacct/cpuacct.usage') ||
      existsSync('/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage');
    if (cpuAccounted) expect(reported?.cpuSeconds).toBeGreaterThan(0);
    else console.info('no CPU accounting hierarchy on this host: workload CPU seconds are not reported');
  });

  it("changes a running dedicated tenant's cgroup limits at once (a live plan change), without restarting it", async () => {
    const { mechanism } = runtime.resourceLimits;
    if (mechanism === 'none') {
      console.info('no cgroups on this host: live limit changes are not checked here');
      return;
    }
    const before = await runtime.status(C.tenantId);
    await runtime.updateLimits?.(C.tenantId, { cpu: 1.5, memoryMiB: 768 });
    const groups = readFileSync(`/proc/${before?.pid}/cgroup`, 'utf8').split('\n');
    const pathIn = (pattern: RegExp) => (groups.find((line) => pattern.test(line)) ?? '').split(':').slice(2).join(':');
    if (mechanism === 'cgroup-v2') {
      const dir = join('/sys/fs/cgroup', pathIn(/^0::/));
      expect(readFileSync(join(dir, 'memory.max'), 'utf8').trim()).toBe(String(768 * 1024 * 1024));
      if (existsSync(join(dir, 'cpu.max'))) expect(readFileSync(join(dir, 'cpu.max'), 'utf8').trim()).toBe('150000 100000');
    } else {
      const memoryDir = join('/sys/fs/cgroup/memory', pathIn(/:memory:/));
      expect(readFileSync(join(memoryDir, 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(768 * 1024 * 1024));
      const cpuLine = groups.find((line) => /:(cpu|cpu,cpuacct|cpuacct,cpu):/.test(line));
      const cpuMount = ['cpu', 'cpu,cpuacct', 'cpuacct,cpu']
        .map((m) => `/sys/fs/cgroup/${m}`)
        .find((m) => existsSync(join(m, 'cpu.cfs_quota_us')));
      if (cpuLine && cpuMount) {
        expect(readFileSync(join(cpuMount, cpuLine.split(':').slice(2).join(':'), 'cpu.cfs_quota_us'), 'utf8').trim()).toBe('150000');
      }
    }
    const after = await runtime.status(C.tenantId);
    expect(after?.pid).toBe(before?.pid);
    expect(after?.restarts).toBe(before?.restarts);
    await runtime.updateLimits?.(C.tenantId, { cpu: 1, memoryMiB: 512 });
  });

  it('restarts the pool after kill -9, on the same port, and it still serves both tenants', async () => {
    const before = await runtime.status(A.tenantId);
    process.kill(before?.pid as number, 'SIGKILL');
    const after = await waitFor('the pool to come back', async () => {
      const status = await runtime.status(A.tenantId);
      return status?.state === 'running' && status.pid !== before?.pid ? status : undefined;
    });
    expect(after.restarts).toBe((before?.restarts ?? 0) + 1);
    expect(after.lastExitReason).toBe('killed by SIGKILL');
    expect((await runtime.status(B.tenantId))?.pid).toBe(after.pid);
    expect(runtime.upstream(A.tenantId)).toEqual(upstreams.get(A.tenantId));
    await expectServes(upstreams.get(A.tenantId) as Upstream, A);
    await expectServes(upstreams.get(B.tenantId) as Upstream, B);
  });

  it('restarts the dedicated process after kill -9', async () => {
    const before = await runtime.status(C.tenantId);
    process.kill(before?.pid as number, 'SIGKILL');
    const after = await waitFor('the dedicated process to come back', async () => {
      const status = await runtime.status(C.tenantId);
      return status?.state === 'running' && status.pid !== before?.pid ? status : undefined;
    });
    expect(after.restarts).toBe(1);
    expect((runtime.workloadMetrics?.() ?? []).find((w) => w.name === C.tenantId)).toMatchObject({ up: true, restarts: 1 });
    await expectServes(upstreams.get(C.tenantId) as Upstream, C);
  });

  it('kills and restarts a process that stops answering its health checks', async () => {
    const before = await runtime.status(C.tenantId);
    // A stopped process keeps its port open but answers nothing: the picture of a hung Odoo.
    process.kill(before?.pid as number, 'SIGSTOP');
    const after = await waitFor('the hung process to be replaced', async () => {
      const status = await runtime.status(C.tenantId);
      return status?.state === 'running' && status.pid !== before?.pid ? status : undefined;
    });
    expect(after.restarts).toBe((before?.restarts ?? 0) + 1);
    expect(after.lastExitReason).toMatch(/^hung: 3 health checks failed in a row while it sat idle$/);
    expect(isAlive(before?.pid as number)).toBe(false);
    await expectServes(upstreams.get(C.tenantId) as Upstream, C);
  });

  it('gives up on a process that keeps failing, and says why', async () => {
    const failing = newRuntime(() => [], { workDir: join(workDir, 'failing'), maxFailuresInARow: 2 });
    const D: TenantServeSpec = { ...tenantSpec('d', 'dedicated'), tenantRole: { ...C.tenantRole, user: `r_nobody_${suffix}` } };
    const started = Date.now();
    await expect(failing.serve(D)).rejects.toThrow(/failed 3 times in a row and is no longer restarted \(last exit: exited with code 1\)/);
    // Back-off between the attempts: 100 ms, then 200 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(await failing.status(D.tenantId)).toMatchObject({ state: 'failed', restarts: 2, lastExitReason: 'exited with code 1' });
    expect(failing.upstream(D.tenantId)).toBeUndefined();
    expect((await failing.logs(D.tenantId)).join('\n')).toMatch(/OperationalError/);
    await failing.unserve(D.tenantId);
    expect(await failing.status(D.tenantId)).toBeUndefined();
    await failing.stop();

    const missing = newRuntime(() => [], {
      workDir: join(workDir, 'missing'),
      odooBin: join(workDir, 'no-such-odoo-bin'),
      maxFailuresInARow: 1,
    });
    // Found out before the first process: the runtime asks `odoo-bin --version` for the series
    // its server-wide modules are linked under.
    await expect(missing.serve(D)).rejects.toThrow(/no-such-odoo-bin --version failed .*: spawn .*no-such-odoo-bin ENOENT/);
    await missing.unserve(D.tenantId);
    await missing.stop();
  });

  it("shows a pool tenant only its own database's log lines", async () => {
    const linesA = await runtime.logs(A.tenantId, { lines: 500 });
    expect(linesA.some((line) => line.includes(`Login successful for db:${A.databaseName}`))).toBe(true);
    expect(linesA.join('\n')).not.toContain(B.databaseName);
    expect(linesA.every((line) => !/^\d{4}-/.test(line) || line.includes(` ${A.databaseName} `))).toBe(true);
    const linesB = await runtime.logs(B.tenantId, { lines: 500 });
    expect(linesB.some((line) => line.includes(`Login successful for db:${B.databaseName}`))).toBe(true);
    expect(linesB.join('\n')).not.toContain(A.databaseName);
    expect(await runtime.logs(A.tenantId, { lines: 1 })).toHaveLength(1);
    // A dedicated process has the log to itself.
    const linesC = await runtime.logs(C.tenantId, { lines: 5 });
    expect(linesC.length).toBe(5);
    expect(await runtime.logs('no-such-tenant')).toEqual([]);
  });

  it("detaches a pool tenant: the pool's role can no longer reach its database, the other tenant stays", async () => {
    const pool = (await runtime.status(A.tenantId))?.workload as string;
    const poolRole = poolAccess().roleOf(pool);
    const poolPid = (await runtime.status(B.tenantId))?.pid;
    expect(await canConnect(poolRole, A.databaseName)).toBe(true);
    await runtime.unserve(A.tenantId);
    desired = desired.filter((spec) => spec.tenantId !== A.tenantId);
    expect(await canConnect(poolRole, A.databaseName)).toBe(false);
    expect(runtime.upstream(A.tenantId)).toBeUndefined();
    expect(await runtime.status(A.tenantId)).toBeUndefined();
    expect((await login(upstreams.get(B.tenantId) as Upstream, A)).error).toBeDefined();
    // The pool keeps running for B.
    expect((await runtime.status(B.tenantId))?.pid).toBe(poolPid);
    await expectServes(upstreams.get(B.tenantId) as Upstream, B);
    await runtime.unserve(A.tenantId); // idempotent
  });

  it('stop() leaves no Odoo process running and keeps pool memberships for the next start', async () => {
    await runtime.stop();
    expect(processesUsing(workDir)).toEqual([]);
    expect(runtime.upstream(B.tenantId)).toBeUndefined();
    const state = JSON.parse(readFileSync(join(workDir, 'state.json'), 'utf8')) as {
      pools: Array<{ tenants: Array<{ tenantId: string }> }>;
    };
    expect(state.pools.flatMap((pool) => pool.tenants.map((tenant) => tenant.tenantId))).toEqual([B.tenantId]);
  });

  it('a new runtime ends the leftovers of a crashed one and restores the desired tenants', async () => {
    desired = [...ALL];
    // A platform that serves the tenants and is then killed without stopping anything.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        CHILD_SCRIPT,
        JSON.stringify({ adminUrl, password: PASSWORD, odooBin: ODOO_BIN, workDir, odooDataDir, env: ENV, specs: ALL }),
      ],
      {
        cwd: resolve(import.meta.dirname, '../..'),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    helperChildren.add(child);
    let output = '';
    let errors = '';
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (errors += chunk));
    const reported = await waitFor(
      'the crashing platform to serve its tenants',
      () => {
        if (child.exitCode !== null) throw new Error(`the child runtime exited: ${errors}`);
        const line = output.split('\n').find((text) => text.startsWith('{'));
        return line ? (JSON.parse(line) as { pids: Record<string, number> }) : undefined;
      },
      40_000,
    );
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    helperChildren.delete(child);
    const leftovers = Object.values(reported.pids);
    expect(new Set(leftovers).size).toBe(2); // one pool, one dedicated process
    expect(leftovers.every(isAlive)).toBe(true);
    // Killed between a spawn and its pid file's write, a platform leaves no pid file behind:
    // the leftovers are found by the config file on their command line all the same.
    const pidFiles = readdirSync(workDir, { recursive: true, encoding: 'utf8' }).filter((path) => path.endsWith('.pid'));
    expect(pidFiles.length).toBeGreaterThanOrEqual(2);
    for (const path of pidFiles) rmSync(join(workDir, path));

    const restored = newRuntime(() => desired);
    await restored.start();
    expect(leftovers.some(isAlive)).toBe(false);
    for (const spec of ALL) {
      const status = await restored.status(spec.tenantId);
      expect(status?.state).toBe('running');
      expect(leftovers).not.toContain(status?.pid);
      await expectServes(restored.upstream(spec.tenantId) as Upstream, spec);
    }
    // Back in the pool whose role holds their grants.
    expect((await restored.status(A.tenantId))?.workload).toBe((await restored.status(B.tenantId))?.workload);
    runtime = restored;
  }, 90_000);

  it("stops a pool when its last tenant leaves, and a dedicated tenant's process on unserve", async () => {
    const pool = (await runtime.status(A.tenantId))?.workload as string;
    const poolPid = (await runtime.status(A.tenantId))?.pid as number;
    const dedicatedPid = (await runtime.status(C.tenantId))?.pid as number;
    await runtime.unserve(A.tenantId);
    expect(isAlive(poolPid)).toBe(true);
    await runtime.unserve(B.tenantId);
    expect(isAlive(poolPid)).toBe(false);
    expect(processesUsing(join(workDir, pool))).toEqual([]);
    expect(await canConnect(poolAccess().roleOf(pool), B.databaseName)).toBe(false);
    await runtime.unserve(C.tenantId);
    expect(isAlive(dedicatedPid)).toBe(false);
    expect(processesUsing(workDir)).toEqual([]);
    // Secrets do not outlive the processes that needed them.
    expect(readdirSync(join(workDir, `tenant-${C.tenantName}`)).filter((file) => file.endsWith('.conf'))).toEqual([]);
    await runtime.stop();
  });
});
