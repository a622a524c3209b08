import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/index.js';
import { poolRoleName, quoteIdentifier, withConnection } from '../../src/postgres/index.js';
import { createDockerRuntime, type DockerRuntime } from '../../src/runtimes/docker/index.js';
import type { PoolAccess, TenantServeSpec } from '../../src/runtimes/index.js';
import {
  cgroupLimitsOf,
  fakeImageRuntimeSettings,
  findTestDocker,
  removeInstance,
  startContainerReachablePostgres,
  type TestDocker,
} from '../helpers/docker.js';

/**
 * Docker pools against a real engine and a real PostgreSQL: several tenants in one pool's web and
 * cron containers, limits from their plans, grants to the pool's role, adoption after a platform
 * restart and the revocation of grants no longer wanted.
 */
const found = await findTestDocker();
if (!found.ok) console.warn(`SKIPPED docker runtime pool tests: ${found.reason}`);

const MIB = 1024 * 1024;

/** The platform's PoolAccess (postgres/pool-access.ts) in plain SQL on one server: role, grant, database ownership. */
function sqlPoolAccess(adminUrl: string, port: number): PoolAccess {
  const passwordOf = (pool: string) => createHash('sha256').update(`pool:${pool}`).digest('hex').slice(0, 24);
  const databaseOf = (tenantRole: string) => `t_${tenantRole.replace(/^r_/, '')}`;
  const sql = (text: string) => withConnection(adminUrl, (client) => client.query(text));
  return {
    roleOf: poolRoleName,
    async poolCredentials(_server, pool) {
      const role = poolRoleName(pool);
      const exists = await withConnection(adminUrl, (client) => client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]));
      if (exists.rowCount === 0) await sql(`CREATE ROLE ${quoteIdentifier(role)} LOGIN PASSWORD '${passwordOf(pool)}'`);
      return { host: '127.0.0.1', port, user: role, password: passwordOf(pool) };
    },
    async grantTenant(_server, pool, tenantRole) {
      await sql(`GRANT ${quoteIdentifier(tenantRole)} TO ${quoteIdentifier(poolRoleName(pool))}`);
      await sql(`ALTER DATABASE ${quoteIdentifier(databaseOf(tenantRole))} OWNER TO ${quoteIdentifier(poolRoleName(pool))}`);
    },
    async revokeTenant(_server, pool, tenantRole) {
      await sql(`ALTER DATABASE ${quoteIdentifier(databaseOf(tenantRole))} OWNER TO ${quoteIdentifier(tenantRole)}`);
      await sql(`REVOKE ${quoteIdentifier(tenantRole)} FROM ${quoteIdentifier(poolRoleName(pool))}`);
    },
  };
}

