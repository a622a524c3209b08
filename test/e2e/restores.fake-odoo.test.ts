import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filestorePath } from '../../src/odoo/index.js';
import { withConnection } from '../../src/postgres/index.js';
import { runCli } from '../helpers/cli.js';
import { odooLogin, waitFor } from '../helpers/gateway-client.js';
import { makeOdooBackupZip, makeOtherZip, odooManifest } from '../helpers/odoo-zip.js';
import { createOperator, GOOD_PASSWORD, registerCustomer, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { postgresAdminUrl } from '../helpers/postgres.js';
import { databasesStartingWith, tenantData, tenantDatabaseUrl } from '../helpers/tenant-data.js';

/**
 * Restores end to end against the fake Odoo and real PostgreSQL: a backup restored over its
 * tenant gives back exactly the data that was backed up (every table's row count, every
 * filestore file's sha256), through the maintenance state, after a backup of the data it
 * replaces; customers restore only their own tenants' backups.
 */
process.env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

let test: TestPlatform;
let operator: Awaited<ReturnType<typeof createOperator>>;
let customer: Awaited<ReturnType<typeof registerCustomer>>;
let stranger: Awaited<ReturnType<typeof registerCustomer>>;
const ADMIN_PASSWORD = 'Odoo-Admin-Pass-1';
const NEW_PASSWORD = 'Chosen-For-The-Copy-7';
/** The platform's own upload limit in this suite (the default is 20 GiB). */
const IMPORT_LIMIT = 4 * 1024 * 1024;
const odooDataDir = () => join(test.config.dataDir, 'odoo');

async function tenantView(name: string) {
  return (await test.http.get(`/api/v1/tenants/${name}`, { token: operator.accessToken })).body as {
    name: string;
    state: string;
    databaseName: string;
    stateReason: string | null;
  };
}

async function createRunningTenant(label: string, plan: string, accountId: string) {
  const name = `${label}${Date.now().toString(36)}`;
  const created = await test.http.post(
    '/api/v1/tenants',
    { name, plan, template: 'blank', adminEmail: `admin@${name}.example.com`, adminPassword: ADMIN_PASSWORD, accountId },
    { token: operator.accessToken },
  );
  expect(created.status, created.text).toBe(202);
  return waitFor(
    `${name} to run`,
    async () => {
      const view = await tenantView(name);
      if (view.state === 'error') throw new Error(`${name} failed: ${view.stateReason}`);
      return view.state === 'running' ? { name, databaseName: view.databaseName } : undefined;
    },
    120_000,
    200,
  );
}

async function verifiedBackup(name: string, token = operator.accessToken) {
  const accepted = await test.http.post(`/api/v1/tenants/${name}/backups`, {}, { token });
  expect(accepted.status, accepted.text).toBe(202);
  const id = accepted.body.backup.id as string;
  const backup = await waitFor(
    `backup ${id} to settle`,
    async () => {
      const view = (await test.http.get(`/api/v1/tenants/${name}/backups/${id}`, { token })).body;
      return view.state === 'running' ? undefined : view;
    },
    120_000,
    100,
  );
  expect(backup.state, backup.failureReason).toBe('verified');
  return backup as { id: string; recordCounts?: unknown };
}

async function settledRestore(name: string, id: string, token = operator.accessToken) {
  return waitFor(
    `restore ${id} to settle`,
    async () => {
      const view = (await test.http.get(`/api/v1/tenants/${name}/restores/${id}`, { token })).body;
      return view.state === 'running' ? undefined : view;
    },
    120_000,
    100,
  );
}

async function runningAgain(name: string) {
  return waitFor(
    `${name} to run again`,
    async () => {
      const view = await tenantView(name);
      if (view.state === 'error') throw new Error(`${name} failed: ${view.stateReason}`);
      return view.state === 'running' ? view : undefined;
    },
    60_000,
    100,
  );
}

/** Changes a tenant's data after its backup: rows added, a file changed, a file removed, a file added. */
async function changeData(databaseName: string): Promise<void> {
  await withConnection(tenantDatabaseUrl(databaseName), (client) =>
    client.query(`INSERT INTO res_partner (name) SELECT 'After backup ' || i FROM generate_series(1, 40) AS i`),
  );
  const store = filestorePath(odooDataDir(), databaseName);
  await writeFile(join(store, 'aa', 'aa01'), 'changed after the backup');
  await rm(join(store, 'bb', 'bb01'));
  await mkdir(join(store, 'cc'), { recursive: true });
  await writeFile(join(store, 'cc', 'cc01'), 'added after the backup');
}

beforeAll(async () => {
  test = await startTestPlatform({
    ODOO_BIN: resolve('test/fixtures/fake-odoo/odoo-bin'),
    TENANT_DATABASE_URL: postgresAdminUrl(),
    TEMPLATES_AUTOBUILD: 'blank',
    SPARE_DATABASES: '0',
    BACKUP_IMPORT_MAX_BYTES: String(IMPORT_LIMIT),
  });
  operator = await createOperator(test);
  customer = await registerCustomer(test.http, 'restore-owner');
  stranger = await registerCustomer(test.http, 'restore-stranger');
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
}, 180_000);

afterAll(async () => {
  await test?.stop();
});

/** A tenant with partners and attachment files of its own. */
async function tenantWithData(label: string, plan: string) {
  const tenant = await createRunningTenant(label, plan, customer.accountId);
  await withConnection(tenantDatabaseUrl(tenant.databaseName), (client) =>
    client.query(`INSERT INTO res_partner (name) SELECT 'Partner ' || i FROM generate_series(1, 120) AS i`),
  );
  const store = filestorePath(odooDataDir(), tenant.databaseName);
  await mkdir(join(store, 'aa'), { recursive: true });
  await mkdir(join(store, 'bb'), { recursive: true });
  await writeFile(join(store, 'aa', 'aa01'), randomBytes(200_000));
  await writeFile(join(store, 'bb', 'bb01'), randomBytes(3_000));
  return tenant;
}

describe('restore in place', () => {
  for (const [label, plan] of [
    ['pool', 'basic'],
    ['dedicated process', 'standard'],
  ] as const) {
    it(`gives a ${label} tenant back exactly the data of its backup, after backing up what it replaces`, async () => {
      const tenant = await tenantWithData(label === 'pool' ? 'rspool' : 'rsproc', plan);
      const atBackup = await tenantData(odooDataDir(), tenant.databaseName);
      const backup = await verifiedBackup(tenant.name, customer.accessToken);
      await changeData(tenant.databaseName);
      const changed = await tenantData(odooDataDir(), tenant.databaseName);
      expect(changed).not.toEqual(atBackup);

      const accepted = await test.http.post(
        `/api/v1/tenants/${tenant.name}/backups/${backup.id}/restore`,
        {},
        { token: customer.accessToken },
      );
      expect(accepted.status, accepted.text).toBe(202);
      expect(accepted.body.restore).toMatchObject({ kind: 'in_place', state: 'running', backupId: backup.id });
      // Restoring right away: the tenant is under maintenance from the moment the restore is accepted.
      const again = await test.http.post(
        `/api/v1/tenants/${tenant.name}/backups/${backup.id}/restore`,
        {},
        { token: customer.accessToken },
      );
      expect(again.status, again.text).toBe(409);

      const restore = await settledRestore(tenant.name, accepted.body.restore.id, customer.accessToken);
      expect(restore.state, restore.failureReason).toBe('succeeded');
      expect(restore.step).toBe('finish');
      await runningAgain(tenant.name);

      expect(await tenantData(odooDataDir(), tenant.databaseName)).toEqual(atBackup);
      // The previous database and filestore are gone once the restored one was verified; no side copy is left.
      expect(await databasesStartingWith(`${tenant.databaseName}_`)).toEqual([]);
      // The data it replaced is in a verified backup made just before.
      const safety = (
        await test.http.get(`/api/v1/tenants/${tenant.name}/backups/${restore.safetyBackupId}`, { token: customer.accessToken })
      ).body;
      expect(safety).toMatchObject({ trigger: 'before_restore', state: 'verified', filestoreFiles: Object.keys(changed.files).length });
      // Through the maintenance state and back, on the timeline.
      const events = (await test.http.get(`/api/v1/tenants/${tenant.name}/events`, { token: customer.accessToken })).body as Array<{
        fromState: string | null;
        toState: string | null;
      }>;
      expect(events.some((e) => e.fromState === 'running' && e.toState === 'restoring')).toBe(true);
      expect(events.some((e) => e.fromState === 'restoring' && e.toState === 'starting')).toBe(true);
      // Odoo serves the restored database: the admin logs in through the gateway.
      const port = Number(new URL(test.url).port);
      const login = await waitFor('the admin login after the restore', async () => {
        const answer = await odooLogin(
          port,
          `${tenant.name}.lvh.me`,
          tenant.databaseName,
          `admin@${tenant.name}.example.com`,
          ADMIN_PASSWORD,
        ).catch(() => undefined);
        return answer?.body.result?.uid ? answer : undefined;
      });
      expect(login.body.result?.uid).toBe(2);
      const audited = await test.platform.database.db
        .selectFrom('audit_log')
        .select(['status_code', 'actor_user_id'])
        .where('action', '=', 'backup.restore')
        .where('target_id', '=', backup.id)
        .execute();
      expect(audited).toContainEqual({ status_code: 202, actor_user_id: customer.userId });
    });
  }

  it('refuses, changing nothing, a backup whose stored archive changed since it was verified', async () => {
    const tenant = await tenantWithData('rsbad', 'basic');
    const backup = await verifiedBackup(tenant.name);
    const row = await test.platform.database.db
      .selectFrom('backups')
      .select('storage_key')
      .where('id', '=', backup.id)
      .executeTakeFirstOrThrow();
    await writeFile(join(test.config.dataDir, 'backups', row.storage_key), 'not the archive any more');
    await changeData(tenant.databaseName);
    const before = await tenantData(odooDataDir(), tenant.databaseName);

    const accepted = await test.http.post(
      `/api/v1/tenants/${tenant.name}/backups/${backup.id}/restore`,
      {},
      { token: operator.accessToken },
    );
    expect(accepted.status, accepted.text).toBe(202);
    const restore = await settledRestore(tenant.name, accepted.body.restore.id);
    expect(restore.state).toBe('failed');
    expect(restore.failureReason).toMatch(/stored archive changed since it was verified/);
    // The customer reads what happened to their data, not the internals.
    const asCustomer = (await test.http.get(`/api/v1/tenants/${tenant.name}/restores/${restore.id}`, { token: customer.accessToken })).body;
    expect(asCustomer.failureReason).toMatch(/your data was not changed/);
    await runningAgain(tenant.name);
    expect(await tenantData(odooDataDir(), tenant.databaseName)).toEqual(before);
    expect(await databasesStartingWith(`${tenant.databaseName}_`)).toEqual([]);
  });
});

describe('restore into a new tenant', () => {
  it('makes a new tenant with the data of the backup, a new identity and the admin password chosen; the source is untouched', async () => {
    const source = await tenantWithData('rssrc', 'basic');
    const atBackup = await tenantData(odooDataDir(), source.databaseName);
    const backup = await verifiedBackup(source.name, customer.accessToken);
    await changeData(source.databaseName);
    const sourceAfter = await tenantData(odooDataDir(), source.databaseName);
    const url = `/api/v1/tenants/${source.name}/backups/${backup.id}/restore`;

    const weak = await test.http.post(
      url,
      { newTenant: { name: `${source.name}x`, adminPassword: 'short' } },
      { token: customer.accessToken },
    );
    expect(weak.status, weak.text).toBe(400);
    expect(weak.text).toMatch(/adminPassword/);
    const taken = await test.http.post(
      url,
      { newTenant: { name: source.name, adminPassword: NEW_PASSWORD } },
      { token: customer.accessToken },
    );
    expect(taken.status, taken.text).toBe(409);

    const name = `${source.name}copy`;
    // A new tenant counts against the plan like any other: this account has its Basic tenants already.
    const full = await test.http.post(url, { newTenant: { name, adminPassword: NEW_PASSWORD } }, { token: customer.accessToken });
    expect(full.status, full.text).toBe(409);
    expect(full.body.field).toBe('plan');
    const accepted = await test.http.post(url, { newTenant: { name, adminPassword: NEW_PASSWORD } }, { token: operator.accessToken });
    expect(accepted.status, accepted.text).toBe(202);
    expect(accepted.body).toMatchObject({ tenantName: name, restore: { kind: 'new_tenant', backupId: backup.id } });
    const restore = await settledRestore(name, accepted.body.restore.id, customer.accessToken);
    expect(restore.state, restore.failureReason).toBe('succeeded');
    const created = await runningAgain(name);

    expect(await tenantData(odooDataDir(), created.databaseName)).toEqual(atBackup);
    expect(await tenantData(odooDataDir(), source.databaseName)).toEqual(sourceAfter);
    const uuidOf = (databaseName: string) =>
      withConnection(tenantDatabaseUrl(databaseName), async (client) => {
        const rows = await client.query<{ value: string }>(
          "SELECT value FROM ir_config_parameter WHERE key IN ('database.uuid', 'web.base.url') ORDER BY key",
        );
        return rows.rows.map((row) => row.value);
      });
    const [sourceUuid, sourceUrl] = await uuidOf(source.databaseName);
    const [copyUuid, copyUrl] = await uuidOf(created.databaseName);
    expect(copyUuid).not.toBe(sourceUuid);
    expect(copyUrl).not.toBe(sourceUrl);
    expect(copyUrl).toContain(name);
    const port = Number(new URL(test.url).port);
    const login = (password: string) =>
      odooLogin(port, `${name}.lvh.me`, created.databaseName, `admin@${source.name}.example.com`, password).catch(() => undefined);
    const uid = await waitFor('the admin login of the new tenant', async () => (await login(NEW_PASSWORD))?.body.result?.uid);
    expect(uid).toBe(2);
    expect((await login(ADMIN_PASSWORD))?.body.result?.uid).toBeUndefined();
  });
});

async function upload(body: Buffer, token: string) {
  const response = await fetch(`${test.url}/api/v1/imports`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/zip' },
    body,
  });
  const text = await response.text();
  return { status: response.status, text, body: text ? JSON.parse(text) : undefined };
}

