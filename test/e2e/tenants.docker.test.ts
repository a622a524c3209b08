import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cgroupLimitsOf, findTestDocker, removeInstance, startContainerReachablePostgres, type TestDocker } from '../helpers/docker.js';
import { hostRequest, odooLogin, waitFor } from '../helpers/gateway-client.js';
import {
  createOperator,
  GOOD_PASSWORD,
  registerCustomer,
  runningTenant,
  startTestPlatform,
  type TestPlatform,
  templateBuilt,
} from '../helpers/platform.js';

/**
 * Tenants on a `runtime: docker` plan, end to end: the platform (API, jobs, gateway) runs them in
 * real containers of the fake Odoo image on the suite's Docker engine (scripts/lib.sh
 * ensure_docker); templates are still built by the host's (fake) odoo-bin.
 */
const found = await findTestDocker();
if (!found.ok) console.warn(`SKIPPED docker tenant tests: ${found.reason}`);

const HEALTH_CHECK = 'node -e "fetch(\'http://127.0.0.1:8069/web/health\').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"';

// Tenants are created and started while the rest of the suite loads the machine: generous time per test.
describe.skipIf(!found.ok)('tenants on the docker runtime (real engine, fake Odoo image)', { timeout: 180_000 }, () => {
  const testDocker = (found.ok ? found.value : undefined) as TestDocker;
  const instance = `e2e-${randomBytes(4).toString('hex')}`;
  let postgres: Awaited<ReturnType<typeof startContainerReachablePostgres>>;
  let test: TestPlatform;
  let port: number;
  let operator: Awaited<ReturnType<typeof createOperator>>;
  let customer: Awaited<ReturnType<typeof registerCustomer>>;

  const host = (name: string) => `${name}.lvh.me:${port}`;
  const containerOf = (name: string) => testDocker.docker.getContainer(`saas-${instance}-t-${name}`);
  async function containerGone(name: string): Promise<boolean> {
    return containerOf(name)
      .inspect()
      .then(
        () => false,
        (error: { statusCode?: number }) => error.statusCode === 404,
      );
  }
  async function untilState(name: string, state: string) {
    return waitFor(
      `${name} to be ${state}`,
      async () => {
        const view = await test.http.get(`/api/v1/tenants/${name}`, { token: operator.accessToken });
        if (view.body.state === 'error') throw new Error(`${name} went to error: ${view.body.stateReason}`);
        return view.body.state === state ? view.body : undefined;
      },
      120_000,
      200,
    );
  }
  async function act(name: string, action: string, body?: unknown) {
    const response = await test.http.post(`/api/v1/tenants/${name}/${action}`, body, { token: operator.accessToken });
    expect(response.status, `${action}: ${response.text}`).toBeLessThan(300);
    return response.body;
  }
  function dockerPlan(code: string, cpu: number, memoryMiB: number) {
    return {
      code,
      name: code,
      description: 'Dedicated Odoo in a Docker container',
      limits: { cpu, memoryMiB, storageGiB: 5, odooUsers: 10, maxTenantsPerAccount: null },
      placement: { databaseStrategy: 'shared', processStrategy: 'dedicated', replicas: 1, limitPolicy: 'block', runtime: 'docker' },
      prices: [],
      trialDays: 0,
      sortOrder: 90,
    };
  }

  beforeAll(async () => {
    // The host's fake odoo-bin (it builds the templates) runs `node` from PATH: the Node of the tests.
    process.env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;
    postgres = await startContainerReachablePostgres();
    // dockerode reads the engine's address from DOCKER_HOST, as the platform would in production.
    process.env.DOCKER_HOST = `unix://${testDocker.socketPath}`;
    test = await startTestPlatform({
      ODOO_BIN: resolve('test/fixtures/fake-odoo/odoo-bin'),
      TENANT_DATABASE_URL: postgres.connection.url,
      TEMPLATES_AUTOBUILD: 'blank',
      BASE_DOMAIN: 'lvh.me',
      DOCKER_RUNTIME: 'true',
      DOCKER_ODOO_IMAGE: `${testDocker.image}-{series}`,
      DOCKER_INSTANCE: instance,
      DOCKER_HEALTH_CHECK: HEALTH_CHECK,
    });
    port = Number(new URL(test.url).port);
    operator = await createOperator(test);
    customer = await registerCustomer(test.http, 'docker');
    for (const plan of [dockerPlan('docker-small', 0.5, 512), dockerPlan('docker-large', 1.5, 768)]) {
      const created = await test.http.post('/api/v1/plans', plan, { token: operator.accessToken });
      expect(created.status, created.text).toBe(201);
    }
    await templateBuilt(test, operator.accessToken);
  }, 240_000);

  afterAll(async () => {
    if (!testDocker) return;
    await test?.stop();
    await removeInstance(testDocker.docker, instance);
    await postgres?.stop();
  });

  it('creates a tenant in its own container; the admin logs in through the gateway', async () => {
    const view = await runningTenant(test, operator.accessToken, { name: 'dockone', plan: 'docker-small', accountId: customer.accountId });
    expect(view.state).toBe('running');
    const info = await containerOf('dockone').inspect();
    expect(info.State.Running).toBe(true);
    expect(info.Config.Labels['io.odoo-saas.tenant']).toBe(view.id);
    expect(info.HostConfig.NanoCpus).toBe(0.5e9);
    const login = await odooLogin(port, host('dockone'), 't_dockone', 'admin@dockone.example.com', GOOD_PASSWORD);
    expect(login.body.result?.uid).toBe(2);
    const wrong = await odooLogin(port, host('dockone'), 't_dockone', 'admin@dockone.example.com', 'not-the-password');
    expect(wrong.body.error?.data?.name).toBe('odoo.exceptions.AccessDenied');
    // Its filestore lives on the host (the platform's backups read it there).
    expect(existsSync(join(test.config.dataDir, 'odoo', 'filestore', 't_dockone'))).toBe(true);
  });

  it('keeps tenants apart: host A cannot open database B, and B runs in another container on another network', async () => {
    await runningTenant(test, operator.accessToken, { name: 'docktwo', plan: 'docker-small', accountId: customer.accountId });
    const intoOther = await odooLogin(port, host('dockone'), 't_docktwo', 'admin@docktwo.example.com', GOOD_PASSWORD);
    expect(intoOther.body.result?.uid).toBeUndefined();
    const one = await containerOf('dockone').inspect();
    const two = await containerOf('docktwo').inspect();
    expect(Object.keys(one.NetworkSettings.Networks)).toEqual([`saas-${instance}-t-dockone`]);
    expect(Object.keys(two.NetworkSettings.Networks)).toEqual([`saas-${instance}-t-docktwo`]);
    // From inside A's container, B's Odoo is not reachable.
    const twoAddress = Object.values(two.NetworkSettings.Networks)[0]?.IPAddress;
    const exec = await containerOf('dockone').exec({
      Cmd: [
        'node',
        '-e',
        `fetch('http://${twoAddress}:8069/web/health', { signal: AbortSignal.timeout(3000) }).then(() => console.log('REACHED'), () => console.log('BLOCKED'))`,
      ],
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({});
    const output = await new Promise<string>((resolveOutput) => {
      let text = '';
      stream.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
      });
      stream.on('end', () => resolveOutput(text));
    });
    expect(output).toContain('BLOCKED');
  });

  it('stops and starts: the container goes away and comes back, the gateway follows', async () => {
    await act('dockone', 'stop');
    await untilState('dockone', 'stopped');
    expect(await containerGone('dockone')).toBe(true);
    const stopped = await waitFor('the gateway to show the stopped page', async () => {
      const page = await hostRequest(port, host('dockone'), 'GET', '/web/login');
      return page.status === 503 ? page : undefined;
    });
    expect(stopped.text).toMatch(/stopped/i);
    await act('dockone', 'start');
    await untilState('dockone', 'running');
    expect((await containerOf('dockone').inspect()).State.Running).toBe(true);
    const login = await odooLogin(port, host('dockone'), 't_dockone', 'admin@dockone.example.com', GOOD_PASSWORD);
    expect(login.body.result?.uid).toBe(2);
  });

  it('changes plan live: the container keeps running with the new cgroup limits', async () => {
    const before = await containerOf('dockone').inspect();
    const changed = await act('dockone', 'change-plan', { plan: 'docker-large' });
    // Same placement: no migration, the limits change in place.
    expect(changed.migration, JSON.stringify(changed)).toBeNull();
    const after = await waitFor('the new limits', async () => {
      const info = await containerOf('dockone').inspect();
      return info.HostConfig.Memory === 768 * 1024 * 1024 ? info : undefined;
    });
    expect(after.Id).toBe(before.Id);
    expect(after.State.StartedAt).toBe(before.State.StartedAt);
    const limits = await cgroupLimitsOf(after.State.Pid);
    expect(limits.memoryBytes).toBe(768 * 1024 * 1024);
    expect(limits.cpuQuotaUs / limits.cpuPeriodUs).toBeCloseTo(1.5, 3);
    const view = await test.http.get('/api/v1/tenants/dockone', { token: operator.accessToken });
    expect(view.body.plan ?? view.body.planCode).toBe('docker-large');
  });

  it('deletes: the container, its network and volume are removed', async () => {
    await act('docktwo', 'force-delete');
    await untilState('docktwo', 'deleted');
    await waitFor('the container to be removed', async () => ((await containerGone('docktwo')) ? true : undefined), 60_000);
    const networks = await testDocker.docker.listNetworks({ filters: { name: [`saas-${instance}-t-docktwo`] } });
    expect(networks).toEqual([]);
  });
});
