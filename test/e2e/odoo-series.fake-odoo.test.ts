import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/index.js';
import { type Platform, startPlatform } from '../../src/main.js';
import { hostRequest, waitFor } from '../helpers/gateway-client.js';
import { type ArchiveServer, fakeOdooSourceArchive, startArchiveServer } from '../helpers/odoo-archive.js';
import { makeOdooBackupZip, odooManifest } from '../helpers/odoo-zip.js';
import {
  createHttpClient,
  createOperator,
  GOOD_PASSWORD,
  registerCustomer,
  startTestPlatform,
  type TestPlatform,
} from '../helpers/platform.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

/**
 * Several Odoo series side by side (issue 8, item 1): Odoo 16.0 through the ODOO_BIN override (the
 * fake Odoo claiming 16.0) and Odoo 17.0 installed by the real installer (download, checksum,
 * venv, pip, checks) from a local archive whose odoo-bin runs the fake Odoo claiming 17.0. Each
 * template builds with its own series, each tenant runs its template's series in a pool of that
 * series, answering its own version through the gateway, also after a restart of the platform.
 */

process.env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

let archives: ArchiveServer;
let test: TestPlatform;
/** The platform started again on the same database and data directory (the restart test). */
let restarted: Platform | undefined;
let baseUrl: string;
let operator: Awaited<ReturnType<typeof createOperator>>;
let customer: Awaited<ReturnType<typeof registerCustomer>>;
const tenants = { t16: `s16${Date.now().toString(36)}`, t17: `s17${Date.now().toString(36)}` };
const archive17 = fakeOdooSourceArchive({ series: '17.0' });

const port = () => Number(new URL(baseUrl).port);

async function platformQuery(text: string, values: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: test.database.url });
  await client.connect();
  try {
    await client.query(text, values);
  } finally {
    await client.end();
  }
}

async function templateBuild(code: string): Promise<{ status: string; odooVersion: string | null; error: string | null }> {
  return waitFor(
    `template ${code} to be built`,
    async () => {
      const templates = await test.http.get('/api/v1/templates', { token: operator.accessToken });
      const build = templates.body.find((t: { code: string }) => t.code === code)?.builds[0];
      return build && build.status !== 'building' ? build : undefined;
    },
    120_000,
    200,
  );
}

function requestTenant(name: string, template: string, plan: string, token: string, accountId?: string) {
  return test.http.post(
    '/api/v1/tenants',
    { name, plan, template, adminEmail: `admin@${name}.example.com`, adminPassword: GOOD_PASSWORD, ...(accountId ? { accountId } : {}) },
    { token },
  );
}

/** What the tenant's Odoo says it is, asked through the gateway with the tenant's host. */
async function versionThroughGateway(name: string): Promise<string | undefined> {
  const answer = await hostRequest(port(), `${name}.lvh.me:${port()}`, 'POST', '/web/webclient/version_info', {
    jsonrpc: '2.0',
    method: 'call',
    id: 1,
    params: {},
  }).catch(() => undefined);
  if (answer?.status !== 200) return undefined;
  return (answer.json() as { result?: { server_version?: string } }).result?.server_version;
}

async function runningTenant(name: string) {
  return waitFor(
    `tenant ${name} to run`,
    async () => {
      const answer = await test.http.get(`/api/v1/tenants/${name}`, { token: operator.accessToken });
      if (answer.body.state === 'error') throw new Error(`tenant ${name} failed: ${answer.body.stateReason}`);
      return answer.body.state === 'running' ? answer.body : undefined;
    },
    120_000,
    200,
  );
}

beforeAll(async () => {
  archives = await startArchiveServer();
  archives.archives.set('odoo_17.tar.gz', archive17);
  test = await startTestPlatform({
    ODOO_BIN: resolve('test/fixtures/fake-odoo/odoo-bin'),
    ODOO_SERIES: '16.0',
    ODOO_SOURCE_URL_17: `${archives.url}/archives/odoo_17.tar.gz`,
    ODOO_SOURCE_SHA256_17: createHash('sha256').update(archive17).digest('hex'),
    ODOO_PIP_INDEX_URL: `${archives.url}/simple/`,
    TENANT_DATABASE_URL: postgresAdminUrl(),
    TEMPLATES_AUTOBUILD: 'blank',
    SPARE_DATABASES: '0',
    BASE_DOMAIN: 'lvh.me',
  });
  baseUrl = test.url;
  operator = await createOperator(test);
  customer = await registerCustomer(test.http, 'series');
  // The shipped catalog names no series; an operator's catalog declares them (the templates table, as seed() writes it).
  await platformQuery(
    `INSERT INTO templates (code, name, description, modules, sort_order, series) VALUES
       ('blank17', 'Blank 17', 'Odoo 17.0 with the base apps', '["base", "web"]', 50, '17.0'),
       ('blank18', 'Blank 18', 'Odoo 18.0 with the base apps', '["base", "web"]', 60, '18.0')`,
  );
}, 120_000);