describe('import of an Odoo backup zip made elsewhere', () => {
  it("makes a tenant from a zip in Odoo's own format: the data of the zip, a new identity, the admin password chosen", async () => {
    const importer = await registerCustomer(test.http, 'importer');
    const origin = await tenantWithData('rsorig', 'basic');
    const original = await tenantData(odooDataDir(), origin.databaseName);
    const zip = join(test.config.dataDir, 'odoo-made.zip');
    makeOdooBackupZip({
      databaseName: origin.databaseName,
      odooDataDir: odooDataDir(),
      manifest: odooManifest('elsewhere', '16.0'),
      target: zip,
    });

    const uploaded = await upload(await readFile(zip), importer.accessToken);
    expect(uploaded.status, uploaded.text).toBe(201);
    expect(uploaded.body.manifest).toMatchObject({ dbName: 'elsewhere', majorVersion: '16.0', modules: 3 });
    // The token is the uploader's: another account cannot use it.
    const stolen = await test.http.post(
      '/api/v1/imports/tenants',
      {
        uploadToken: uploaded.body.uploadToken,
        name: 'stolenimport',
        plan: 'basic',
        adminEmail: 'x@example.com',
        adminPassword: NEW_PASSWORD,
      },
      { token: stranger.accessToken },
    );
    expect(stolen.status, stolen.text).toBe(404);
    expect(stolen.body.field).toBe('uploadToken');

    const name = `imp${Date.now().toString(36)}`;
    const accepted = await test.http.post(
      '/api/v1/imports/tenants',
      { uploadToken: uploaded.body.uploadToken, name, plan: 'basic', adminEmail: `owner@${name}.example.com`, adminPassword: NEW_PASSWORD },
      { token: importer.accessToken },
    );
    expect(accepted.status, accepted.text).toBe(202);
    expect(accepted.body.restore).toMatchObject({ kind: 'import' });
    const restore = await settledRestore(name, accepted.body.restore.id, importer.accessToken);
    expect(restore.state, restore.failureReason).toBe('succeeded');
    const created = await tenantView(name);
    expect(created.state).toBe('running');
    expect(await tenantData(odooDataDir(), created.databaseName)).toEqual(original);
    const port = Number(new URL(test.url).port);
    const uid = await waitFor('the admin login of the imported tenant', async () => {
      const answer = await odooLogin(port, `${name}.lvh.me`, created.databaseName, `owner@${name}.example.com`, NEW_PASSWORD).catch(
        () => undefined,
      );
      return answer?.body.result?.uid;
    });
    expect(uid).toBe(2);
    // The upload was used: it cannot make a second tenant.
    const reused = await test.http.post(
      '/api/v1/imports/tenants',
      {
        uploadToken: uploaded.body.uploadToken,
        name: `${name}b`,
        plan: 'basic',
        adminEmail: `owner@${name}.example.com`,
        adminPassword: NEW_PASSWORD,
      },
      { token: importer.accessToken },
    );
    expect(reused.status, reused.text).toBe(404);
  });

  it('refuses a zip of another Odoo version naming both versions, a zip that is no Odoo backup, and one over the size limit', async () => {
    const origin = await createRunningTenant('rsver', 'basic', customer.accountId);
    const zip = join(test.config.dataDir, 'odoo-17.zip');
    makeOdooBackupZip({
      databaseName: origin.databaseName,
      odooDataDir: odooDataDir(),
      manifest: odooManifest('newer', '17.0'),
      target: zip,
    });
    const newer = await upload(await readFile(zip), customer.accessToken);
    expect(newer.status, newer.text).toBe(400);
    expect(newer.body.field).toBe('manifest.major_version');
    expect(newer.body.detail).toContain('Odoo 17.0');
    expect(newer.body.detail).toContain('this platform runs Odoo 16.0');

    const other = join(test.config.dataDir, 'other.zip');
    makeOtherZip(other);
    const notOdoo = await upload(await readFile(other), customer.accessToken);
    expect(notOdoo.status, notOdoo.text).toBe(400);
    expect(notOdoo.body.detail).toMatch(/no dump\.sql/);
    const garbage = await upload(randomBytes(5000), customer.accessToken);
    expect(garbage.status, garbage.text).toBe(400);
    expect(garbage.body.detail).toMatch(/not a readable zip/);

    const tooLarge = await upload(randomBytes(IMPORT_LIMIT + 1), customer.accessToken);
    expect(tooLarge.status, tooLarge.text).toBe(413);
    // Nothing of the refused uploads is kept.
    expect(await readdir(join(test.config.dataDir, 'restores-scratch'))).toEqual([]);
  });
});

