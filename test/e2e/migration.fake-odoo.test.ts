import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/index.js';
import { LocalPostgresServer, withConnection } from '../../src/postgres/index.js';
import { runCli } from '../helpers/cli.js';
import { odooLogin, waitFor } from '../helpers/gateway-client.js';
import {
  createOperator,
  GOOD_PASSWORD,
  registerCustomer,
  runningTenant,
  startTestPlatform,
  type TestPlatform,
} from '../helpers/platform.js';
import { postgresAdminUrl } from '../helpers/postgres.js';
import { tenantData } from '../helpers/tenant-data.js';

/**
 * Migration end to end against the fake Odoo and two real PostgreSQL servers: a tenant moved to
 * another server holds exactly the same data there (every table's row count, every filestore
 * file's sha256) and its admin logs in through the gateway; a move whose verification fails
 * rolls back to the source, leaving nothing on the target; plan changes move a tenant pool ->
 * dedicated process -> dedicated server and back, the admin logging in after each; a downgrade
 * the tenant's usage does not fit is refused with a 409 naming the limit.
 */
process.env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

let test: TestPlatform;
let operator: Awaited<ReturnType<typeof createOperator>>;
let customer: Awaited<ReturnType<typeof registerCustomer>>;
let second: LocalPostgresServer;
let secondDirectory: string;
let secondUrl: string;
let secondId: string;
let tight: LocalPostgresServer | undefined;
let tightDirectory: string | undefined;
let tightUrl: string;
let defaultId: string;
const ADMIN_PASSWORD = 'Odoo-Admin-Pass-1';
/** The one tenant whose verification this platform makes fail (SAAS_TEST_FAIL_AT). */
const ROLLBACK_TENANT = `rb${randomBytes(3).toString('hex')}`;
const odooDataDir = () => join(test.config.dataDir, 'odoo');

interface TenantViewBody {
  name: string;
  state: string;
  plan: string;
  processStrategy: string;
  databaseName: string;
  databaseServerId: string | null;
  stateReason: string | null;
}

async function tenantView(name: string): Promise<TenantViewBody> {
  return (await test.http.get(`/api/v1/tenants/${name}`, { token: operator.accessToken })).body as TenantViewBody;
}

function createRunningTenant(name: string, plan: string): Promise<TenantViewBody> {
  return runningTenant(test, operator.accessToken, { name, plan, accountId: customer.accountId, adminPassword: ADMIN_PASSWORD });
}

async function runningAgain(name: string): Promise<TenantViewBody> {
  return waitFor(
    `${name} to run`,
    async () => {
      const view = await tenantView(name);
      if (view.state === 'error') throw new Error(`${name} failed: ${view.stateReason}`);
      return view.state === 'running' ? view : undefined;
    },
    120_000,
    100,
  );
}

async function settledMigration(id: string) {
  return waitFor(
    `migration ${id} to settle`,
    async () => {
      const view = (await test.http.get(`/api/v1/migrations/${id}`, { token: operator.accessToken })).body;
      return view.state === 'running' ? undefined : view;
    },
    180_000,
    100,
  );
}

