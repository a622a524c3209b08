import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withConnection } from '../../src/postgres/index.js';
import { exited, spawnServe } from '../helpers/cli.js';
import { waitFor } from '../helpers/gateway-client.js';
import { type ArchiveServer, fakeOdooSourceArchive, startArchiveServer } from '../helpers/odoo-archive.js';
import { freeTestPort } from '../helpers/ports.js';
import { createTestDatabase, postgresAdminUrl, type TestDatabase } from '../helpers/postgres.js';

/**
 * The Odoo installer is a durable job: `saasctl serve` (started as `npm start` starts it, with the
 * automatic install of ODOO_SERIES) is SIGKILLed right after the download step, then again right
 * after the requirements step (the test-only SAAS_TEST_CRASH_AT hook); each restart resumes the
 * installation, keeping the steps whose result still holds, and the last one registers it.
 */

describe('an Odoo installation killed mid-way', { timeout: 300_000 }, () => {
  let database: TestDatabase;
  let dataDir: string;
  let archives: ArchiveServer;

  beforeAll(async () => {
    database = await createTestDatabase('installcrash');
    dataDir = mkdtempSync(join(tmpdir(), 'saas-install-crash-'));
    archives = await startArchiveServer();
    archives.archives.set('odoo_17.tar.gz', fakeOdooSourceArchive({ series: '17.0' }));
  });

  afterAll(async () => {
    await archives?.close();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function serve(crashAt?: string) {
    const port = await freeTestPort();
    const child = spawnServe(
      {
        DATA_DIR: dataDir,
        DATABASE_URL: database.url,
        TENANT_DATABASE_URL: postgresAdminUrl(),
        SECRET_KEY: 'test-secret-key-that-is-at-least-32-characters-long',
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        TEMPLATES_AUTOBUILD: '',
        SPARE_DATABASES: '0',
        ODOO_SOURCE_URL_17: `${archives.url}/archives/odoo_17.tar.gz`,
        ODOO_PIP_INDEX_URL: `${archives.url}/simple/`,
        ...(crashAt ? { SAAS_TEST_CRASH_AT: crashAt } : {}),
      },
      ['ignore', 'ignore', 'inherit'],
    );
    return { child, port };
  }

  async function installation() {
    const { rows } = await withConnection(database.url, (client) =>
      client.query<{ status: string; step: string | null; error: string | null; bin: string | null }>(
        "SELECT status, step, error, bin FROM odoo_installations WHERE series = '17.0'",
      ),
    );
    return rows[0];
  }

  it('resumes after each kill and registers the installation once', async () => {
    for (const point of ['download', 'requirements']) {
      const { child } = await serve(`odoo-install:${point}`);
      const end = await exited(child);
      expect(end.signal).toBe('SIGKILL');
      expect(await installation()).toMatchObject({ status: 'installing', step: point });
    }
    const { child } = await serve();
    try {
      const done = await waitFor(
        'the resumed installation to finish',
        async () => {
          const row = await installation();
          return row && row.status !== 'installing' ? row : undefined;
        },
        180_000,
        250,
      );
      expect(done).toMatchObject({ status: 'ready', step: 'register', error: null, bin: join(dataDir, 'odoo', '17.0', 'odoo-bin') });
    } finally {
      child.kill('SIGTERM');
      await exited(child);
    }
    // Each step ran once: the kills came after a step was recorded, and what it made still held.
    const gets = archives.requests.filter((r) => r === 'GET /archives/odoo_17.tar.gz');
    expect(gets).toHaveLength(1);
    const log = readFileSync(join(dataDir, 'odoo', '17.0', 'install.log'), 'utf8');
    for (const step of ['download', 'unpack', 'venv', 'requirements', 'check_version', 'check_base'])
      expect(
        log.split('\n').filter((line) => line.endsWith(` ${step}`)),
        step,
      ).toHaveLength(1);
  });
});