describe.skipIf(!found.ok)('docker runtime pools (real engine, fake Odoo image)', { timeout: 180_000 }, () => {
  const testDocker = (found.ok ? found.value : undefined) as TestDocker;
  const instance = `pools-${randomBytes(4).toString('hex')}`;
  const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  let postgres: Awaited<ReturnType<typeof startContainerReachablePostgres>>;
  let dataDir: string;
  let runtime: DockerRuntime;
  let desired: TenantServeSpec[] = [];
  const specs: TenantServeSpec[] = [];
  const suffix = randomBytes(3).toString('hex');

  function makeRuntime(): DockerRuntime {
    return createDockerRuntime({
      ...fakeImageRuntimeSettings(testDocker, dataDir),
      instance,
      logger,
      desiredTenants: async () => desired,
      healthTimeoutMs: 90_000,
      pools: {
        poolAccess: sqlPoolAccess(postgres.connection.url, postgres.connection.port),
        dbfilter: '^t_%d$',
        stateFile: join(dataDir, 'runtime', 'docker-pools.json'),
        maxTenants: 3,
      },
    });
  }
  const poolName = 'dpool-server1-1';
  const web = () => testDocker.docker.getContainer(`saas-${instance}-${poolName}-web`).inspect();
  const cron = () => testDocker.docker.getContainer(`saas-${instance}-${poolName}-cron`).inspect();
  const membersOfPoolRole = async () =>
    (
      await withConnection(postgres.connection.url, (client) =>
        client.query<{ role: string }>(
          'SELECT r.rolname AS role FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles p ON p.oid = m.member WHERE p.rolname = $1 ORDER BY 1',
          [poolRoleName(poolName)],
        ),
      )
    ).rows.map((row) => row.role);

  beforeAll(async () => {
    postgres = await startContainerReachablePostgres();
    dataDir = mkdtempSync(join(tmpdir(), 'saas-test-docker-pools-'));
    for (const [index, cpu] of [0.5, 0.25].entries()) {
      const name = `p${index}${suffix}`;
      const role = `r_${name}`;
      const password = randomBytes(12).toString('hex');
      await withConnection(postgres.connection.url, async (client) => {
        await client.query(`CREATE ROLE ${quoteIdentifier(role)} LOGIN PASSWORD '${password}'`);
        await client.query(`CREATE DATABASE ${quoteIdentifier(`t_${name}`)} OWNER ${quoteIdentifier(role)}`);
      });
      specs.push({
        tenantId: `tenant-${name}`,
        tenantName: name,
        hostName: `${name}.lvh.me`,
        databaseName: `t_${name}`,
        processStrategy: 'pool',
        databaseServerId: 'server-1',
        tenantRole: { host: '127.0.0.1', port: postgres.connection.port, user: role, password },
        limits: { cpu, memoryMiB: 256 },
        replicas: 1,
      });
    }
    runtime = makeRuntime();
    await runtime.start();
  }, 120_000);

  afterAll(async () => {
    if (!testDocker) return;
    await removeInstance(testDocker.docker, instance);
    await postgres?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("serves tenants in one pool's web and cron containers, sized by the sum of their plans, reaching only their databases", async () => {
    const [a, b] = specs as [TenantServeSpec, TenantServeSpec];
    const upstreamA = await runtime.serve(a);
    const upstreamB = await runtime.serve(b);
    expect(upstreamB.port).toBe(upstreamA.port);
    expect(upstreamA.websocketPort).toBeGreaterThan(0);
    const health = await fetch(`http://127.0.0.1:${upstreamA.port}/web/health`);
    expect(health.status).toBe(200);
    const [webInfo, cronInfo] = [await web(), await cron()];
    expect([webInfo.State.Running, cronInfo.State.Running]).toEqual([true, true]);
    const webLimits = await cgroupLimitsOf(webInfo.State.Pid);
    expect(webLimits.memoryBytes).toBe(512 * MIB);
    expect(webLimits.cpuQuotaUs / webLimits.cpuPeriodUs).toBeCloseTo(0.75, 3);
    expect(cronInfo.HostConfig.Memory).toBe(256 * MIB);
    expect(cronInfo.HostConfig.NanoCpus).toBe(0.5e9);
    expect(await membersOfPoolRole()).toEqual([a.tenantRole.user, b.tenantRole.user].sort());
    // The pool's role owns its tenants' databases (Odoo lists only those), nothing else.
    const owners = await withConnection(postgres.connection.url, (client) =>
      client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE pg_get_userbyid(datdba) = $1 ORDER BY 1', [
        poolRoleName(poolName),
      ]),
    );
    expect(owners.rows.map((row) => row.datname)).toEqual([a.databaseName, b.databaseName].sort());
    const [view] = (await runtime.sharedWorkloads?.()) ?? [];
    expect(view?.tenants.map((tenant) => tenant.tenantId).sort()).toEqual([a.tenantId, b.tenantId].sort());
    expect(view?.processes.map((process) => [process.unit, process.state])).toEqual([
      ['web', expect.stringMatching(/running|starting/)],
      ['cron', 'running'],
    ]);
    expect((await runtime.status(a.tenantId))?.workload).toBe(poolName);
  });

  it("follows a tenant's plan change live: the pool grows without a restart", async () => {
    const [a] = specs as [TenantServeSpec];
    const before = await web();
    await runtime.updateLimits?.(a.tenantId, { cpu: 1, memoryMiB: 512 });
    const after = await web();
    expect(after.HostConfig.Memory).toBe(768 * MIB);
    expect(after.HostConfig.NanoCpus).toBe(1.25e9);
    expect(after.State.StartedAt).toBe(before.State.StartedAt);
    expect((await cron()).HostConfig.Memory).toBe(512 * MIB);
    specs[0] = { ...a, limits: { cpu: 1, memoryMiB: 512 } };
  });

  it('adopts the pool after a platform restart, and revokes the grant of a tenant no longer meant to be there', async () => {
    const [a, b] = specs as [TenantServeSpec, TenantServeSpec];
    const before = await web();
    await runtime.stop();
    expect((await web()).State.Running).toBe(true);
    desired = [a];
    runtime = makeRuntime();
    const restored = await runtime.start();
    expect(restored.map((entry) => entry.tenantId)).toEqual([a.tenantId]);
    const after = await web();
    expect(after.Id).toBe(before.Id);
    expect(after.State.StartedAt).toBe(before.State.StartedAt);
    expect(await membersOfPoolRole()).toEqual([a.tenantRole.user]);
    // The pool shrank to what its remaining tenant's plan allows.
    expect(after.HostConfig.Memory).toBe(512 * MIB);
    expect(runtime.upstream(b.tenantId)).toBeUndefined();
  });

  it('removes the pool with its last tenant', async () => {
    const [a] = specs as [TenantServeSpec];
    await runtime.unserve(a.tenantId);
    expect(await membersOfPoolRole()).toEqual([]);
    const left = await testDocker.docker.listContainers({ all: true, filters: { label: [`io.odoo-saas.instance=${instance}`] } });
    expect(left).toEqual([]);
    const networks = await testDocker.docker.listNetworks({ filters: { label: [`io.odoo-saas.instance=${instance}`] } });
    expect(networks).toEqual([]);
  });
});
