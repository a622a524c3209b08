import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/gateway-client.js';
import { type ArchiveServer, fakeOdooSourceArchive, startArchiveServer } from '../helpers/odoo-archive.js';
import { createOperator, GOOD_PASSWORD, registerCustomer, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

/**
 * `saasctl odoo install <series>` (issue 8, item 1) against a local HTTP server serving a source
 * archive shaped like Odoo's (its odoo-bin runs the fake Odoo) and a local PyPI-shaped index
 * serving its requirement: the download, the checksum, the virtual environment (python3 -m venv),
 * pip, `odoo-bin --version`, the throwaway `-i base` database and the registration are real.
 */

process.env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

let archives: ArchiveServer;
let test: TestPlatform;
let operator: Awaited<ReturnType<typeof createOperator>>;
let customer: Awaited<ReturnType<typeof registerCustomer>>;
const good17 = fakeOdooSourceArchive({ series: '17.0' });
const good17Sha = createHash('sha256').update(good17).digest('hex');

interface Installation {
  series: string;
  status: string;
  step: string | null;
  stepsDone: number;
  stepsTotal: number;
  error: string | null;
  bin: string | null;
  version: string | null;
  archiveSha256: string | null;
}

const install = (series: string) =>
  test.http.post(`/api/v1/odoo/installations/${series}/install`, undefined, { token: operator.accessToken });

/** Polls the installation until it is no longer installing. */
function settled(series: string): Promise<Installation> {
  return waitFor(
    `Odoo ${series} to be installed or failed`,
    async () => {
      const answer = await test.http.get(`/api/v1/odoo/installations/${series}`, { token: operator.accessToken });
      return answer.body.status === 'installing' ? undefined : (answer.body as Installation);
    },
    120_000,
    200,
  );
}

async function databaseNames(): Promise<string[]> {
  const client = new pg.Client({ connectionString: postgresAdminUrl() });
  await client.connect();
  try {
    return (await client.query<{ datname: string }>('SELECT datname FROM pg_database')).rows.map((r) => r.datname);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  archives = await startArchiveServer();
  archives.archives.set('odoo_17.tar.gz', good17);
  archives.archives.set('odoo_16.tar.gz', fakeOdooSourceArchive({ series: '16.0' }));
  test = await startTestPlatform({
    TENANT_DATABASE_URL: postgresAdminUrl(),
    ODOO_SERIES: '17.0',
    ODOO_SOURCE_URL_17: `${archives.url}/archives/odoo_17.tar.gz`,
    ODOO_SOURCE_SHA256_17: good17Sha,
    ODOO_SOURCE_URL_16: `${archives.url}/archives/odoo_16.tar.gz`,
    // Not the archive's: the download must be refused.
    ODOO_SOURCE_SHA256_16: 'a'.repeat(64),
    ODOO_SOURCE_URL_18: `${archives.url}/archives/odoo_18.tar.gz`,
    ODOO_PIP_INDEX_URL: `${archives.url}/simple/`,
    ODOO_DOWNLOAD_IDLE_SECONDS: '3',
    TEMPLATES_AUTOBUILD: 'blank',
    SPARE_DATABASES: '0',
  });
  operator = await createOperator(test);
  customer = await registerCustomer(test.http, 'early');
}, 60_000);

afterAll(async () => {
  await test?.stop();
  await archives?.close();
});

describe('before any Odoo is installed', () => {
  it('tells customers the platform is not ready (never an operator command) and operators what to run', async () => {
    const asCustomer = await test.http.get('/api/v1/platform/readiness', { token: customer.accessToken });
    expect(asCustomer.body).toMatchObject({ canCreateInstances: false, operatorMessage: null, defaultSeries: '17.0' });
    expect(asCustomer.body.customerMessage).toBe('The platform is not ready to create instances yet. Please try again later.');
    const asOperator = await test.http.get('/api/v1/platform/readiness', { token: operator.accessToken });
    expect(asOperator.body.operatorMessage).toContain('saasctl odoo install 17.0');

    const created = await test.http.post(
      '/api/v1/tenants',
      {
        name: `early${Date.now().toString(36)}`,
        plan: 'basic',
        template: 'blank',
        adminEmail: 'a@early.example.com',
        adminPassword: GOOD_PASSWORD,
      },
      { token: customer.accessToken },
    );
    expect(created.status).toBe(409);
    expect(created.body.field).toBe('template');
    expect(created.body.detail).toBe('The platform is not ready to create instances yet. Please try again later.');
    expect(created.text).not.toContain('saasctl');
  });

  it('lists every series as not installed', async () => {
    const list = await test.http.get('/api/v1/odoo/installations', { token: operator.accessToken });
    expect(list.body.map((i: Installation) => [i.series, i.status])).toEqual([
      ['16.0', 'not_installed'],
      ['17.0', 'not_installed'],
      ['18.0', 'not_installed'],
    ]);
  });

  it('refuses customers and an unknown series', async () => {
    expect((await test.http.post('/api/v1/odoo/installations/17.0/install', undefined, { token: customer.accessToken })).status).toBe(403);
    const unknown = await install('15.0');
    expect(unknown.status).toBe(400);
    expect(unknown.body.field).toBe('params.series');
  });
});

describe('installing a series', () => {
  it('downloads, checks the checksum, makes a venv with the requirements from the index, checks Odoo and registers it', async () => {
    const queued = await install('17.0');
    expect(queued.status).toBe(202);
    expect(queued.body.status).toBe('installing');
    const again = await install('17.0');
    expect(again.body.status).toBe('installing'); // one job, not two

    const done = await settled('17.0');
    expect(done.error).toBeNull();
    expect(done).toMatchObject({ status: 'ready', version: '17.0', step: 'register', archiveSha256: good17Sha });
    expect(done.stepsDone).toBe(done.stepsTotal);
    const root = join(test.config.dataDir, 'odoo', '17.0');
    expect(done.bin).toBe(join(root, 'odoo-bin'));
    // The requirement came from the local index into the installation's own environment.
    const imported = spawnSync(join(root, 'venv', 'bin', 'python'), [
      '-c',
      'import saas_fake_requirement; print(saas_fake_requirement.VERSION)',
    ]);
    expect(imported.stdout.toString().trim()).toBe('1.0');
    expect(archives.requests).toContain('GET /simple/saas-fake-requirement/');
    const version = spawnSync(done.bin as string, ['--version']);
    expect(version.stdout.toString()).toContain('17.0');
    // The throwaway -i base database is gone.
    expect((await databaseNames()).filter((name) => name.startsWith('saas_install_check'))).toEqual([]);
    expect(readFileSync(join(root, 'install.log'), 'utf8')).toContain('check_base');
  }, 180_000);

  it('becomes the platform Odoo at once: instances can be created and the blank template is built with it', async () => {
    const readiness = await test.http.get('/api/v1/platform/readiness', { token: customer.accessToken });
    expect(readiness.body).toMatchObject({ canCreateInstances: true, customerMessage: null });
    const build = await waitFor(
      'the blank template to be built with the installed Odoo',
      async () => {
        const templates = await test.http.get('/api/v1/templates', { token: operator.accessToken });
        const first = templates.body.find((t: { code: string }) => t.code === 'blank')?.builds[0];
        return first && first.status !== 'building' ? first : undefined;
      },
      120_000,
      200,
    );
    expect(build).toMatchObject({ status: 'ready', odooVersion: '17.0', error: null });
  }, 180_000);

  it('answers a ready series as it is', async () => {
    const again = await install('17.0');
    expect(again.status).toBe(202);
    expect(again.body.status).toBe('ready');
  });
});

describe('an installation that cannot be made', () => {
  it('refuses an archive whose SHA-256 is not the one configured, and keeps nothing of it', async () => {
    await install('16.0');
    const failed = await settled('16.0');
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/has SHA-256 [0-9a-f]{64}, not the expected a{64}/);
    expect(failed.bin).toBeNull();
    const root = join(test.config.dataDir, 'odoo', '16.0');
    expect(existsSync(join(root, 'source.tar.gz'))).toBe(false);
    expect(existsSync(join(root, 'source.tar.gz.partial'))).toBe(false);
    expect(existsSync(join(root, 'src'))).toBe(false);
  }, 60_000);

  it('says so when the archive URL answers 404', async () => {
    await install('18.0');
    const failed = await settled('18.0');
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain(`downloading ${archives.url}/archives/odoo_18.tar.gz answered HTTP 404`);
  }, 60_000);

  it("fails with pip's error when a requirement is not on the index, and is not registered", async () => {
    archives.archives.set('odoo_18.tar.gz', fakeOdooSourceArchive({ series: '18.0', requirements: 'saas-no-such-package==9.9\n' }));
    expect((await install('18.0')).body.status).toBe('installing'); // a failed series can be installed again
    const failed = await settled('18.0');
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain("pip could not install Odoo 18.0's requirements");
    expect(failed.error).toContain('saas-no-such-package');
    expect(failed.bin).toBeNull();
  }, 120_000);

  it('fails when the installed odoo-bin --version fails', async () => {
    archives.archives.set('odoo_18.tar.gz', fakeOdooSourceArchive({ series: '18.0', prelude: 'sys.exit("this Odoo does not start")' }));
    await install('18.0');
    const failed = await settled('18.0');
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain('odoo-bin --version failed');
    expect(failed.error).toContain('this Odoo does not start');
  }, 120_000);

  it('fails when the archive is another series than the one asked for', async () => {
    archives.archives.set('odoo_18.tar.gz', fakeOdooSourceArchive({ series: '17.0' }));
    await install('18.0');
    const failed = await settled('18.0');
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain('the archive is Odoo 17.0, not 18.0');
  }, 120_000);

  it('abandons a download that stalls, says so, and keeps no partial archive', async () => {
    archives.archives.set('odoo_18.tar.gz', fakeOdooSourceArchive({ series: '18.0' }));
    archives.stalled.add('odoo_18.tar.gz');
    try {
      await install('18.0');
      const failed = await settled('18.0');
      expect(failed.status).toBe('failed');
      expect(failed.error).toContain(`the download from ${archives.url}/archives/odoo_18.tar.gz stalled: nothing received for 3 s`);
      expect(existsSync(join(test.config.dataDir, 'odoo', '18.0', 'source.tar.gz.partial'))).toBe(false);
      expect(failed.bin).toBeNull();
    } finally {
      archives.stalled.delete('odoo_18.tar.gz');
    }
  }, 60_000);

  it('fails an installation whose job ended without finishing it, and installs again on request', async () => {
    // What a job whose every attempt died leaves behind: the row still waits for a job that is over.
    const client = new pg.Client({ connectionString: test.database.url });
    await client.connect();
    try {
      await client.query("UPDATE odoo_installations SET status = 'installing', step = 'venv', job_id = $1 WHERE series = '18.0'", [
        randomUUID(),
      ]);
    } finally {
      await client.end();
    }
    const abandoned = (await test.http.get('/api/v1/odoo/installations/18.0', { token: operator.accessToken })).body as Installation;
    expect(abandoned.status).toBe('failed');
    expect(abandoned.error).toContain('the installation stopped at the step after "venv" without finishing: its job ended (gone)');
    expect(abandoned.error).toContain('Install the series again');
    archives.archives.set('odoo_18.tar.gz', fakeOdooSourceArchive({ series: '17.0' }));
    expect((await install('18.0')).body.status).toBe('installing');
    expect((await settled('18.0')).error).toContain('the archive is Odoo 17.0, not 18.0');
  }, 120_000);

  it('keeps the platform on the Odoo it had', async () => {
    const list = await test.http.get('/api/v1/odoo/installations', { token: operator.accessToken });
    expect(list.body.map((i: Installation) => [i.series, i.status])).toEqual([
      ['16.0', 'failed'],
      ['17.0', 'ready'],
      ['18.0', 'failed'],
    ]);
  });
});
