import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/gateway-client.js';
import { createOperator, GOOD_PASSWORD, registerCustomer, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

/**
 * A tenant asked for while its template is still building (issue 16, item 3): accepted, it waits
 * in `provisioning` with the `template` step on its timeline and goes on when the build is
 * ready; when the build fails, the tenant fails saying so. Only a template that is neither built
 * nor being built is refused. Template builds are slowed (FAKE_ODOO_INIT_DELAY_MS) by the fake
 * Odoo's launcher, which also fails `-i` while a `fail-init` file exists.
 */

process.env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;
const FAKE_ODOO = resolve('test/fixtures/fake-odoo/odoo-bin');

let test: TestPlatform;
let operator: Awaited<ReturnType<typeof createOperator>>;
let workDir: string;
let failInit: string;

async function build(code: string): Promise<{ status: string; error: string | null } | undefined> {
  const templates = await test.http.get('/api/v1/templates', { token: operator.accessToken });
  return templates.body.find((t: { code: string }) => t.code === code)?.builds[0];
}

/** Each on a new customer account (the basic plan allows one tenant per account). */
async function requestTenant(template: string) {
  const customer = await registerCustomer(test.http, 'waiter');
  const name = `wait${template.slice(0, 4)}${Date.now().toString(36)}`;
  const created = await test.http.post(
    '/api/v1/tenants',
    { name, plan: 'basic', template, adminEmail: `admin@${name}.example.com`, adminPassword: GOOD_PASSWORD },
    { token: customer.accessToken },
  );
  return { name, created, customer };
}

async function tenantIn(name: string, states: string[]) {
  return waitFor(
    `tenant ${name} to reach ${states.join(' or ')}`,
    async () => {
      const answer = await test.http.get(`/api/v1/tenants/${name}`, { token: operator.accessToken });
      return states.includes(answer.body.state) ? answer.body : undefined;
    },
    90_000,
    200,
  );
}

async function timeline(name: string): Promise<Array<{ type: string; step: string | null; message: string | null }>> {
  return (await test.http.get(`/api/v1/tenants/${name}/events`, { token: operator.accessToken })).body;
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'template-wait-'));
  failInit = join(workDir, 'fail-init');
  const launcher = join(workDir, 'odoo-bin');
  writeFileSync(
    launcher,
    [
      '#!/bin/sh',
      'export FAKE_ODOO_INIT_DELAY_MS=3000',
      `case " $* " in *" -i "*) if [ -e ${failInit} ]; then sleep 1; echo "init failed on purpose" >&2; exit 1; fi;; esac`,
      `exec ${FAKE_ODOO} "$@"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  test = await startTestPlatform({
    ODOO_BIN: launcher,
    TENANT_DATABASE_URL: postgresAdminUrl(),
    TEMPLATES_AUTOBUILD: 'blank',
    SPARE_DATABASES: '0',
    BASE_DOMAIN: 'lvh.me',
  });
  operator = await createOperator(test);
}, 60_000);

afterAll(async () => {
  await test?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

describe('a tenant asked for while its template builds', () => {
  it('is accepted, waits with the template step on its timeline, and runs once the build is ready', async () => {
    expect((await build('blank'))?.status).toBe('building');
    const { name, created, customer } = await requestTenant('blank');
    expect(created.status, created.text).toBe(202);
    await waitFor('the wait to show on the timeline', async () =>
      (await timeline(name)).some((event) => event.message?.startsWith('waiting for template blank')) ? true : undefined,
    );
    expect((await test.http.get(`/api/v1/tenants/${name}`, { token: customer.accessToken })).body.state).toBe('provisioning');
    await tenantIn(name, ['running']);
    expect((await build('blank'))?.status).toBe('ready');
    const steps = (await timeline(name)).filter((event) => event.type === 'step').map((event) => event.step);
    expect(steps[0]).toBe('template');
  }, 120_000);

  it('fails clearly when the build it waits for fails', async () => {
    writeFileSync(failInit, '');
    const started = await test.http.post('/api/v1/templates/restaurant/build', {}, { token: operator.accessToken });
    expect(started.status, started.text).toBe(202);
    const { name, created } = await requestTenant('restaurant');
    expect(created.status, created.text).toBe(202);
    const tenant = await tenantIn(name, ['error']);
    expect(tenant.stateReason).toMatch(/Template restaurant could not be built: .*init failed on purpose/s);
    expect((await build('restaurant'))?.status).toBe('failed');
  }, 120_000);

  it('refuses a template that is neither built nor being built, naming the field', async () => {
    const { created } = await requestTenant('services');
    expect(created.status).toBe(409);
    expect(created.body.field).toBe('template');
    expect(created.body.detail).toMatch(/not built and no build of it is running/);
  });
});
