import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/index.js';
import { renderOdooConfig } from '../../src/odoo/index.js';
import { quoteIdentifier, quoteLiteral, withConnection } from '../../src/postgres/index.js';
import { createProcessRuntime, type ProcessRuntime, type TenantServeSpec } from '../../src/runtimes/index.js';
import { POOL_DBFILTER } from '../../src/tenants/index.js';
import { sqlPoolAccess } from '../helpers/pool-access.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

/**
 * Scheduled actions of pool tenants run (issue 16, item 1). The fake Odoo runs crons as Odoo
 * does in each mode (test/integration/fake-odoo-series.test.ts): the old pool cron process
 * (threaded, no HTTP, no db_name) ran none, because it never loads a tenant's registry. The
 * pool's cron process now runs prefork cron workers over the databases its role owns: every
 * tenant it serves, and none it stopped serving (stopped, suspended).
 */

const ODOO_BIN = resolve(import.meta.dirname, '../fixtures/fake-odoo/odoo-bin');
const suffix = randomBytes(3).toString('hex');
const SERVER_ID = `crn${suffix}-0000-4000-8000-000000000000`;
const PASSWORD = `pw-${suffix}`;
// Odoo wakes its cron workers every 60 s (or on NOTIFY cron_trigger): the fake every 300 ms here.
const ENV = { NODE: process.execPath, FAKE_ODOO_CRON_INTERVAL_MS: '300' };

let adminUrl: string;
let workDir: string;
let runtime: ProcessRuntime | undefined;

function tenantSpec(label: string): TenantServeSpec {
  const name = `cr${suffix}${label}`;
  const parsed = new URL(postgresAdminUrl());
  return {
    tenantId: `tenant-${label}-${suffix}`,
    tenantName: name,
    hostName: `${name}.example.test`,
    databaseName: `t_${name}`,
    processStrategy: 'pool',
    databaseServerId: SERVER_ID,
    tenantRole: { host: parsed.hostname, port: Number(parsed.port || 5432), user: `r_${name}`, password: PASSWORD },
    limits: { cpu: 0.5, memoryMiB: 512 },
    replicas: 1,
  };
}

const TENANTS = ['a', 'b', 'c'].map(tenantSpec);
const [A, B, C] = TENANTS as [TenantServeSpec, TenantServeSpec, TenantServeSpec];

function admin<T>(sql: string, database?: string): Promise<T[]> {
  const url = new URL(adminUrl);
  if (database) url.pathname = `/${database}`;
  return withConnection(url.toString(), async (client) => (await client.query(sql)).rows as T[]);
}

async function createTenantDatabase(spec: TenantServeSpec): Promise<void> {
  const role = quoteIdentifier(spec.tenantRole.user);
  const database = quoteIdentifier(spec.databaseName);
  await admin(`CREATE ROLE ${role} WITH LOGIN PASSWORD ${quoteLiteral(PASSWORD)}`);
  await admin(`CREATE DATABASE ${database} OWNER ${role}`);
  await admin(`REVOKE CONNECT, TEMPORARY ON DATABASE ${database} FROM PUBLIC`);
  const config = join(workDir, `init-${spec.tenantName}.conf`);
  writeFileSync(
    config,
    renderOdooConfig({
      db_host: spec.tenantRole.host,
      db_port: spec.tenantRole.port,
      db_user: spec.tenantRole.user,
      db_password: PASSWORD,
    }),
    { mode: 0o600 },
  );
  await promisify(execFile)(ODOO_BIN, ['-c', config, '-d', spec.databaseName, '-i', 'base', '--without-demo=all', '--stop-after-init'], {
    env: { ...process.env, ...ENV, HOME: workDir },
  });
}

/** "Base: Auto-vacuum internal data" made due now, as in the databases found never run. */
async function makeDue(spec: TenantServeSpec): Promise<void> {
  await admin(
    "UPDATE ir_cron SET nextcall = (now() AT TIME ZONE 'UTC') - interval '1 hour', lastcall = NULL WHERE id = 1",
    spec.databaseName,
  );
}

async function lastcall(spec: TenantServeSpec): Promise<string | null> {
  const [row] = await admin<{ lastcall: string | null }>('SELECT lastcall::text FROM ir_cron WHERE id = 1', spec.databaseName);
  return row?.lastcall ?? null;
}

async function untilRun(specs: TenantServeSpec[], timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const calls = await Promise.all(specs.map(lastcall));
    if (calls.every((call) => call !== null)) return;
    if (Date.now() > deadline) {
      const missing = specs.filter((_, index) => calls[index] === null).map((spec) => spec.databaseName);
      throw new Error(`due scheduled actions never ran in ${missing.join(', ')} within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  adminUrl = postgresAdminUrl();
  workDir = mkdtempSync(join(tmpdir(), 'pool-cron-'));
  await Promise.all(TENANTS.map(createTenantDatabase));
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
  for (const spec of TENANTS) await admin(`DROP DATABASE IF EXISTS ${quoteIdentifier(spec.databaseName)} WITH (FORCE)`);
  const roles = await admin<{ rolname: string }>(
    `SELECT rolname FROM pg_roles WHERE rolname LIKE 'p\\_pool\\_crn${suffix}%' OR rolname LIKE 'r\\_cr${suffix}%'`,
  );
  for (const { rolname } of roles) await admin(`DROP ROLE IF EXISTS ${quoteIdentifier(rolname)}`);
  rmSync(workDir, { recursive: true, force: true });
}, 60_000);

describe("a pool's scheduled actions", () => {
  it('run in every database the pool serves', async () => {
    runtime = createProcessRuntime({
      odooBin: ODOO_BIN,
      workDir,
      odooDataDir: join(workDir, 'odoo-data'),
      env: ENV,
      logger: createLogger('warn'),
      poolAccess: sqlPoolAccess(adminUrl, PASSWORD),
      poolDbfilter: POOL_DBFILTER,
      desiredTenants: async () => [],
      poolWorkers: 1,
      poolCronWorkers: 2,
      healthTimeoutMs: 20_000,
      stopGraceMs: 3_000,
    });
    await runtime.start();
    await Promise.all(TENANTS.map(makeDue));
    for (const spec of TENANTS) await runtime.serve(spec);
    await untilRun(TENANTS);
  });

  it("stop running in a database the pool no longer serves (stopped, suspended), and go on in the others'", async () => {
    await runtime?.unserve(C.tenantId);
    // What Odoo's cron workers walk (list_dbs): the databases the pool's role owns.
    const pool = (await runtime?.status(A.tenantId))?.workload as string;
    const owned = await admin<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datdba = (SELECT oid FROM pg_roles WHERE rolname = ${quoteLiteral(sqlPoolAccess(adminUrl, PASSWORD).roleOf(pool))}) ORDER BY datname`,
    );
    expect(owned.map((row) => row.datname)).toEqual([A.databaseName, B.databaseName]);
    await Promise.all(TENANTS.map(makeDue));
    // Two complete rounds over A and B (each due again once run) after C left.
    await untilRun([A, B]);
    await Promise.all([A, B].map(makeDue));
    await untilRun([A, B]);
    expect(await lastcall(C)).toBeNull();
  });
});
