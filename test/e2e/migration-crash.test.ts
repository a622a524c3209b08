import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/index.js';
import { LocalPostgresServer, withConnection } from '../../src/postgres/index.js';
import { exited } from '../helpers/cli.js';
import { odooLogin, waitFor } from '../helpers/gateway-client.js';
import { GOOD_PASSWORD, uniqueEmail } from '../helpers/platform.js';
import { freeTestPort } from '../helpers/ports.js';
import { createTestDatabase, postgresAdminUrl, type TestDatabase } from '../helpers/postgres.js';
import { servedPlatform } from '../helpers/served-platform.js';
import { tenantData } from '../helpers/tenant-data.js';

/**
 * Crash safety of a migration: the platform runs as a real child process and is killed (SIGKILL,
 * through the test-only SAAS_TEST_CRASH_AT hook) after the backup was loaded on the target, just
 * before the switch, right after it, and while the verification's one-time admin password is in
 * place (the admin's own password must work afterwards). A new platform process on the same data must end the
 * migration consistently: the tenant on exactly one server holding the data it had, served, its
 * admin logging in, and no side copy left on either server.
 */
let database: TestDatabase;
let dataDir: string;
let port: number;
let second: LocalPostgresServer;
let secondDirectory: string;
let secondUrl: string;
const platform = servedPlatform(() => ({ databaseUrl: database.url, dataDir, port, env: { SPARE_DATABASES: '0' } }));
const http = platform.http;
const ADMIN_PASSWORD = 'Odoo-Admin-Pass-1';
const odooDataDir = () => join(dataDir, 'odoo');

function databaseUrlOn(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function databasesOn(adminUrl: string, prefix: string): Promise<string[]> {
  return withConnection(adminUrl, async (client) => {
    const result = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1', [
      prefix,
    ]);
    return result.rows.map((row) => row.datname);
  });
}