describe('saasctl backup restore | import', () => {
  it('restores in place and imports a zip, following each to its end, with the password never on the command line', async () => {
    const scratch = join(test.config.dataDir, 'cli');
    await mkdir(scratch, { recursive: true });
    const saasctl = (args: string[], input?: string) =>
      runCli(args, {
        input,
        timeoutMs: 120_000,
        env: { SAASCTL_CONFIG: join(scratch, 'operator.json'), HOME: scratch, SAASCTL_URL: test.url },
      });
    expect((await saasctl(['login', '--email', operator.email, '--password-stdin', '--url', test.url], GOOD_PASSWORD)).code).toBe(0);
    const tenant = await tenantWithData('rscli', 'basic');
    const atBackup = await tenantData(odooDataDir(), tenant.databaseName);
    const backup = await verifiedBackup(tenant.name);
    await changeData(tenant.databaseName);

    const restored = await saasctl(['backup', 'restore', tenant.name, backup.id, '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ state: 'succeeded', kind: 'in_place', step: 'finish' });
    await runningAgain(tenant.name);
    expect(await tenantData(odooDataDir(), tenant.databaseName)).toEqual(atBackup);

    const zip = join(scratch, 'elsewhere.zip');
    makeOdooBackupZip({
      databaseName: tenant.databaseName,
      odooDataDir: odooDataDir(),
      manifest: odooManifest('cli', '16.0'),
      target: zip,
    });
    const name = `impcli${Date.now().toString(36)}`;
    const imported = await saasctl(
      [
        'backup',
        'import',
        zip,
        '--name',
        name,
        '--plan',
        'basic',
        '--admin-email',
        `a@${name}.example.com`,
        '--account',
        customer.accountId,
        '--admin-password-stdin',
        '--json',
      ],
      NEW_PASSWORD,
    );
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ state: 'succeeded', kind: 'import' });
    expect(await tenantData(odooDataDir(), (await tenantView(name)).databaseName)).toEqual(atBackup);

    // A refused import says why, naming the versions, without a stack trace.
    makeOdooBackupZip({
      databaseName: tenant.databaseName,
      odooDataDir: odooDataDir(),
      manifest: odooManifest('cli', '18.0'),
      target: zip,
    });
    const refused = await saasctl(
      ['backup', 'import', zip, '--name', `${name}b`, '--plan', 'basic', '--admin-email', 'a@example.com', '--admin-password-stdin'],
      NEW_PASSWORD,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/Odoo 18\.0.*this platform runs Odoo 16\.0/);
    expect(refused.stderr).not.toMatch(/\bat \S+:\d+:\d+/);
  }, 240_000);
});

