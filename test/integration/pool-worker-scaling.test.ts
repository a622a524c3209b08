import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/gateway/index.js';
import { createLogger } from '../../src/logging/index.js';
import { renderOdooConfig } from '../../src/odoo/index.js';
import { quoteIdentifier, quoteLiteral, withConnection } from '../../src/postgres/index.js';
import {
  createProcessRuntime,
  type ProcessRuntime,
  type SharedWorkloadView,
  type TenantServeSpec,
  type Upstream,
  UpstreamLoad,
} from '../../src/runtimes/index.js';
import { preforkProcesses } from '../../src/runtimes/process/index.js';
import { POOL_DBFILTER } from '../../src/tenants/index.js';
import { sqlPoolAccess } from '../helpers/pool-access.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

/**
 * A pool's web workers sized by load, end to end: the fake Odoo's prefork master (SIGTTIN /
 * SIGTTOU, test/fixtures/fake-odoo/lib/prefork.mjs) under the process runtime, requests through
 * the real gateway counting them. A burst grows the pool from its minimum to its maximum, idle
 * brings it back, and a killed master gets its workers again while the load lasts.
 */

const ODOO_BIN = resolve(import.meta.dirname, '../fixtures/fake-odoo/odoo-bin');
const suffix = randomBytes(3).toString('hex');
const SERVER_ID = `srv${suffix}-0000-4000-8000-000000000000`;
const PASSWORD = `pw-${suffix}`;
const BASE = 'scale.test';
// Each request holds a worker this long: a burst of 8 queues behind 1 worker.
const ENV = { NODE: process.execPath, FAKE_ODOO_REQUEST_MS: '150' };

let adminUrl: string;
let workDir: string;
let runtime: ProcessRuntime;
let gateway: Gateway;
let server: Server;
let gatewayPort: number;
let upstream: Upstream;

const name = `ws${suffix}`;
const spec: TenantServeSpec = {
  tenantId: `tenant-ws-${suffix}`,
  tenantName: name,
  hostName: `${name}.${BASE}`,
  databaseName: `t_${name}`,
  processStrategy: 'pool',
  databaseServerId: SERVER_ID,
  tenantRole: { host: '', port: 0, user: `r_${name}`, password: PASSWORD },
  limits: { cpu: 1, memoryMiB: 512 },
  replicas: 1,
};

function admin(sql: string, values: unknown[] = []) {
  return withConnection(adminUrl, (client) => client.query(sql, values));
}

function get(path: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port: gatewayPort, path, headers: { Host: spec.hostName } }, (response) => {
      response.resume();
      response.on('end', () => resolvePromise(response.statusCode ?? 0));
    });
    request.on('error', reject);
    request.end();
  });
}

function poolView(): SharedWorkloadView {
  const views = runtime.sharedWorkloads?.();
  // The process runtime answers at once (the interface allows a promise for other runtimes).
  if (!Array.isArray(views)) throw new Error('expected the pools at once');
  const view = views.find((pool) => pool.tenants.some((tenant) => tenant.tenantId === spec.tenantId));
  if (!view) throw new Error('the tenant has no pool');
  return view;
}

function webPid(): number | undefined {
  return poolView().processes.find((process) => process.unit === 'web')?.pid;
}

/** HTTP worker processes of the pool's Odoo, read from /proc (not from the runtime's own count). */
function httpWorkers(): number {
  const pid = webPid();
  return pid === undefined ? 0 : (preforkProcesses(pid)?.httpWorkers.length ?? 0);
}