async function rowsOn(adminUrl: string, name: string): Promise<Record<string, number>> {
  return withConnection(databaseUrlOn(adminUrl, name), async (client) => {
    const tables = await client.query<{ name: string }>(
      "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    );
    const counts: Record<string, number> = {};
    for (const { name: table } of tables.rows) {
      counts[table] = Number((await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${table}`)).rows[0]?.n);
    }
    return counts;
  });
}

beforeAll(async () => {
  database = await createTestDatabase('migrationcrash');
  dataDir = mkdtempSync(join(tmpdir(), 'saas-migration-crash-'));
  chmodSync(dataDir, 0o755);
  port = await freeTestPort();
  secondDirectory = mkdtempSync(join(tmpdir(), 'saas-test-pg2-'));
  chmodSync(secondDirectory, 0o755);
  second = new LocalPostgresServer({ directory: secondDirectory, logger: createLogger('warn'), unsafeFastMode: true, maxConnections: 200 });
  secondUrl = (await second.start()).url;
});

afterEach(platform.stopAll);

afterAll(async () => {
  await database?.drop();
  await second?.stop();
  if (secondDirectory) rmSync(secondDirectory, { recursive: true, force: true });
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('a migration survives a crash of the platform', () => {
  let token: string;
  let name: string;
  let databaseName: string;
  const servers: Record<string, { id: string; url: string }> = {};

  beforeAll(async () => {
    await platform.startReady();
    const email = uniqueEmail('migration-crash');
    await http().post('/api/v1/auth/register', { email, password: GOOD_PASSWORD, name: 'Crash', organization: 'Crash Ltd' });
    let login = await http().post('/api/v1/auth/login', { email, password: GOOD_PASSWORD });
    token = login.body.accessToken;
    await waitFor(
      'the blank template',
      async () => {
        const templates = await http().get('/api/v1/templates', { token });
        return templates.body.find((t: { code: string; available: boolean }) => t.code === 'blank')?.available ? true : undefined;
      },
      90_000,
    );
    name = `mgcrash${Date.now().toString(36)}`;
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
    // Moving tenants is an operator's decision: this user becomes one.
    await platform.query('UPDATE users SET role = $1 WHERE email = $2', ['operator', email]);
    login = await http().post('/api/v1/auth/login', { email, password: GOOD_PASSWORD });
    token = login.body.accessToken;
    const added = await http().post(
      '/api/v1/database-servers',
      { name: 'second', url: secondUrl, kind: 'shared', capacity: 20 },
      { token },
    );
    expect(added.status, added.text).toBe(201);
    const list = (await http().get('/api/v1/database-servers', { token })).body as Array<{ id: string; isDefault: boolean }>;
    servers.default = { id: list.find((s) => s.isDefault)?.id ?? '', url: postgresAdminUrl() };
    servers.second = { id: added.body.id, url: secondUrl };
    await platform.stopAll();
  }, 240_000);

  const rounds: Array<{ point: string; from: 'default' | 'second'; to: 'default' | 'second' }> = [
    { point: 'migration:load', from: 'default', to: 'second' },
    { point: 'migration:switching', from: 'second', to: 'default' },
    { point: 'migration:switch', from: 'default', to: 'second' },
    { point: 'migration:verifying', from: 'second', to: 'default' },
    // Before the maintenance page: the empty side database and the one-time hash are made, the tenant still serves.
    { point: 'migration:target', from: 'default', to: 'second' },
  ];
  for (const { point, from, to } of rounds) {
    it(`ends a migration ${from} -> ${to} whose platform was killed at ${point}: one whole copy, served`, async () => {
      const source = servers[from];
      const target = servers[to];
      if (!source || !target) throw new Error('servers not registered');
      const first = await platform.startReady({ SAAS_TEST_CRASH_AT: point });
      await withConnection(databaseUrlOn(source.url, databaseName), (client) =>
        client.query(`INSERT INTO res_partner (name) SELECT 'Before ${point} ' || i FROM generate_series(1, 20) AS i`),
      );
      const before = { rows: await rowsOn(source.url, databaseName), files: (await tenantData(odooDataDir(), databaseName)).files };

      const accepted = await http().post(`/api/v1/tenants/${name}/migrate`, { toServerId: target.id }, { token });
      expect(accepted.status, accepted.text).toBe(202);
      const migrationId = accepted.body.migration.id as string;
      expect((await exited(first)).signal).toBe('SIGKILL');
      const [killed] = await platform.query<{ state: string }>('SELECT state FROM migrations WHERE id = $1', [migrationId]);
      expect(killed?.state).toBe('running');
      const [tenant] = await platform.query<{ state: string }>('SELECT state FROM tenants WHERE name = $1', [name]);
      // The maintenance page until the migration ends; killed before it, the tenant still serves.
      expect(tenant?.state).toBe(point === 'migration:target' ? 'running' : 'migrating');

      await platform.startReady();
      const settled = await waitFor(
        `migration ${migrationId} to settle after the restart`,
        async () => {
          const view = (await http().get(`/api/v1/migrations/${migrationId}`, { token })).body;
          return view.state === 'running' ? undefined : view;
        },
        120_000,
        250,
      );
      expect(settled.state, settled.failureReason).toBe('succeeded');
      const view = await waitFor(
        `${name} to run`,
        async () => {
          const body = (await http().get(`/api/v1/tenants/${name}`, { token })).body;
          return body.state === 'running' ? body : undefined;
        },
        60_000,
      );
      expect(view.databaseServerId).toBe(target.id);
      expect(await rowsOn(target.url, databaseName)).toEqual(before.rows);
      expect((await tenantData(odooDataDir(), databaseName)).files).toEqual(before.files);
      // One copy under the tenant's name on the target, no side copy on either server.
      expect(await databasesOn(target.url, databaseName)).toEqual([databaseName]);
      expect((await databasesOn(source.url, databaseName)).filter((n) => n !== databaseName)).toEqual([]);
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
    }, 300_000);
  }
});
