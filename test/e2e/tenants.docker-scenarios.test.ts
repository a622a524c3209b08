import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import {
  cgroupLimitsOf,
  execIn,
  findTestDocker,
  readContainerFile,
  removeInstance,
  startContainerReachablePostgres,
  type TestDocker,
} from '../helpers/docker.js';
import { hostRequest, odooLogin, waitFor } from '../helpers/gateway-client.js';
import { registerCustomer } from '../helpers/platform.js';
import { defineTenantScenarios, type ScenarioRuntime, type TenantScenarioContext } from './tenant-scenarios.js';

/**
 * The tenant scenarios (tenant-scenarios.ts: create, login through the gateway, lifecycle,
 * isolation, pools and their cron, logs, CLI, staging copies, soft delete, the secrets scan)
 * with the plans placed on the docker runtime: every tenant of `basic` (a pool) and `standard`
 * (dedicated) runs in real containers of the fake Odoo image on the suite's Docker engine
 * (scripts/lib.sh ensure_docker). Templates are still built by the host's fake odoo-bin.
 *
 * Adapted, not left out:
 * - the secrets scan: the containers' Odoo is no child of the platform, so besides the platform's
 *   own children it reads every container's command, environment, labels, log and the
 *   processes running in it (`docker top`), and takes the secrets to look for from the Odoo
 *   configuration files inside the containers;
 * - the isolation scenario asks the docker runtime for the pool's upstream (a published port).
 * Left on the process runtime:
 * - `premium` (a dedicated PostgreSQL server per tenant): the platform's managed PostgreSQL
 *   servers listen on loopback only, which a container cannot reach (docs/operations/docker.md,
 *   "Database servers"); its scenario runs with a premium tenant served by the process runtime.
 */
const found = await findTestDocker();
const PLANS_ON_DOCKER = ['basic', 'standard'] as const;
const HEALTH_CHECK = 'node -e "fetch(\'http://127.0.0.1:8069/web/health\').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"';
const MIB = 1024 * 1024;

if (!found.ok) {
  const reason = `the tenant scenarios on the docker runtime are skipped: ${found.reason}`;
  console.log(`[skipped] ${reason}`);
  describe.skip(`tenants end to end (docker runtime): ${reason}`, () => {
    it('needs a Docker engine with the fake Odoo image', () => undefined);
  });
} else {
  const testDocker: TestDocker = found.value;
  const { docker } = testDocker;
  const instance = `scn-${randomBytes(4).toString('hex')}`;
  let postgres: Awaited<ReturnType<typeof startContainerReachablePostgres>> | undefined;
  // The host's fake odoo-bin (it builds the templates) runs `node` from PATH: the Node of the tests.
  process.env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

  const runtime: ScenarioRuntime = {
    kind: 'docker',
    plans: PLANS_ON_DOCKER,
    async setUp() {
      postgres = await startContainerReachablePostgres();
      // dockerode reads the engine's address from DOCKER_HOST, as the platform would in production.
      process.env.DOCKER_HOST = `unix://${testDocker.socketPath}`;
      return {
        tenantDatabaseUrl: postgres.connection.url,
        env: {
          DOCKER_RUNTIME: 'true',
          DOCKER_ODOO_IMAGE: `${testDocker.image}-{series}`,
          DOCKER_INSTANCE: instance,
          DOCKER_HEALTH_CHECK: HEALTH_CHECK,
        },
      };
    },
    async tearDown() {
      await removeInstance(docker, instance);
      await postgres?.stop();
    },
    inspectWorkloads: () => inspectContainers(docker, instance),
  };

  defineTenantScenarios('fake Odoo in Docker containers', resolve('test/fixtures/fake-odoo/odoo-bin'), {
    templateTimeoutMs: 120_000,
    runtime,
    more: (context) => defineDockerScenarios(context, docker, instance),
  });
}