async function waitFor(what: string, probe: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (pool: ${JSON.stringify(poolView().webWorkers)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Bursts of `concurrency` requests until stopped; every answer must be a 200. */
function keepBusy(concurrency: number): { stop(): Promise<number[]> } {
  let running = true;
  const statuses: number[] = [];
  const loops = Array.from({ length: concurrency }, async () => {
    // A killed Odoo drops the requests it held (0 here); the load goes on.
    while (running) statuses.push(await get('/web/health').catch(() => 0));
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return statuses;
    },
  };
}

beforeAll(async () => {
  adminUrl = postgresAdminUrl();
  workDir = mkdtempSync(join(tmpdir(), 'pool-scaling-'));
  const parsed = new URL(adminUrl);
  spec.tenantRole.host = parsed.hostname;
  spec.tenantRole.port = Number(parsed.port || 5432);
  const role = quoteIdentifier(spec.tenantRole.user);
  await admin(`CREATE ROLE ${role} WITH LOGIN PASSWORD ${quoteLiteral(PASSWORD)}`);
  await admin(`CREATE DATABASE ${quoteIdentifier(spec.databaseName)} OWNER ${role}`);
  const config = join(workDir, 'init.conf');
  writeFileSync(
    config,
    renderOdooConfig({ db_host: parsed.hostname, db_port: spec.tenantRole.port, db_user: spec.tenantRole.user, db_password: PASSWORD }),
    { mode: 0o600 },
  );
  await promisify(execFile)(ODOO_BIN, ['-c', config, '-d', spec.databaseName, '-i', 'base', '--without-demo=all', '--stop-after-init'], {
    env: { ...process.env, ...ENV },
  });

  const load = new UpstreamLoad();
  runtime = createProcessRuntime({
    odooBin: ODOO_BIN,
    workDir,
    odooDataDir: join(workDir, 'odoo-data'),
    env: ENV,
    logger: createLogger('warn'),
    poolAccess: sqlPoolAccess(adminUrl, PASSWORD),
    poolDbfilter: POOL_DBFILTER,
    desiredTenants: async () => [spec],
    poolWorkers: 3,
    poolWorkersMin: 1,
    poolLoad: (target) => load.take(target),
    poolScalingTickMs: 100,
    poolScaleDownAfterMs: 1_000,
    healthTimeoutMs: 20_000,
    healthCheck: { intervalMs: 500, failureThreshold: 3, requestTimeoutMs: 2_000, startPollMs: 50 },
    backoff: { initialMs: 100, maxMs: 1_000, resetAfterMs: 60_000 },
    stopGraceMs: 3_000,
  });
  await runtime.start();
  upstream = await runtime.serve(spec);
  gateway = createGateway({
    baseDomain: BASE,
    resolveRoute: (label) =>
      label === name
        ? { tenantId: spec.tenantId, tenantName: name, databaseName: spec.databaseName, state: 'running', upstream }
        : undefined,
    logger: createLogger('silent'),
    upstreamLoad: load,
  });
  server = createServer((req, res) => gateway.handleRequest(req, res));
  await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise));
  gatewayPort = (server.address() as AddressInfo).port;
}, 60_000);

afterAll(async () => {
  gateway?.close();
  server?.closeAllConnections();
  await new Promise<void>((resolvePromise) => (server ? server.close(() => resolvePromise()) : resolvePromise()));
  await runtime?.stop();
  // Nothing of the pool may outlive it (the workers are in its process group).
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(workDir)) process.kill(Number(entry), 'SIGKILL');
    } catch {}
  }
  await admin(`DROP DATABASE IF EXISTS ${quoteIdentifier(spec.databaseName)} WITH (FORCE)`);
  const roles = await admin("SELECT rolname FROM pg_roles WHERE rolname LIKE 'p\\_pool\\_srv' || $1 || '%' OR rolname = $2", [
    suffix,
    spec.tenantRole.user,
  ]);
  for (const { rolname } of roles.rows as Array<{ rolname: string }>) await admin(`DROP ROLE IF EXISTS ${quoteIdentifier(rolname)}`);
  rmSync(workDir, { recursive: true, force: true });
}, 60_000);

describe('pool web workers sized by load (fake Odoo prefork)', () => {
  it('starts with the minimum', async () => {
    await waitFor('one HTTP worker', () => httpWorkers() === 1);
    expect(poolView().webWorkers).toMatchObject({ min: 1, max: 3, target: 1, population: 1 });
    expect(upstream.webWorkers).toBe(1);
  });

  it('grows to the maximum under a burst, every request answered', async () => {
    const burst = keepBusy(8);
    await waitFor('three HTTP workers', () => httpWorkers() === 3);
    const statuses = await burst.stop();
    expect(poolView().webWorkers).toMatchObject({ target: 3, population: 3 });
    // The login check warms as many workers as there are now.
    expect(upstream.webWorkers).toBe(3);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
  });

  it('shrinks back to the minimum when idle, stopping the extra workers', async () => {
    await waitFor('one HTTP worker again', () => httpWorkers() === 1 && poolView().webWorkers?.population === 1, 20_000);
    expect(poolView().webWorkers).toMatchObject({ target: 1, population: 1, alive: 1 });
    expect(upstream.webWorkers).toBe(1);
  });

  it("comes back to its count when Odoo's differs from the platform's (a signal not seen)", async () => {
    await waitFor('one HTTP worker', () => httpWorkers() === 1 && poolView().webWorkers?.population === 1, 20_000);
    // Someone else's SIGTTIN: Odoo keeps 2, the platform told it 1.
    const master = webPid() as number;
    process.kill(master, 'SIGTTIN');
    await waitFor('the extra worker', () => httpWorkers() === 2);
    await waitFor('one HTTP worker again', () => httpWorkers() === 1, 20_000);
    // And it stays there: no worker replaced and stopped again and again.
    const worker = preforkProcesses(master)?.httpWorkers[0];
    await new Promise((r) => setTimeout(r, 1_500));
    expect(preforkProcesses(master)?.httpWorkers).toEqual([worker]);
  });

  it('applies the target again to a restarted Odoo', async () => {
    const burst = keepBusy(8);
    await waitFor('three HTTP workers', () => httpWorkers() === 3, 15_000);
    const before = webPid() as number;
    process.kill(before, 'SIGKILL');
    await waitFor(
      'a new web process',
      () => {
        const pid = webPid();
        return pid !== undefined && pid !== before;
      },
      15_000,
    );
    await waitFor('three HTTP workers in the new process', () => httpWorkers() === 3 && webPid() !== before, 20_000);
    await burst.stop();
    expect(poolView().webWorkers).toMatchObject({ population: 3 });
  }, 60_000);
});
