import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/gateway-client.js';
import { createOperator, GOOD_PASSWORD, registerCustomer, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

/**
 * An Odoo installation whose sessions do not work (issue 16, item 6): an Odoo 18 missing its
 * `geoip2` requirement accepts `/web/session/authenticate` and fails every later request of the
 * session. The fake Odoo claims 18.0 here and is told which packages are "missing" through a file
 * its launcher reads at every start, so one platform sees the installation work, then break.
 * The login check of provisioning and the template build both use the session, so both fail,
 * with Odoo's traceback in the error, instead of reporting a tenant `running` that no one can use.
 */

process.env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;
const FAKE_ODOO = resolve('test/fixtures/fake-odoo/odoo-bin');

let test: TestPlatform;
let operator: Awaited<ReturnType<typeof createOperator>>;
let workDir: string;
let missingFile: string;

interface Build {
  status: string;
  error: string | null;
  finishedAt: string | null;
}

async function blankBuild(): Promise<Build | undefined> {
  const templates = await test.http.get('/api/v1/templates', { token: operator.accessToken });
  return templates.body.find((t: { code: string }) => t.code === 'blank')?.builds[0];
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'broken-odoo-'));
  missingFile = join(workDir, 'missing-packages');
  writeFileSync(missingFile, '');
  const launcher = join(workDir, 'odoo-bin');
  writeFileSync(
    launcher,
    `#!/bin/sh\nexport FAKE_ODOO_VERSION=18.0\nFAKE_ODOO_MISSING_PACKAGES="$(cat ${missingFile})"\nexport FAKE_ODOO_MISSING_PACKAGES\nexec ${FAKE_ODOO} "$@"\n`,
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
  await waitFor('the blank template to be built', async () => {
    const build = await blankBuild();
    if (build?.status === 'failed') throw new Error(`template build failed: ${build.error}`);
    return build?.status === 'ready' ? build : undefined;
  });
}, 120_000);

afterAll(async () => {
  await test?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

describe('an Odoo 18 installation missing geoip2', () => {
  it('fails the login check of a new tenant, with the Odoo traceback on its timeline', async () => {
    writeFileSync(missingFile, 'geoip2');
    const customer = await registerCustomer(test.http, 'broken');
    const name = `broken${Date.now().toString(36)}`;
    const created = await test.http.post(
      '/api/v1/tenants',
      { name, plan: 'basic', template: 'blank', adminEmail: `admin@${name}.example.com`, adminPassword: GOOD_PASSWORD },
      { token: customer.accessToken },
    );
    expect(created.status, created.text).toBe(202);
    const tenant = await waitFor(
      'the tenant to fail',
      async () => {
        const answer = await test.http.get(`/api/v1/tenants/${name}`, { token: operator.accessToken });
        return answer.body.state === 'error' ? answer.body : undefined;
      },
      90_000,
      200,
    );
    expect(tenant.stateReason).toContain("NameError: name 'GEOIP_EMPTY_COUNTRY' is not defined");
    const events = await test.http.get(`/api/v1/tenants/${name}/events`, { token: operator.accessToken });
    const errors = (events.body.items ?? events.body).filter((event: { type: string }) => event.type === 'error');
    expect(errors.length).toBeGreaterThan(0);
    // The customer reads a plain sentence, not the traceback.
    const own = await test.http.get(`/api/v1/tenants/${name}`, { token: customer.accessToken });
    expect(JSON.stringify(own.body)).not.toContain('GEOIP_EMPTY_COUNTRY');
  }, 120_000);

  it('fails a template build with the Odoo traceback in its error (the previous build stays in use)', async () => {
    const before = await blankBuild();
    const rebuild = await test.http.post('/api/v1/templates/blank/build', {}, { token: operator.accessToken });
    expect(rebuild.status, rebuild.text).toBe(202);
    const build = await waitFor(
      'the rebuild to end',
      async () => {
        const current = await blankBuild();
        return current?.finishedAt && current.finishedAt !== before?.finishedAt ? current : undefined;
      },
      90_000,
      200,
    );
    expect(build.status).toBe('ready');
    expect(build.error).toContain("NameError: name 'GEOIP_EMPTY_COUNTRY' is not defined");
  }, 120_000);
});