describe('customer access to restores', () => {
  it("refuses another account's tenant and backups as missing (404), and audits every restore", async () => {
    const tenant = await createRunningTenant('rsacl', 'basic', customer.accountId);
    const backup = await verifiedBackup(tenant.name);
    const strangersTenant = await createRunningTenant('rsother', 'basic', stranger.accountId);

    const foreign = await test.http.post(
      `/api/v1/tenants/${tenant.name}/backups/${backup.id}/restore`,
      {},
      { token: stranger.accessToken },
    );
    expect(foreign.status, foreign.text).toBe(404);
    // Their own tenant with someone else's backup: 404 too, nothing restored.
    const crossed = await test.http.post(
      `/api/v1/tenants/${strangersTenant.name}/backups/${backup.id}/restore`,
      {},
      { token: stranger.accessToken },
    );
    expect(crossed.status, crossed.text).toBe(404);
    expect((await test.http.get(`/api/v1/tenants/${tenant.name}/restores`, { token: stranger.accessToken })).status).toBe(404);
    expect((await tenantView(tenant.name)).state).toBe('running');
    expect((await tenantView(strangersTenant.name)).state).toBe('running');

    const audit = await test.platform.database.db
      .selectFrom('audit_log')
      .select(['action', 'outcome', 'status_code'])
      .where('action', '=', 'backup.restore')
      .where('actor_user_id', '=', stranger.userId)
      .execute();
    expect(audit.map((a) => a.status_code).sort()).toEqual([404, 404]);
  });
});
