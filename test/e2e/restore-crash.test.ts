import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { filestorePath } from '../../src/odoo/index.js';
import { withConnection } from '../../src/postgres/index.js';
import { exited } from '../helpers/cli.js';
import { odooLogin, waitFor } from '../helpers/gateway-client.js';
import { GOOD_PASSWORD, uniqueEmail } from '../helpers/platform.js';
import { freeTestPort } from '../helpers/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { servedPlatform } from '../helpers/served-platform.js';
import { databasesStartingWith, tenantData, tenantDatabaseUrl } from '../helpers/tenant-data.js';

/**
 * Crash safety of a restore in place: the platform runs as a real child process and is killed
 * (SIGKILL, through the test-only SAAS_TEST_CRASH_AT hook) after the archive was loaded beside
 * the live database, between the two renames of the swap, and right after the swap. A new
 * platform process on the same data must finish the restore: the tenant serves exactly the data
 * of the backup, and no side or previous database is left.
 */
let database: TestDatabase;
let dataDir: string;
let port: number;
const platform = servedPlatform(() => ({ databaseUrl: database.url, dataDir, port, env: { SPARE_DATABASES: '0' } }));
const http = platform.http;
const ADMIN_PASSWORD = 'Odoo-Admin-Pass-1';
const odooDataDir = () => join(dataDir, 'odoo');

beforeAll(async () => {
  database = await createTestDatabase('restorecrash');
  dataDir = mkdtempSync(join(tmpdir(), 'saas-restore-crash-'));
  port = await freeTestPort();
});

afterEach(platform.stopAll);

afterAll(async () => {
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('a restore in place survives a crash of the platform', () => {
  let token: string;
  let name: string;
  let databaseName: string;

  beforeAll(async () => {
    await platform.startReady();
    const email = uniqueEmail('restore-crash');
    await http().post('/api/v1/auth/register', { email, password: GOOD_PASSWORD, name: 'Crash', organization: 'Crash Ltd' });
    token = (await http().post('/api/v1/auth/login', { email, password: GOOD_PASSWORD })).body.accessToken;
    await waitFor(
      'the blank template',
      async () => {
        const templates = await http().get('/api/v1/templates', { token });
        return templates.body.find((t: { code: string; available: boolean }) => t.code === 'blank')?.available ? true : undefined;
      },
      90_000,
    );
    name = `rscrash${Date.now().toString(36)}`;
    databaseName = `t_${name}`;
    const created = await http().post(
      '/api/v1/tenants',
      { name, plan: 'basic', template: 'blank', adminEmail: `admin@${name}.example.com`, adminPassword: ADMIN_PASSWORD },
      { token },
    );
    expect(created.status, created.text).toBe(202);
    await waitFor(
      `${name} to run`,
      async () => ((await http().get(`/api/v1/tenants/${name}`, { token })).body.state === 'running' ? true : undefined),
      90_000,
    );
    await platform.stopAll();
  }, 240_000);

  for (const point of ['restore:load', 'restore:swapping', 'restore:swap']) {
    it(`finishes a restore whose platform was killed at ${point}: the backup's data served, nothing left beside it`, async () => {
      const first = await platform.startReady({ SAAS_TEST_CRASH_AT: point });
      // Data of this round, backed up, then changed.
      await withConnection(tenantDatabaseUrl(databaseName), (client) =>
        client.query(`INSERT INTO res_partner (name) SELECT 'Before ${point} ' || i FROM generate_series(1, 30) AS i`),
      );
      const store = filestorePath(odooDataDir(), databaseName);
      mkdirSync(join(store, 'ab'), { recursive: true });
      writeFileSync(join(store, 'ab', `${point.replace(':', '_')}`), `file of ${point}`);
      const atBackup = await tenantData(odooDataDir(), databaseName);
      const accepted = await http().post(`/api/v1/tenants/${name}/backups`, {}, { token });
      const backupId = accepted.body.backup.id as string;
      await waitFor(
        `backup ${backupId}`,
        async () => {
          const state = (await http().get(`/api/v1/tenants/${name}/backups/${backupId}`, { token })).body.state;
          if (state === 'failed') throw new Error('backup failed');
          return state === 'verified' ? true : undefined;
        },
        60_000,
      );
      await withConnection(tenantDatabaseUrl(databaseName), (client) => client.query(`DELETE FROM res_partner WHERE name LIKE 'Before %'`));
      writeFileSync(join(store, 'ab', 'after'), 'written after the backup');

      const restore = await http().post(`/api/v1/tenants/${name}/backups/${backupId}/restore`, {}, { token });
      expect(restore.status, restore.text).toBe(202);
      const restoreId = restore.body.restore.id as string;
      expect((await exited(first)).signal).toBe('SIGKILL');
      const [killed] = await platform.query<{ state: string }>('SELECT state FROM restores WHERE id = $1', [restoreId]);
      expect(killed?.state).toBe('running');
      const [tenant] = await platform.query<{ state: string }>('SELECT state FROM tenants WHERE name = $1', [name]);
      expect(tenant?.state).toBe('restoring'); // the maintenance page, until the restore is finished

      await platform.startReady();
      const settled = await waitFor(
        `restore ${restoreId} to settle after the restart`,
        async () => {
          const view = (await http().get(`/api/v1/tenants/${name}/restores/${restoreId}`, { token })).body;
          return view.state === 'running' ? undefined : view;
        },
        90_000,
        250,
      );
      expect(settled.state, settled.failureReason).toBe('succeeded');
      await waitFor(
        `${name} to run`,
        async () => ((await http().get(`/api/v1/tenants/${name}`, { token })).body.state === 'running' ? true : undefined),
        60_000,
      );
      expect(await tenantData(odooDataDir(), databaseName)).toEqual(atBackup);
      expect(await databasesStartingWith(`${databaseName}_`)).toEqual([]);
      const uid = await waitFor(
        'the admin login through the gateway',
        async () =>
          (
            await odooLogin(port, `${name}.lvh.me:${port}`, databaseName, `admin@${name}.example.com`, ADMIN_PASSWORD).catch(
              () => undefined,
            )
          )?.body.result?.uid,
        60_000,
        250,
      );
      expect(uid).toBe(2);
    }, 240_000);
  }
});