/** Row count of every table of `database` on the server at `adminUrl`. */
async function rowsOn(adminUrl: string, database: string): Promise<Record<string, number>> {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  return withConnection(url.toString(), async (client) => {
    const tables = await client.query<{ name: string }>(
      "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    );
    const counts: Record<string, number> = {};
    for (const { name } of tables.rows) {
      const result = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${name}`);
      counts[name] = Number(result.rows[0]?.n);
    }
    return counts;
  });
}

async function databasesOn(adminUrl: string, prefix: string): Promise<string[]> {
  return withConnection(adminUrl, async (client) => {
    const result = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1', [
      prefix,
    ]);
    return result.rows.map((row) => row.datname);
  });
}

async function adminLogsIn(name: string, databaseName: string) {
  const port = Number(new URL(test.url).port);
  return waitFor(`the admin of ${name} to log in through the gateway`, async () => {
    const answer = await odooLogin(port, `${name}.lvh.me`, databaseName, `admin@${name}.example.com`, ADMIN_PASSWORD).catch(
      () => undefined,
    );
    return answer?.body.result?.uid ? answer.body.result.uid : undefined;
  });
}

async function serverAdminUrl(serverId: string): Promise<string> {
  return serverId === secondId ? secondUrl : serverId === defaultId ? postgresAdminUrl() : '';
}

/** Adds rows the template does not have, so "the same data" means more than the template's. */
async function addPartners(adminUrl: string, database: string, count: number): Promise<void> {
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  await withConnection(url.toString(), (client) =>
    client.query(`INSERT INTO res_partner (name) SELECT 'Customer ' || i FROM generate_series(1, ${count}) AS i`),
  );
}

beforeAll(async () => {
  secondDirectory = mkdtempSync(join(tmpdir(), 'saas-test-pg2-'));
  chmodSync(secondDirectory, 0o755);
  second = new LocalPostgresServer({ directory: secondDirectory, logger: createLogger('warn'), unsafeFastMode: true, maxConnections: 200 });
  secondUrl = (await second.start()).url;
  test = await startTestPlatform({
    ODOO_BIN: resolve('test/fixtures/fake-odoo/odoo-bin'),
    TENANT_DATABASE_URL: postgresAdminUrl(),
    TEMPLATES_AUTOBUILD: 'blank',
    SPARE_DATABASES: '0',
    SAAS_TEST_FAIL_AT: `migration:verify:${ROLLBACK_TENANT}`,
  });
  operator = await createOperator(test);
  customer = await registerCustomer(test.http, 'migration-owner');
  await waitFor(
    'the blank template to be built',
    async () => {
      const templates = await test.http.get('/api/v1/templates', { token: operator.accessToken });
      const build = templates.body.find((t: { code: string }) => t.code === 'blank')?.builds[0];
      if (build?.status === 'failed') throw new Error(`template build failed: ${build.error}`);
      return build?.status === 'ready' ? build : undefined;
    },
    120_000,
    200,
  );
  const added = await test.http.post(
    '/api/v1/database-servers',
    { name: 'second', url: secondUrl, kind: 'shared', capacity: 20 },
    { token: operator.accessToken },
  );
  expect(added.status, added.text).toBe(201);
  secondId = added.body.id;
  const servers = (await test.http.get('/api/v1/database-servers', { token: operator.accessToken })).body as Array<{
    id: string;
    isDefault: boolean;
  }>;
  defaultId = servers.find((s) => s.isDefault)?.id ?? '';
}, 240_000);

afterAll(async () => {
  await test?.stop();
  await second?.stop();
  await tight?.stop();
  if (secondDirectory) rmSync(secondDirectory, { recursive: true, force: true });
  if (tightDirectory) rmSync(tightDirectory, { recursive: true, force: true });
});

describe('migration between two PostgreSQL servers', () => {
  it('moves a tenant with identical data, keeps the source for the grace period, then drops it', async () => {
    const name = `mv${randomBytes(3).toString('hex')}`;
    const tenant = await createRunningTenant(name, 'basic');
    expect(tenant.databaseServerId).toBe(defaultId);
    await addPartners(postgresAdminUrl(), tenant.databaseName, 25);
    const before = await tenantData(odooDataDir(), tenant.databaseName);
    expect(Object.keys(before.files).length).toBeGreaterThan(0);

    // A dry run says what would happen and changes nothing.
    const dry = await test.http.post(
      `/api/v1/tenants/${name}/migrate`,
      { toServerId: secondId, dryRun: true },
      { token: operator.accessToken },
    );
    expect(dry.status, dry.text).toBe(200);
    expect(dry.body.migration).toBeNull();
    expect(dry.body.plan).toMatchObject({ tenant: name, movesDatabase: true, changesProcess: false, changesPlan: false });
    expect(dry.body.plan.estimatedDowntimeMs).toBeGreaterThan(0);
    expect(dry.body.plan.databaseBytes).toBeGreaterThan(0);
    expect((await tenantView(name)).state).toBe('running');

    const accepted = await test.http.post(`/api/v1/tenants/${name}/migrate`, { toServerId: secondId }, { token: operator.accessToken });
    expect(accepted.status, accepted.text).toBe(202);
    expect(accepted.body.migration.state).toBe('running');
    const migration = await settledMigration(accepted.body.migration.id);
    expect(migration.state, migration.failureReason).toBe('succeeded');
    expect(migration.step).toBe('finish');
    expect(migration.downtimeMs).toBeGreaterThan(0);
    expect(migration.downtimeMs).toBeLessThan(120_000);
    expect(migration.backupId).toBeTruthy();

    const after = await runningAgain(name);
    expect(after.databaseServerId).toBe(secondId);
    // The same data on the new server: every table's row count, every filestore file.
    expect(await rowsOn(secondUrl, tenant.databaseName)).toEqual(before.rows);
    expect((await tenantData(odooDataDir(), tenant.databaseName)).files).toEqual(before.files);
    // Odoo serves it from the new server, the admin's own password working (the check's one-time one is gone).
    expect(await adminLogsIn(name, tenant.databaseName)).toBe(2);
    const served = await withConnection(secondUrl, (client) =>
      client.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [tenant.databaseName]),
    );
    expect(served.rows[0].n).toBeGreaterThan(0);
    // No side copy left on the target; the source is kept for the grace period.
    expect(await databasesOn(secondUrl, tenant.databaseName)).toEqual([tenant.databaseName]);
    expect(await databasesOn(postgresAdminUrl(), tenant.databaseName)).toEqual([tenant.databaseName]);
    const events = (await test.http.get(`/api/v1/tenants/${name}/events`, { token: operator.accessToken })).body as Array<{
      fromState: string | null;
      toState: string | null;
      message: string | null;
    }>;
    expect(events.some((e) => e.fromState === 'running' && e.toState === 'migrating')).toBe(true);
    expect(events.some((e) => e.message?.includes('the maintenance page was shown for'))).toBe(true);
    const listed = (await test.http.get(`/api/v1/migrations?tenant=${name}`, { token: operator.accessToken })).body as Array<{
      id: string;
    }>;
    expect(listed.map((m) => m.id)).toEqual([migration.id]);

    // The grace period is over: the source goes, the tenant keeps serving from the target.
    expect(await test.platform.migrations.dropDueSources(new Date(Date.now() + 23 * 3_600_000))).toBe(0);
    expect(await test.platform.migrations.dropDueSources(new Date(Date.now() + 25 * 3_600_000))).toBe(1);
    expect(await databasesOn(postgresAdminUrl(), tenant.databaseName)).toEqual([]);
    expect(await rowsOn(secondUrl, tenant.databaseName)).toEqual(before.rows);
    expect(await adminLogsIn(name, tenant.databaseName)).toBe(2);
  }, 300_000);

  it('rolls back to the source when the admin cannot log in on the target, leaving nothing there', async () => {
    const tenant = await createRunningTenant(ROLLBACK_TENANT, 'basic');
    await addPartners(postgresAdminUrl(), tenant.databaseName, 7);
    const before = await tenantData(odooDataDir(), tenant.databaseName);

    const accepted = await test.http.post(
      `/api/v1/tenants/${ROLLBACK_TENANT}/migrate`,
      { toServerId: secondId },
      { token: operator.accessToken },
    );
    expect(accepted.status, accepted.text).toBe(202);
    const migration = await settledMigration(accepted.body.migration.id);
    expect(migration.state).toBe('rolled_back');
    expect(migration.failureReason).toMatch(/admin could not log in on the target/);
    expect(migration.downtimeMs).toBeGreaterThan(0);

    const after = await runningAgain(ROLLBACK_TENANT);
    expect(after.databaseServerId).toBe(defaultId);
    expect(await databasesOn(secondUrl, tenant.databaseName)).toEqual([]);
    expect(await rowsOn(postgresAdminUrl(), tenant.databaseName)).toEqual(before.rows);
    expect((await tenantData(odooDataDir(), tenant.databaseName)).files).toEqual(before.files);
    expect(await adminLogsIn(ROLLBACK_TENANT, tenant.databaseName)).toBe(2);
    const events = (await test.http.get(`/api/v1/tenants/${ROLLBACK_TENANT}/events`, { token: operator.accessToken })).body as Array<{
      message: string | null;
    }>;
    expect(events.some((e) => e.message?.includes('was rolled back'))).toBe(true);
  }, 300_000);

  it('refuses bad requests with a 4xx naming the field', async () => {
    const name = `bad${randomBytes(3).toString('hex')}`;
    await createRunningTenant(name, 'basic');
    const unknown = await test.http.post(
      `/api/v1/tenants/${name}/migrate`,
      { toServerId: '00000000-0000-4000-8000-000000000000' },
      { token: operator.accessToken },
    );
    expect(unknown.status).toBe(404);
    const same = await test.http.post(`/api/v1/tenants/${name}/migrate`, { toServerId: defaultId }, { token: operator.accessToken });
    expect(same.status).toBe(409);
    expect(same.text).toMatch(/already there/);
    const nothing = await test.http.post(`/api/v1/tenants/${name}/migrate`, {}, { token: operator.accessToken });
    expect(nothing.status).toBe(400);
    const noPlan = await test.http.post(`/api/v1/tenants/${name}/change-plan`, { plan: 'gold-plated' }, { token: operator.accessToken });
    expect(noPlan.status).toBe(400);
    expect(noPlan.text).toMatch(/plan/);
    expect((await tenantView(name)).state).toBe('running');
    // One migration of a tenant at a time: a second request while the first is queued or running is a 409.
    const first = await test.http.post(`/api/v1/tenants/${name}/migrate`, { toServerId: secondId }, { token: operator.accessToken });
    expect(first.status, first.text).toBe(202);
    const twice = await test.http.post(`/api/v1/tenants/${name}/migrate`, { toServerId: secondId }, { token: operator.accessToken });
    expect(twice.status, twice.text).toBe(409);
    expect((await settledMigration(first.body.migration.id)).state).toBe('succeeded');
    expect((await test.http.get(`/api/v1/migrations?tenant=${name}`, { token: operator.accessToken })).body).toHaveLength(1);
  }, 180_000);
});

describe('saasctl migrate and tenant change-plan', () => {
  it('dry-runs, moves and lists from the CLI, and changes a plan, each following the migration to its end', async () => {
    const name = `cli${randomBytes(3).toString('hex')}`;
    const tenant = await createRunningTenant(name, 'basic');
    const dir = mkdtempSync(join(tmpdir(), 'saasctl-'));
    const env = { SAASCTL_CONFIG: join(dir, 'credentials.json') };
    try {
      const login = await runCli(['--url', test.url, 'login', '--email', operator.email, '--password-stdin'], {
        env,
        input: GOOD_PASSWORD,
      });
      expect(login.code, login.stderr).toBe(0);
      const dry = await runCli(['migrate', 'tenant', name, '--to-server', secondId, '--dry-run'], { env });
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toMatch(new RegExp(`${name}: estimated downtime \\d+\\.\\d s`));
      expect(dry.stdout).toMatch(/load the backup on/);
      expect((await tenantView(name)).databaseServerId).toBe(defaultId);

      const moved = await runCli(['migrate', 'tenant', name, '--to-server', secondId, '--json'], { env, timeoutMs: 180_000 });
      expect(moved.code, moved.stderr).toBe(0);
      const [final] = JSON.parse(moved.stdout) as Array<{ state: string; downtimeMs: number }>;
      expect(final?.state).toBe('succeeded');
      expect(final?.downtimeMs).toBeGreaterThan(0);
      expect((await runningAgain(name)).databaseServerId).toBe(secondId);

      const listed = await runCli(['migrate', 'list', '--tenant', name, '--json'], { env });
      expect(JSON.parse(listed.stdout).map((m: { state: string }) => m.state)).toEqual(['succeeded']);

      const changed = await runCli(['tenant', 'change-plan', name, 'standard'], { env, timeoutMs: 180_000 });
      expect(changed.code, changed.stderr).toBe(0);
      expect(changed.stdout).toMatch(new RegExp(`${name} moved \\(maintenance page for \\d+\\.\\d s\\)`));
      expect(await runningAgain(name)).toMatchObject({ plan: 'standard', processStrategy: 'dedicated', databaseServerId: secondId });
      expect(await adminLogsIn(name, tenant.databaseName)).toBe(2);

      const refused = await runCli(['tenant', 'change-plan', name, 'standard'], { env });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/already on plan standard/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 400_000);

  it('drains a server with saasctl migrate server: the dry run lists its tenants, the drain moves each and says so', async () => {
    const name = `cld${randomBytes(3).toString('hex')}`;
    const tenant = await createRunningTenant(name, 'basic');
    const accepted = await test.http.post(`/api/v1/tenants/${name}/migrate`, { toServerId: secondId }, { token: operator.accessToken });
    expect(accepted.status, accepted.text).toBe(202);
    expect((await settledMigration(accepted.body.migration.id)).state).toBe('succeeded');
    const onSecond = async () =>
      (
        (await test.http.get('/api/v1/tenants?limit=200', { token: operator.accessToken })).body as Array<{
          name: string;
          databaseServerId: string | null;
          state: string;
        }>
      )
        .filter((t) => t.databaseServerId === secondId && t.state !== 'deleted')
        .map((t) => t.name)
        .sort();
    const before = await onSecond();
    expect(before).toContain(name);
    const dir = mkdtempSync(join(tmpdir(), 'saasctl-'));
    const env = { SAASCTL_CONFIG: join(dir, 'credentials.json') };
    try {
      const login = await runCli(['--url', test.url, 'login', '--email', operator.email, '--password-stdin'], {
        env,
        input: GOOD_PASSWORD,
      });
      expect(login.code, login.stderr).toBe(0);

      const dry = await runCli(['migrate', 'server', secondId, '--dry-run'], { env });
      expect(dry.code, dry.stderr).toBe(0);
      for (const listed of before) expect(dry.stdout).toMatch(new RegExp(`^${listed}: estimated downtime \\d+\\.\\d s`, 'm'));
      expect(await onSecond()).toEqual(before);
      const unchanged = (await test.http.get(`/api/v1/database-servers/${secondId}`, { token: operator.accessToken })).body;
      expect(unchanged.status).toBe('active');

      const drained = await runCli(['migrate', 'server', secondId], { env, timeoutMs: 300_000 });
      expect(drained.code, drained.stderr).toBe(0);
      for (const moved of before)
        expect(drained.stdout).toMatch(new RegExp(`^${moved} moved \\(maintenance page for \\d+\\.\\d s\\)`, 'm'));
      expect(await onSecond()).toEqual([]);
      expect((await runningAgain(name)).databaseServerId).toBe(defaultId);
      expect(await adminLogsIn(name, tenant.databaseName)).toBe(2);

      const empty = await runCli(['migrate', 'server', secondId], { env });
      expect(empty.code, empty.stderr).toBe(0);
      expect(empty.stdout).toBe('No tenant to move on this server.\n');
      const unknown = await runCli(['migrate', 'server', '00000000-0000-4000-8000-000000000000'], { env });
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/not found/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      const reopened = await test.http.request(
        'PATCH',
        `/api/v1/database-servers/${secondId}`,
        { status: 'active' },
        { token: operator.accessToken },
      );
      expect(reopened.status, reopened.text).toBe(200);
    }
  }, 400_000);
});

describe('live plan changes', () => {
  it('moves pool -> dedicated process -> dedicated server and back, the admin logging in after each', async () => {
    const name = `pc${randomBytes(3).toString('hex')}`;
    const tenant = await createRunningTenant(name, 'basic');
    const before = await tenantData(odooDataDir(), tenant.databaseName);
    const firstServerId = (await tenantView(name)).databaseServerId;
    const steps: Array<{ plan: string; processStrategy: string; dedicatedServer: boolean }> = [
      { plan: 'standard', processStrategy: 'dedicated', dedicatedServer: false },
      { plan: 'premium', processStrategy: 'dedicated', dedicatedServer: true },
      { plan: 'standard', processStrategy: 'dedicated', dedicatedServer: false },
      { plan: 'basic', processStrategy: 'pool', dedicatedServer: false },
    ];
    for (const step of steps) {
      const dry = await test.http.post(
        `/api/v1/tenants/${name}/change-plan`,
        { plan: step.plan, dryRun: true },
        { token: operator.accessToken },
      );
      expect(dry.status, dry.text).toBe(200);
      expect(dry.body.plan.actions.length).toBeGreaterThan(0);
      const accepted = await test.http.post(`/api/v1/tenants/${name}/change-plan`, { plan: step.plan }, { token: operator.accessToken });
      expect(accepted.status, accepted.text).toBe(202);
      const migration = await settledMigration(accepted.body.migration.id);
      expect(migration.state, `${step.plan}: ${migration.failureReason}`).toBe('succeeded');
      expect(migration.trigger).toBe('plan_change');
      const view = await runningAgain(name);
      expect(view).toMatchObject({ plan: step.plan, processStrategy: step.processStrategy });
      const servers = (await test.http.get('/api/v1/database-servers', { token: operator.accessToken })).body as Array<{
        id: string;
        kind: string;
      }>;
      expect(servers.find((s) => s.id === view.databaseServerId)?.kind).toBe(step.dedicatedServer ? 'dedicated' : 'shared');
      // Back on a server where an earlier move kept its source (premium -> standard): that copy
      // went before the maintenance page went up, not inside the downtime.
      const { db } = test.platform.database;
      const row = await db.selectFrom('migrations').selectAll().where('id', '=', migration.id).executeTakeFirstOrThrow();
      const keptHere = await db
        .selectFrom('migrations')
        .select(['source_dropped_at'])
        .where('tenant_id', '=', row.tenant_id)
        .where('id', '<>', row.id)
        .where('source_server_id', '=', view.databaseServerId ?? '')
        .where('source_drop_after', 'is not', null)
        .execute();
      // (another shared server with more room may take it instead: then nothing was kept there)
      if (view.databaseServerId === firstServerId && steps.indexOf(step) === 2) expect(keptHere).toHaveLength(1);
      for (const kept of keptHere)
        expect(kept.source_dropped_at?.getTime()).toBeLessThanOrEqual(row.maintenance_started_at?.getTime() ?? 0);
      expect(await adminLogsIn(name, tenant.databaseName)).toBe(2);
      const adminUrl = await serverAdminUrl(view.databaseServerId ?? '');
      if (adminUrl) expect(await rowsOn(adminUrl, tenant.databaseName)).toEqual(before.rows);
    }
    // The dedicated server it left is removed once its grace period is over.
    await test.platform.migrations.dropDueSources(new Date(Date.now() + 25 * 3_600_000));
    const servers = (await test.http.get('/api/v1/database-servers', { token: operator.accessToken })).body as Array<{ kind: string }>;
    expect(servers.filter((s) => s.kind === 'dedicated')).toEqual([]);
    expect(await adminLogsIn(name, tenant.databaseName)).toBe(2);
  }, 600_000);

  it('refuses a downgrade the tenant does not fit, naming the limit and by how much', async () => {
    const name = `dg${randomBytes(3).toString('hex')}`;
    const tenant = await createRunningTenant(name, 'standard');
    const url = new URL(postgresAdminUrl());
    url.pathname = `/${tenant.databaseName}`;
    await withConnection(url.toString(), (client) =>
      client.query(
        `INSERT INTO res_users (login, active, partner_id, company_id, share)
         SELECT 'user' || i || '@example.com', true, 1, 1, false FROM generate_series(1, 5) AS i`,
      ),
    );
    const refused = await test.http.post(`/api/v1/tenants/${name}/change-plan`, { plan: 'basic' }, { token: operator.accessToken });
    expect(refused.status, refused.text).toBe(409);
    expect(refused.text).toMatch(/6 active Odoo users, plan basic allows 3: archive 3 user\(s\) first/);
    const view = await tenantView(name);
    expect(view).toMatchObject({ state: 'running', plan: 'standard' });
  }, 180_000);
});

describe('the connection budget of a migration target', () => {
  it('refuses a move to a server whose max_connections has no room, naming the server and the budget, before anything is made', async () => {
    // A pool tenant's pool may hold 5 processes x 16 connections, plus 20 reserved: 100 > 60.
    // One dedicated (threaded) process holds 16: 36 fits.
    tightDirectory = mkdtempSync(join(tmpdir(), 'saas-test-pg3-'));
    chmodSync(tightDirectory, 0o755);
    tight = new LocalPostgresServer({ directory: tightDirectory, logger: createLogger('warn'), unsafeFastMode: true, maxConnections: 60 });
    tightUrl = (await tight.start()).url;
    const added = await test.http.post(
      '/api/v1/database-servers',
      { name: 'tight', url: tightUrl, kind: 'shared', capacity: 20 },
      { token: operator.accessToken },
    );
    expect(added.status, added.text).toBe(201);
    const tightId = added.body.id as string;
    const name = `cb${randomBytes(3).toString('hex')}`;
    const tenant = await createRunningTenant(name, 'basic');

    for (const dryRun of [true, false]) {
      const refused = await test.http.post(
        `/api/v1/tenants/${name}/migrate`,
        { toServerId: tightId, dryRun },
        { token: operator.accessToken },
      );
      expect(refused.status, refused.text).toBe(409);
      expect(refused.body.field).toBe('toServerId');
      expect(refused.body.detail).toMatch(
        new RegExp(`Database server tight has no connections left for ${name} \\(pool Odoo processes\\)`),
      );
      expect(refused.body.detail).toMatch(
        /max_connections \(60\) is below what its Odoo processes may hold with one more pool tenant: 100/,
      );
      expect(refused.body.detail).toMatch(/raise that server's max_connections/);
    }
    // Nothing was made: no migration, no database or role on the target, the tenant still serving where it was.
    expect((await test.http.get(`/api/v1/migrations?tenant=${name}`, { token: operator.accessToken })).body).toEqual([]);
    expect(await databasesOn(tightUrl, tenant.databaseName)).toEqual([]);
    const roles = await withConnection(tightUrl, (client) => client.query('SELECT 1 FROM pg_roles WHERE starts_with(rolname, $1)', ['r_']));
    expect(roles.rowCount).toBe(0);
    expect(await tenantView(name)).toMatchObject({ state: 'running', databaseServerId: defaultId });

    // The same server takes the tenant as one dedicated process: the budget counts processes, not tenants.
    const fits = await test.http.post(
      `/api/v1/tenants/${name}/migrate`,
      { toServerId: tightId, processStrategy: 'dedicated', dryRun: true },
      { token: operator.accessToken },
    );
    expect(fits.status, fits.text).toBe(200);
    expect(fits.body.plan).toMatchObject({ movesDatabase: true, changesProcess: true });
    // "tight" stays registered and active, with the fewest tenants: the drain below must pass it over for its budget.
  }, 180_000);
});

describe('draining a database server', () => {
  it('dry-runs, then moves every tenant off the server to the other shared server with connections left, each serving after', async () => {
    const names = [`dr${randomBytes(3).toString('hex')}`, `dr${randomBytes(3).toString('hex')}`];
    for (const name of names) {
      await createRunningTenant(name, 'basic');
      const accepted = await test.http.post(`/api/v1/tenants/${name}/migrate`, { toServerId: secondId }, { token: operator.accessToken });
      expect(accepted.status, accepted.text).toBe(202);
      expect((await settledMigration(accepted.body.migration.id)).state).toBe('succeeded');
    }
    const onSecond = async () =>
      (
        (await test.http.get('/api/v1/tenants?limit=200', { token: operator.accessToken })).body as Array<{
          name: string;
          databaseServerId: string | null;
          state: string;
        }>
      ).filter((t) => t.databaseServerId === secondId && t.state !== 'deleted');
    const before = (await onSecond()).map((t) => t.name).sort();
    expect(before).toEqual(expect.arrayContaining(names));

    const dry = await test.http.post(`/api/v1/database-servers/${secondId}/drain`, { dryRun: true }, { token: operator.accessToken });
    expect(dry.status, dry.text).toBe(200);
    expect(dry.body.map((r: { plan: { tenant: string } }) => r.plan.tenant).sort()).toEqual(before);
    expect(dry.body.every((r: { migration: unknown }) => r.migration === null)).toBe(true);
    expect((await onSecond()).map((t) => t.name).sort()).toEqual(before);

    const drained = await test.http.post(`/api/v1/database-servers/${secondId}/drain`, {}, { token: operator.accessToken });
    expect(drained.status, drained.text).toBe(202);
    const server = (await test.http.get(`/api/v1/database-servers/${secondId}`, { token: operator.accessToken })).body;
    expect(server.status).toBe('draining');
    for (const { migration } of drained.body as Array<{ migration: { id: string; trigger: string } }>) {
      expect(migration.trigger).toBe('drain');
      const settled = await settledMigration(migration.id);
      expect(settled.state, settled.failureReason).toBe('succeeded');
    }
    expect(await onSecond()).toEqual([]);
    for (const name of names) {
      const view = await runningAgain(name);
      expect(view.databaseServerId).toBe(defaultId);
      expect(await adminLogsIn(name, view.databaseName)).toBe(2);
    }
    const reopened = await test.http.request(
      'PATCH',
      `/api/v1/database-servers/${secondId}`,
      { status: 'active' },
      { token: operator.accessToken },
    );
    expect(reopened.status, reopened.text).toBe(200);
  }, 400_000);
});
