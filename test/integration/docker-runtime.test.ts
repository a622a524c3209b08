import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/index.js';
import { quoteIdentifier, withConnection } from '../../src/postgres/index.js';
import { createDockerRuntime, type DockerRuntime } from '../../src/runtimes/docker/index.js';
import type { TenantServeSpec } from '../../src/runtimes/index.js';
import {
  cgroupLimitsOf,
  fakeImageRuntimeSettings,
  findTestDocker,
  hasImage,
  removeInstance,
  startContainerReachablePostgres,
  type TestDocker,
} from '../helpers/docker.js';
import { waitFor } from '../helpers/gateway-client.js';

/**
 * The Docker runtime against a real engine (the suite's dockerd, see scripts/lib.sh
 * ensure_docker) running the fake Odoo image: real containers, cgroup limits, networks and
 * published ports.
 */
const found = await findTestDocker();
if (!found.ok) console.warn(`SKIPPED docker runtime tests: ${found.reason}`);

describe.skipIf(!found.ok)('docker runtime (real engine, fake Odoo image)', () => {
  const testDocker = (found.ok ? found.value : undefined) as TestDocker;
  const instance = `test-${randomBytes(4).toString('hex')}`;
  const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
  let postgres: Awaited<ReturnType<typeof startContainerReachablePostgres>>;
  let dataDir: string;
  let spec: TenantServeSpec;
  let runtime: DockerRuntime;
  let desired: TenantServeSpec[] = [];

  function makeRuntime(): DockerRuntime {
    return createDockerRuntime({
      ...fakeImageRuntimeSettings(testDocker, dataDir),
      instance,
      logger,
      desiredTenants: async () => desired,
      healthTimeoutMs: 60_000,
    });
  }

  async function inspect() {
    return testDocker.docker.getContainer(`saas-${instance}-t-acme`).inspect();
  }

  async function health(port: number): Promise<number> {
    const response = await fetch(`http://127.0.0.1:${port}/web/health`);
    await response.body?.cancel();
    return response.status;
  }

  beforeAll(async () => {
    postgres = await startContainerReachablePostgres();
    dataDir = mkdtempSync(join(tmpdir(), 'saas-test-docker-'));
    const role = `t_acme_${randomBytes(3).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    await withConnection(postgres.connection.url, async (client) => {
      await client.query(`CREATE ROLE ${quoteIdentifier(role)} LOGIN PASSWORD '${password}'`);
      await client.query(`CREATE DATABASE ${quoteIdentifier(`tenant_${role}`)} OWNER ${quoteIdentifier(role)}`);
    });
    spec = {
      tenantId: `tenant-${randomBytes(4).toString('hex')}`,
      tenantName: 'acme',
      hostName: 'acme.lvh.me',
      databaseName: `tenant_${role}`,
      processStrategy: 'dedicated',
      databaseServerId: 'server-1',
      tenantRole: { host: '127.0.0.1', port: postgres.connection.port, user: role, password },
      limits: { cpu: 0.5, memoryMiB: 300 },
      replicas: 1,
    };
    runtime = makeRuntime();
    await runtime.start();
  }, 120_000);

  afterAll(async () => {
    if (!testDocker) return;
    await removeInstance(testDocker.docker, instance);
    await postgres?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves a dedicated tenant in a container that answers /web/health on a published loopback port', async () => {
    const upstream = await runtime.serve(spec);
    expect(upstream.host).toBe('127.0.0.1');
    expect(await health(upstream.port)).toBe(200);
    expect(runtime.upstream(spec.tenantId)).toEqual(upstream);
    const info = await inspect();
    expect(info.HostConfig.Init).toBe(true);
    expect(info.HostConfig.RestartPolicy?.Name).toBe('unless-stopped');
    expect(info.Config.Labels['io.odoo-saas.tenant']).toBe(spec.tenantId);
    expect(info.Config.Healthcheck?.Test?.[0]).toBe('CMD');
    // Its own network, with nothing else on it.
    const network = await testDocker.docker.getNetwork(`saas-${instance}-t-acme`).inspect();
    expect(Object.keys(network.Containers ?? {})).toEqual([info.Id]);
    // The database password is in no command line and no environment variable.
    expect(JSON.stringify([info.Path, info.Args, info.Config.Env, info.Config.Cmd])).not.toContain(spec.tenantRole.password);
    const status = await runtime.status(spec.tenantId);
    expect(status?.workload).toBe(`saas-${instance}-t-acme`);
    expect(['running', 'starting']).toContain(status?.state);
    // Odoo reached the tenant's database through the network's gateway (it checks db_name at start).
    const logs = await runtime.logs(spec.tenantId, { lines: 50 });
    expect(logs.join('\n')).toContain('Odoo version 17.0');
    // The platform's saas_rpc_guard, mounted read-only, loads server-wide.
    expect(logs.join('\n')).not.toContain('Failed to load server-wide module');
    expect(logs.join('\n')).not.toContain(spec.tenantRole.password);
    // The filestore volume is the host's filestore/<database> directory.
    expect(existsSync(join(dataDir, 'odoo', 'filestore', spec.databaseName))).toBe(true);
  });

  it('applies the plan limits in the container cgroup, and changes them live', async () => {
    const before = await inspect();
    const limits = await cgroupLimitsOf(before.State.Pid);
    expect(limits.memoryBytes).toBe(300 * 1024 * 1024);
    expect(limits.cpuQuotaUs / limits.cpuPeriodUs).toBeCloseTo(0.5, 3);
    await runtime.updateLimits?.(spec.tenantId, { cpu: 1.5, memoryMiB: 512 });
    const after = await inspect();
    const changed = await cgroupLimitsOf(after.State.Pid);
    expect(changed.memoryBytes).toBe(512 * 1024 * 1024);
    expect(changed.cpuQuotaUs / changed.cpuPeriodUs).toBeCloseTo(1.5, 3);
    // Live: the same process, not a restart.
    expect(after.State.StartedAt).toBe(before.State.StartedAt);
    expect(after.State.Pid).toBe(before.State.Pid);
    spec = { ...spec, limits: { cpu: 1.5, memoryMiB: 512 } };
  });

  it('is restarted by Docker on the same port when its processes die', async () => {
    const before = await inspect();
    const port = runtime.upstream(spec.tenantId)?.port as number;
    process.kill(before.State.Pid, 'SIGKILL');
    const after = await waitFor(
      'Docker to restart the container',
      async () => {
        const info = await inspect();
        return info.RestartCount > before.RestartCount && info.State.Running ? info : undefined;
      },
      60_000,
    );
    expect(after.Id).toBe(before.Id);
    await waitFor('Odoo to answer again on the same port', async () => ((await health(port)) === 200 ? true : undefined), 60_000);
    expect((await runtime.status(spec.tenantId))?.restarts).toBeGreaterThan(0);
  });

  it('adopts the running container after a platform restart, without restarting it', async () => {
    const before = await inspect();
    const upstream = runtime.upstream(spec.tenantId);
    await runtime.stop();
    expect((await inspect()).State.Running).toBe(true);
    desired = [spec];
    runtime = makeRuntime();
    const restored = await runtime.start();
    expect(restored).toEqual([{ tenantId: spec.tenantId, upstream }]);
    const after = await inspect();
    expect(after.Id).toBe(before.Id);
    expect(after.State.StartedAt).toBe(before.State.StartedAt);
  });

  it('removes the container, its network and volume on unserve, keeping the files', async () => {
    const filestore = join(dataDir, 'odoo', 'filestore', spec.databaseName);
    await runtime.unserve(spec.tenantId);
    expect(runtime.upstream(spec.tenantId)).toBeUndefined();
    const left = await testDocker.docker.listContainers({ all: true, filters: { label: [`io.odoo-saas.instance=${instance}`] } });
    expect(left).toEqual([]);
    const networks = await testDocker.docker.listNetworks({ filters: { label: [`io.odoo-saas.instance=${instance}`] } });
    expect(networks).toEqual([]);
    const { Volumes } = await testDocker.docker.listVolumes({ filters: { label: [`io.odoo-saas.instance=${instance}`] } });
    expect(Volumes ?? []).toEqual([]);
    expect(existsSync(filestore)).toBe(true);
    await runtime.unserve(spec.tenantId);
  });

  it('removes at start the containers of tenants no longer meant to run', async () => {
    desired = [];
    await runtime.serve(spec);
    runtime = makeRuntime();
    expect(await runtime.start()).toEqual([]);
    const left = await testDocker.docker.listContainers({ all: true, filters: { label: [`io.odoo-saas.instance=${instance}`] } });
    expect(left).toEqual([]);
  });
});

/**
 * The same runtime with the official image, when the engine has it (this machine has no registry
 * to pull it from: `docker pull odoo:17` on a machine with one, or `docker load` an archive).
 */
const OFFICIAL_IMAGE = 'odoo:17';
const official = found.ok && (await hasImage(found.value.docker, OFFICIAL_IMAGE));
if (found.ok && !official)
  console.warn(
    `SKIPPED docker runtime with the official image: ${OFFICIAL_IMAGE} is not on the engine (docker image inspect ${OFFICIAL_IMAGE} fails)`,
  );

describe.skipIf(!official)(`docker runtime with the official ${OFFICIAL_IMAGE} image`, () => {
  it('serves a dedicated tenant whose Odoo answers /web/health', async () => {
    const testDocker = (found.ok ? found.value : undefined) as TestDocker;
    const instance = `official-${randomBytes(4).toString('hex')}`;
    const postgres = await startContainerReachablePostgres();
    const dataDir = mkdtempSync(join(tmpdir(), 'saas-test-docker-official-'));
    try {
      const role = `t_off_${randomBytes(3).toString('hex')}`;
      const password = randomBytes(12).toString('hex');
      await withConnection(postgres.connection.url, async (client) => {
        await client.query(`CREATE ROLE ${quoteIdentifier(role)} LOGIN CREATEDB PASSWORD '${password}'`);
      });
      const runtime = createDockerRuntime({
        docker: testDocker.docker,
        instance,
        imageFor: () => OFFICIAL_IMAGE,
        defaultSeries: '17.0',
        healthCheck: ['CMD-SHELL', 'curl -fsS -o /dev/null http://127.0.0.1:8069/web/health'],
        odooDataDir: join(dataDir, 'odoo'),
        platformAddonsDir: resolve('odoo-addons'),
        logger: createLogger('silent'),
        desiredTenants: async () => [],
        healthTimeoutMs: 180_000,
      });
      const upstream = await runtime.serve({
        tenantId: `tenant-${instance}`,
        tenantName: 'official',
        hostName: 'official.lvh.me',
        databaseName: `tenant_${role}`,
        processStrategy: 'dedicated',
        databaseServerId: 'server-1',
        tenantRole: { host: '127.0.0.1', port: postgres.connection.port, user: role, password },
        limits: { cpu: 1, memoryMiB: 1024 },
        replicas: 1,
      });
      const response = await fetch(`http://127.0.0.1:${upstream.port}/web/health`);
      expect(response.status).toBe(200);
      await runtime.unserve(`tenant-${instance}`);
    } finally {
      await removeInstance(testDocker.docker, instance);
      await postgres.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 300_000);
});