afterAll(async () => {
  if (restarted) {
    await restarted.stop();
    await test.database.drop();
    rmSync(test.config.dataDir, { recursive: true, force: true });
  } else await test?.stop();
  await archives?.close();
});

describe('two Odoo series side by side', () => {
  it('installs 17.0 beside the 16.0 override, and lists both with what uses them', async () => {
    expect((await test.http.post('/api/v1/odoo/installations/17.0/install', undefined, { token: operator.accessToken })).status).toBe(202);
    const installed = await waitFor(
      'Odoo 17.0 to be installed',
      async () => {
        const answer = await test.http.get('/api/v1/odoo/installations/17.0', { token: operator.accessToken });
        return answer.body.status === 'installing' ? undefined : answer.body;
      },
      180_000,
      200,
    );
    expect(installed).toMatchObject({ status: 'ready', version: '17.0', error: null });
  }, 200_000);

  it('builds each template with its own series', async () => {
    expect(await templateBuild('blank')).toMatchObject({ status: 'ready', odooVersion: '16.0', error: null });
    const queued = await test.http.post('/api/v1/templates/blank17/build', undefined, { token: operator.accessToken });
    expect(queued.status, queued.text).toBe(202);
    expect(await templateBuild('blank17')).toMatchObject({ status: 'ready', odooVersion: '17.0', error: null });
    const series = await test.http.get('/api/v1/odoo/installations', { token: operator.accessToken });
    const bySeries = Object.fromEntries(series.body.map((i: { series: string }) => [i.series, i]));
    expect(bySeries['16.0'].usedBy.templates).toContain('blank');
    expect(bySeries['17.0'].usedBy.templates).toEqual(['blank17']);
    expect(bySeries['18.0'].usedBy.templates).toEqual(['blank18']);
  }, 200_000);

  it('serves a 16.0 tenant and a 17.0 tenant at once, each from a pool of its series answering its own version', async () => {
    for (const [name, template] of [
      [tenants.t16, 'blank'],
      [tenants.t17, 'blank17'],
    ] as const) {
      const created = await requestTenant(name, template, 'basic', operator.accessToken, customer.accountId);
      expect(created.status, created.text).toBe(202);
    }
    expect((await runningTenant(tenants.t16)).odooSeries).toBe('16.0');
    expect((await runningTenant(tenants.t17)).odooSeries).toBe('17.0');
    expect(await waitFor('the 16.0 tenant to answer', () => versionThroughGateway(tenants.t16))).toBe('16.0');
    expect(await waitFor('the 17.0 tenant to answer', () => versionThroughGateway(tenants.t17))).toBe('17.0');

    const pools = (await test.http.get('/api/v1/pools', { token: operator.accessToken })).body as Array<{
      name: string;
      odooSeries: string | null;
      tenants: number;
    }>;
    expect(pools.map((p) => [p.odooSeries, p.tenants]).sort()).toEqual([
      ['16.0', 1],
      ['17.0', 1],
    ]);
    expect(new Set(pools.map((p) => p.name)).size).toBe(2);
    const installations = await test.http.get('/api/v1/odoo/installations', { token: operator.accessToken });
    const usedBy17 = installations.body.find((i: { series: string }) => i.series === '17.0').usedBy;
    expect(usedBy17.tenants).toBe(1);
  }, 200_000);

  it('refuses a template of a series the plan does not offer, naming both (and creates nothing)', async () => {
    const plan = await test.http.post(
      '/api/v1/plans',
      {
        code: 'only17',
        name: 'Only Odoo 17',
        limits: { cpu: 1, memoryMiB: 1024, storageGiB: 5, odooUsers: 3 },
        placement: { databaseStrategy: 'shared', processStrategy: 'pool', replicas: 1, limitPolicy: 'block', odooSeries: ['17.0'] },
        prices: [],
      },
      { token: operator.accessToken },
    );
    expect(plan.status, plan.text).toBe(201);
    const name = `nope${Date.now().toString(36)}`;
    const refused = await requestTenant(name, 'blank', 'only17', operator.accessToken, customer.accountId);
    expect(refused.status).toBe(409);
    expect(refused.body.field).toBe('template');
    expect(refused.body.detail).toContain('Odoo 17.0');
    expect(refused.body.detail).toContain('Odoo 16.0');
    expect((await test.http.get(`/api/v1/tenants/${name}`, { token: operator.accessToken })).status).toBe(404);
    const badSeries = await test.http.put(
      '/api/v1/plans/only17',
      {
        name: 'Only Odoo 15',
        limits: { cpu: 1, memoryMiB: 1024, storageGiB: 5, odooUsers: 3 },
        placement: { databaseStrategy: 'shared', processStrategy: 'pool', replicas: 1, limitPolicy: 'block', odooSeries: ['15.0'] },
        prices: [],
      },
      { token: operator.accessToken },
    );
    expect(badSeries.status).toBe(400);
    expect(badSeries.text).toContain('odooSeries');
  });

  it('tells a customer the platform is not ready for a series that is not installed (no operator command); operators what to install', async () => {
    const name = `n18${Date.now().toString(36)}`;
    const asCustomer = await requestTenant(name, 'blank18', 'basic', customer.accessToken);
    expect(asCustomer.status).toBe(409);
    expect(asCustomer.body.field).toBe('template');
    expect(asCustomer.body.detail).toBe(
      'The platform is not ready to create instances of Odoo 18.0 yet. Please try again later or choose another template.',
    );
    expect(asCustomer.text).not.toContain('saasctl');
    const asOperator = await requestTenant(name, 'blank18', 'basic', operator.accessToken, customer.accountId);
    expect(asOperator.status).toBe(409);
    expect(asOperator.body.detail).toContain('saasctl odoo install 18.0');
  });

  it('imports a zip only into a tenant of its own series, naming both versions otherwise', async () => {
    const source = (await test.http.get(`/api/v1/tenants/${tenants.t16}`, { token: operator.accessToken })).body;
    const upload = async (series: string) => {
      const zip = join(test.config.dataDir, `made-with-${series}.zip`);
      makeOdooBackupZip({
        databaseName: source.databaseName,
        odooDataDir: join(test.config.dataDir, 'odoo'),
        manifest: odooManifest('elsewhere', series),
        target: zip,
      });
      const response = await fetch(`${test.url}/api/v1/imports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${customer.accessToken}`, 'content-type': 'application/zip' },
        body: readFileSync(zip),
      });
      return { status: response.status, body: (await response.json()) as { detail?: string; uploadToken?: string } };
    };
    const of18 = await upload('18.0');
    expect(of18.status).toBe(400);
    expect(of18.body.detail).toContain('this platform runs Odoo 16.0 and 17.0');
    const of16 = await upload('16.0');
    expect(of16.status).toBe(201);
    const name = `imp${Date.now().toString(36)}`;
    const wrongTemplate = await test.http.post(
      '/api/v1/imports/tenants',
      {
        uploadToken: of16.body.uploadToken,
        name,
        plan: 'basic',
        template: 'blank17',
        adminEmail: `owner@${name}.example.com`,
        adminPassword: GOOD_PASSWORD,
      },
      { token: customer.accessToken },
    );
    expect(wrongTemplate.status).toBe(409);
    expect(wrongTemplate.body.field).toBe('template');
    expect(wrongTemplate.body.detail).toContain('made with Odoo 16.0');
    expect(wrongTemplate.body.detail).toContain('template blank17 makes instances of Odoo 17.0');
    expect((await test.http.get(`/api/v1/tenants/${name}`, { token: operator.accessToken })).status).toBe(404);
  }, 60_000);

  it('keeps each tenant on its series after a restart of the platform', async () => {
    await test.platform.stop();
    restarted = await startPlatform({ ...test.config, port: 0 }, { logger: createLogger(test.config.logLevel) });
    baseUrl = restarted.url ?? '';
    expect(await waitFor('the 16.0 tenant to answer again', () => versionThroughGateway(tenants.t16), 120_000, 200)).toBe('16.0');
    expect(await waitFor('the 17.0 tenant to answer again', () => versionThroughGateway(tenants.t17), 120_000, 200)).toBe('17.0');
    const http = createHttpClient(baseUrl);
    const pools = (await http.get('/api/v1/pools', { token: operator.accessToken })).body as Array<{ odooSeries: string | null }>;
    expect(pools.map((p) => p.odooSeries).sort()).toEqual(['16.0', '17.0']);
  }, 200_000);
});