/** What every container of the instance shows, and the secrets in their Odoo configurations. */
async function inspectContainers(docker: Docker, instance: string): ReturnType<ScenarioRuntime['inspectWorkloads']> {
  const exposed: Array<{ where: string; text: string }> = [];
  const configSecrets: Array<{ kind: string; value: string }> = [];
  const containers = await docker.listContainers({ all: true, filters: { label: [`io.odoo-saas.instance=${instance}`] } });
  for (const { Id, Names } of containers) {
    const name = (Names[0] ?? Id).replace(/^\//, '');
    const info = await docker.getContainer(Id).inspect();
    exposed.push(
      { where: `${name} command`, text: JSON.stringify([info.Path, info.Args, info.Config.Entrypoint, info.Config.Cmd]) },
      { where: `${name} environment`, text: JSON.stringify(info.Config.Env) },
      { where: `${name} labels`, text: JSON.stringify(info.Config.Labels) },
    );
    const log = await docker.getContainer(Id).logs({ stdout: true, stderr: true, tail: 5000, follow: false });
    exposed.push({ where: `${name} log`, text: log.toString('utf8') });
    if (info.State.Running) {
      const top = await docker.getContainer(Id).top({ ps_args: 'axo pid,args' });
      for (const row of top.Processes ?? []) exposed.push({ where: `${name} process ${row[0]}`, text: row.slice(1).join(' ') });
    }
    const config = await readContainerFile(docker, Id, '/etc/odoo/saas.conf');
    for (const match of (config ?? '').matchAll(/^(db_password|admin_passwd)\s*=\s*(.+)$/gm)) {
      configSecrets.push({ kind: `Odoo config ${match[1]}`, value: (match[2] ?? '').trim() });
    }
  }
  return { exposed, configSecrets };
}

/** What only the docker runtime has: containers, networks, cgroup limits that follow plan changes live. */
function defineDockerScenarios(context: TenantScenarioContext, docker: Docker, instance: string): void {
  const container = (name: string) => docker.getContainer(name);
  const dedicated = (tenant: string) => `saas-${instance}-t-${tenant}`;
  const operator = () => context.operatorToken();
  const hostCpus = async () => (await docker.info()).NCPU as number;

  async function createPlan(code: string, cpu: number, memoryMiB: number, processStrategy: 'pool' | 'dedicated') {
    const created = await context.test().http.post(
      '/api/v1/plans',
      {
        code,
        name: code,
        description: `${processStrategy} Odoo on Docker`,
        limits: { cpu, memoryMiB, storageGiB: 5, odooUsers: 10, maxTenantsPerAccount: null },
        placement: { databaseStrategy: 'shared', processStrategy, replicas: 1, limitPolicy: 'block', runtime: 'docker' },
        prices: [],
        trialDays: 0,
        sortOrder: 90,
      },
      { token: operator() },
    );
    expect(created.status, created.text).toBe(201);
  }

  async function changePlan(name: string, plan: string) {
    const changed = await context.test().http.post(`/api/v1/tenants/${name}/change-plan`, { plan }, { token: operator() });
    expect(changed.status, changed.text).toBeLessThan(300);
    // Same placement: no migration, the limits change in place.
    expect(changed.body.migration, changed.text).toBeNull();
  }

  async function dockerPool() {
    const pools = await context.test().http.get('/api/v1/pools', { token: operator() });
    const pool = pools.body.find((p: { runtime: string; tenants: number }) => p.runtime === 'docker' && p.tenants > 0);
    expect(pool, JSON.stringify(pools.body)).toBeDefined();
    return pool as { name: string; tenants: number };
  }

  async function reachableFrom(from: string, address: string): Promise<boolean> {
    const output = await execIn(docker, from, [
      'node',
      '-e',
      `fetch('http://${address}:8069/web/health', { signal: AbortSignal.timeout(3000) }).then(() => console.log('REACHED'), () => console.log('BLOCKED'))`,
    ]);
    if (!/REACHED|BLOCKED/.test(output)) throw new Error(`no answer from the probe in ${from}: ${output}`);
    return output.includes('REACHED');
  }

  describe('docker runtime only', () => {
    let standard: string;

    it("runs a dedicated tenant in a container of its own: labels, the plan's limits in its cgroup, a network nothing else reaches", async () => {
      const customer = await registerCustomer(context.test().http, 'dockded');
      standard = `dded${Date.now().toString(36)}`;
      await context.createTenant(customer.accessToken, standard, 'standard');
      await context.untilState(standard, customer.accessToken, 'running', 120_000);
      const view = (await context.test().http.get(`/api/v1/tenants/${standard}`, { token: operator() })).body;
      const info = await container(dedicated(standard)).inspect();
      expect(info.State.Running).toBe(true);
      expect(info.Config.Labels['io.odoo-saas.tenant']).toBe(view.id);
      expect(info.HostConfig.Init).toBe(true);
      // The standard plan: 2 CPUs (capped at the host's), 2 GiB.
      const limits = await cgroupLimitsOf(info.State.Pid);
      expect(limits.memoryBytes).toBe(2048 * MIB);
      expect(limits.cpuQuotaUs / limits.cpuPeriodUs).toBeCloseTo(Math.min(2, await hostCpus()), 3);
      expect(Object.keys(info.NetworkSettings.Networks)).toEqual([dedicated(standard)]);
      // Its filestore lives on the host (the platform's backups read it there).
      expect(existsSync(join(context.test().config.dataDir, 'odoo', 'filestore', `t_${standard}`))).toBe(true);
      // Neither way between the pool and the dedicated container.
      const pool = await dockerPool();
      const web = `saas-${instance}-${pool.name}-web`;
      const poolAddress = Object.values((await container(web).inspect()).NetworkSettings.Networks)[0]?.IPAddress as string;
      const ownAddress = Object.values(info.NetworkSettings.Networks)[0]?.IPAddress as string;
      expect(await reachableFrom(dedicated(standard), poolAddress)).toBe(false);
      expect(await reachableFrom(web, ownAddress)).toBe(false);
    }, 200_000);

    it("runs pool tenants in one pool's web and cron containers, sized by the sum of their plans", async () => {
      const pool = await dockerPool();
      const web = await container(`saas-${instance}-${pool.name}-web`).inspect();
      const cron = await container(`saas-${instance}-${pool.name}-cron`).inspect();
      expect([web.State.Running, cron.State.Running]).toEqual([true, true]);
      expect(web.Config.Labels).toMatchObject({ 'io.odoo-saas.kind': 'pool', 'io.odoo-saas.pool': pool.name, 'io.odoo-saas.unit': 'web' });
      // Only the web container is published; the cron one has no HTTP.
      expect(Object.keys(web.HostConfig.PortBindings ?? {})).toEqual(expect.arrayContaining(['8069/tcp']));
      expect(cron.HostConfig.PortBindings ?? {}).toEqual({});
      // basic: 1 CPU, 1 GiB per tenant.
      expect(web.HostConfig.Memory).toBe(pool.tenants * 1024 * MIB);
      expect(web.HostConfig.NanoCpus).toBe(Math.min(pool.tenants, await hostCpus()) * 1e9);
      expect(cron.HostConfig.Memory).toBe(1024 * MIB);
      // The pool's master password and database password are in its config file, readable by Odoo's user only.
      expect(await execIn(docker, web.Id, ['stat', '-c', '%a %u', '/etc/odoo/saas.conf'])).toBe('600 101');
    }, 60_000);

    it("changes plans live: a dedicated container's cgroup and a pool's follow the new plan without a restart", async () => {
      await createPlan('docker-large', 1.5, 3072, 'dedicated');
      await createPlan('basic-plus', 1, 1536, 'pool');
      const before = await container(dedicated(standard)).inspect();
      await changePlan(standard, 'docker-large');
      const after = await waitFor('the new limits', async () => {
        const info = await container(dedicated(standard)).inspect();
        return info.HostConfig.Memory === 3072 * MIB ? info : undefined;
      });
      expect(after.Id).toBe(before.Id);
      expect(after.State.StartedAt).toBe(before.State.StartedAt);
      const limits = await cgroupLimitsOf(after.State.Pid);
      expect(limits.memoryBytes).toBe(3072 * MIB);
      expect(limits.cpuQuotaUs / limits.cpuPeriodUs).toBeCloseTo(1.5, 3);

      // A pool tenant's upgrade grows its pool by the difference, live.
      const customer = await registerCustomer(context.test().http, 'dockpool');
      const member = `dpl${Date.now().toString(36)}`;
      await context.createTenant(customer.accessToken, member);
      await context.untilState(member, customer.accessToken, 'running', 120_000);
      const pool = await dockerPool();
      const web = `saas-${instance}-${pool.name}-web`;
      const webBefore = await container(web).inspect();
      expect(webBefore.HostConfig.Memory).toBe(pool.tenants * 1024 * MIB);
      await changePlan(member, 'basic-plus');
      const webAfter = await waitFor('the pool to grow', async () => {
        const info = await container(web).inspect();
        return info.HostConfig.Memory === (pool.tenants * 1024 + 512) * MIB ? info : undefined;
      });
      expect(webAfter.State.StartedAt).toBe(webBefore.State.StartedAt);
      expect((await cgroupLimitsOf(webAfter.State.Pid)).memoryBytes).toBe((pool.tenants * 1024 + 512) * MIB);
      expect((await container(`saas-${instance}-${pool.name}-cron`).inspect()).HostConfig.Memory).toBe(1536 * MIB);
      const login = await odooLogin(
        context.port(),
        context.tenantHost(member),
        `t_${member}`,
        `admin@${member}.example.com`,
        context.adminPassword,
      );
      expect(login.body.result?.uid).toBe(2);
    }, 240_000);

    it('deletes a dedicated tenant: its container, network and volume are removed, the gateway forgets it', async () => {
      const deleted = await context.test().http.post(`/api/v1/tenants/${standard}/force-delete`, undefined, { token: operator() });
      expect(deleted.status, deleted.text).toBe(202);
      await context.untilState(standard, operator(), 'deleted', 120_000);
      // Removed in that order by the deprovision job, after the tenant shows `deleted`.
      const left = async () => ({
        containers: await docker.listContainers({ all: true, filters: { name: [dedicated(standard)] } }),
        networks: await docker.listNetworks({ filters: { name: [dedicated(standard)] } }),
        volumes: (await docker.listVolumes({ filters: { name: [`${dedicated(standard)}-filestore`] } })).Volumes ?? [],
      });
      await waitFor('the container, network and volume to be removed', async () => {
        const now = await left();
        return now.volumes.length === 0 ? now : undefined;
      });
      expect(await left()).toEqual({ containers: [], networks: [], volumes: [] });
      expect((await hostRequest(context.port(), context.tenantHost(standard), 'GET', '/web/login')).status).toBe(404);
    }, 200_000);
  });
}
