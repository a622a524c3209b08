import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackupStorage, createBackupStorage, s3BackupStorage, signDownloadLink } from '../../src/backups/index.js';
import { type BackupRunDependencies, runBackup } from '../../src/backups/run.js';
import { insertBackup } from '../../src/backups/store.js';
import type { BackupRow } from '../../src/db/index.js';
import { createLogger } from '../../src/logging/index.js';
import { createMetrics } from '../../src/metrics/index.js';
import { filestorePath } from '../../src/odoo/index.js';
import { createDatabaseServerRegistry, withConnection } from '../../src/postgres/index.js';
import { createSecretBox } from '../../src/secrets/index.js';
import { insertStoredBackup } from '../helpers/backups.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/gateway-client.js';
import { startMinio, type TestMinio } from '../helpers/minio.js';
import { createOperator, GOOD_PASSWORD, registerCustomer, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { postgresAdminUrl } from '../helpers/postgres.js';
import { readZip, unzipListing } from '../helpers/zip-reader.js';

/**
 * Backups end to end against the fake Odoo, real PostgreSQL (pg_dump), a real local directory and
 * a real S3 server (MinIO on loopback): the archive is Odoo's own zip, read back by readers that
 * share nothing with the writer (Python's zipfile, Info-ZIP's unzip), for tenants of every placement.
 */
process.env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

let test: TestPlatform;
let minio: TestMinio;
let operator: Awaited<ReturnType<typeof createOperator>>;
let customer: Awaited<ReturnType<typeof registerCustomer>>;
let stranger: Awaited<ReturnType<typeof registerCustomer>>;
const tenants: Record<'pool' | 'dedicatedProcess' | 'dedicatedServer', { name: string; databaseName: string }> = {} as never;
const ADMIN_PASSWORD = 'Odoo-Admin-Pass-1';
const ODOO_MANIFEST_FIELDS = ['odoo_dump', 'db_name', 'version', 'version_info', 'major_version', 'pg_version', 'modules'];

const db = () => test.platform.database.db;
const odooDataDir = () => join(test.config.dataDir, 'odoo');
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function tenantView(name: string) {
  const response = await test.http.get(`/api/v1/tenants/${name}`, { token: operator.accessToken });
  return response.body as { name: string; state: string; databaseName: string; stateReason: string | null };
}

async function createRunningTenant(label: string, plan: string): Promise<{ name: string; databaseName: string }> {
  const name = `${label}${Date.now().toString(36)}`;
  const created = await test.http.post(
    '/api/v1/tenants',
    {
      name,
      plan,
      template: 'blank',
      adminEmail: `admin@${name}.example.com`,
      adminPassword: ADMIN_PASSWORD,
      accountId: customer.accountId,
    },
    { token: operator.accessToken },
  );
  expect(created.status, created.text).toBe(202);
  const running = await waitFor(
    `${name} to run`,
    async () => {
      const view = await tenantView(name);
      if (view.state === 'error') throw new Error(`${name} failed: ${view.stateReason}`);
      return view.state === 'running' ? view : undefined;
    },
    120_000,
    200,
  );
  return { name, databaseName: running.databaseName };
}

async function backupOf(name: string, id: string, token = operator.accessToken) {
  return (await test.http.get(`/api/v1/tenants/${name}/backups/${id}`, { token })).body;
}

async function settledBackup(name: string, id: string) {
  return waitFor(
    `backup ${id} to settle`,
    async () => {
      const backup = await backupOf(name, id);
      return backup.state === 'running' ? undefined : backup;
    },
    120_000,
    100,
  );
}

async function download(name: string, id: string, token: string): Promise<{ status: number; body: Buffer; path?: string }> {
  const linkAnswer = await test.http.post(`/api/v1/tenants/${name}/backups/${id}/download-link`, {}, { token });
  if (linkAnswer.status !== 200) return { status: linkAnswer.status, body: Buffer.from(linkAnswer.text) };
  const response = await fetch(`${test.url}${linkAnswer.body.url}`);
  const body = Buffer.from(await response.arrayBuffer());
  const path = join(test.config.dataDir, `${id}.zip`);
  await writeFile(path, body);
  return { status: response.status, body, path };
}

beforeAll(async () => {
  minio = await startMinio();
  test = await startTestPlatform({
    ODOO_BIN: resolve('test/fixtures/fake-odoo/odoo-bin'),
    TENANT_DATABASE_URL: postgresAdminUrl(),
    TEMPLATES_AUTOBUILD: 'blank',
    SPARE_DATABASES: '0',
  });
  operator = await createOperator(test);
  customer = await registerCustomer(test.http, 'backup-owner');
  stranger = await registerCustomer(test.http, 'backup-stranger');
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
  const [pool, dedicatedProcess, dedicatedServer] = await Promise.all([
    createRunningTenant('bkpool', 'basic'),
    createRunningTenant('bkproc', 'standard'),
    createRunningTenant('bkserver', 'premium'),
  ]);
  Object.assign(tenants, { pool, dedicatedProcess, dedicatedServer });

  // Data of the pool tenant: partners, and attachment files, one of them a hard link of another
  // (Odoo's clones share attachment inodes with their template).
  const url = new URL(postgresAdminUrl());
  url.pathname = `/${pool.databaseName}`;
  await withConnection(url.toString(), async (client) => {
    await client.query(`INSERT INTO res_partner (name) SELECT 'Partner ' || i FROM generate_series(1, 250) AS i`);
  });
  const store = filestorePath(odooDataDir(), pool.databaseName);
  await mkdir(join(store, 'aa'), { recursive: true });
  await mkdir(join(store, 'bb'), { recursive: true });
  await writeFile(join(store, 'aa', 'aa11'), Buffer.alloc(300_000, 7));
  await link(join(store, 'aa', 'aa11'), join(store, 'bb', 'bb22'));
}, 300_000);

afterAll(async () => {
  await test?.stop();
  await minio?.destroy();
});

describe('a backup is Odoo’s own zip, verified by reading it back', () => {
  it('backs up tenants of every placement (pool, dedicated process, dedicated server) to the local directory', async () => {
    for (const tenant of Object.values(tenants)) {
      const accepted = await test.http.post(`/api/v1/tenants/${tenant.name}/backups`, {}, { token: customer.accessToken });
      expect(accepted.status, accepted.text).toBe(202);
      expect(accepted.body.backup.state).toBe('running');
      const backup = await settledBackup(tenant.name, accepted.body.backup.id);
      expect(backup.state, backup.failureReason).toBe('verified');
      expect(backup.trigger).toBe('on_demand');
      expect(backup.odooVersion).toBe('16.0');
      expect(backup.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(backup.archiveBytes).toBeGreaterThan(1000);
      expect(backup.dumpBytes).toBeGreaterThan(backup.archiveBytes / 10);
      expect(backup.durationMs).toBeGreaterThanOrEqual(0);
      expect(backup.storageLocation).toContain(`/backups/${tenant.name}/`);
      // The archive on disk is what the record says.
      const onDisk = await readFile(new URL(backup.storageLocation).pathname);
      expect(sha256(onDisk)).toBe(backup.sha256);
      expect((await stat(dirname(new URL(backup.storageLocation).pathname))).mode & 0o777).toBe(0o700);
      expect((await stat(new URL(backup.storageLocation).pathname)).mode & 0o777).toBe(0o600);
    }
  }, 300_000);

  it("has Odoo's layout and manifest, a plain dump without owners or grants, and the filestore's files byte for byte", async () => {
    const { name, databaseName } = tenants.pool;
    const accepted = await test.http.post(`/api/v1/tenants/${name}/backups`, {}, { token: customer.accessToken });
    const backup = await settledBackup(name, accepted.body.backup.id);
    expect(backup.state, backup.failureReason).toBe('verified');
    expect(backup.filestoreFiles).toBeGreaterThanOrEqual(3); // the fake's asset file and the two above
    const downloaded = await download(name, backup.id, customer.accessToken);
    expect(downloaded.status).toBe(200);
    expect(sha256(downloaded.body)).toBe(backup.sha256);

    const zip = readZip(downloaded.path as string);
    expect(zip.badEntry).toBeNull();
    expect(zip.names.slice(0, 2)).toEqual(['dump.sql', 'manifest.json']); // Odoo's order (zip_dir's sort)
    expect(zip.names.slice(2).every((entry) => entry.startsWith('filestore/'))).toBe(true);
    expect(new Set(Object.values(zip.methods))).toEqual(new Set([8])); // ZIP_DEFLATED, as Odoo
    expect(Object.keys(zip.manifest).sort()).toEqual([...ODOO_MANIFEST_FIELDS].sort());
    expect(zip.manifest).toMatchObject({
      odoo_dump: '1',
      db_name: databaseName,
      version: '16.0',
      version_info: [16, 0, 0, 'final', 0, ''],
      major_version: '16.0',
    });
    expect(zip.manifest.pg_version).toMatch(/^\d+\.0$/);
    expect((zip.manifest.modules as Record<string, string>).base).toBe('16.0.1.0');
    expect(zip.dumpHasOwnerOrGrant).toBe(false);
    expect(zip.dumpHasTable('res_partner')).toBe(true);
    expect(zip.dumpHead).toContain('PostgreSQL database dump');
    const original = await readFile(join(filestorePath(odooDataDir(), databaseName), 'aa', 'aa11'));
    expect(zip.sha256['filestore/aa/aa11']).toBe(sha256(original));
    expect(zip.sha256['filestore/bb/bb22']).toBe(sha256(original)); // the hard link, as a file of its own

    const unzip = unzipListing(downloaded.path as string);
    expect(unzip.testedOk).toBe(true);
    expect(unzip.names).toEqual(zip.names);
  }, 120_000);
});

describe('customer access', () => {
  it("lets a customer reach only their own tenants' backups; other accounts get 404, links are bound and expire", async () => {
    const { name } = tenants.dedicatedProcess;
    const mine = await test.http.get(`/api/v1/tenants/${name}/backups`, { token: customer.accessToken });
    expect(mine.status).toBe(200);
    const verified = mine.body.find((b: { state: string }) => b.state === 'verified');
    expect(verified).toBeDefined();
    expect(verified.storageLocation).toBeUndefined(); // operators only

    expect((await test.http.get(`/api/v1/tenants/${name}/backups`, { token: stranger.accessToken })).status).toBe(404);
    expect((await test.http.post(`/api/v1/tenants/${name}/backups`, {}, { token: stranger.accessToken })).status).toBe(404);
    expect((await download(name, verified.id, stranger.accessToken)).status).toBe(404);
    // A backup id of another tenant under one's own tenant's name is not found either.
    const otherTenantsBackup = (await test.http.get(`/api/v1/tenants/${tenants.pool.name}/backups`, { token: customer.accessToken }))
      .body[0];
    expect((await test.http.get(`/api/v1/tenants/${name}/backups/${otherTenantsBackup.id}`, { token: customer.accessToken })).status).toBe(
      404,
    );

    const link = await test.http.post(`/api/v1/tenants/${name}/backups/${verified.id}/download-link`, {}, { token: customer.accessToken });
    expect(link.status).toBe(200);
    expect(new Date(link.body.expiresAt).getTime() - Date.now()).toBeLessThanOrEqual(15 * 60_000);
    const token = (link.body.url as string).split('/').pop() as string;
    const [payload, signature] = token.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ b: otherTenantsBackup.id, u: customer.userId, e: 4_000_000_000 })).toString('base64url');
    for (const tampered of [`${forged}.${signature}`, `${payload}.${signature.slice(0, -2)}xx`, `${payload}x.${signature}`]) {
      const refused = await fetch(`${test.url}/api/v1/backup-downloads/${tampered}`);
      expect(refused.status).toBe(404);
      expect(await refused.text()).toContain('not valid');
    }
    const key = createSecretBox(test.config.secretKey as string).deriveKey('backup-download-links');
    const expired = signDownloadLink(key, { backupId: verified.id, userId: customer.userId, expiresAt: Math.floor(Date.now() / 1000) - 1 });
    const refused = await fetch(`${test.url}/api/v1/backup-downloads/${expired}`);
    expect(refused.status).toBe(404);
    expect(await refused.text()).toContain('expired');

    // Every download is audited with who asked for the link.
    const good = await fetch(`${test.url}${link.body.url}`);
    expect(good.status).toBe(200);
    await good.arrayBuffer();
    const audited = await db()
      .selectFrom('audit_log')
      .select(['actor_user_id', 'action', 'target_id'])
      .where('action', 'in', ['backup.download', 'backup.download_link'])
      .where('target_id', '=', verified.id)
      .execute();
    expect(audited.map((a) => a.action).sort()).toEqual(['backup.download', 'backup.download_link']);
    expect(audited.every((a) => a.actor_user_id === customer.userId)).toBe(true);
  }, 60_000);
});

describe('S3 storage (MinIO on loopback)', () => {
  let metrics: ReturnType<typeof createMetrics>;
  let deps: BackupRunDependencies;

  beforeAll(() => {
    metrics = createMetrics();
    const secretBox = createSecretBox(test.config.secretKey as string);
    const servers = createDatabaseServerRegistry({
      db: db(),
      secretBox,
      logger: createLogger('silent'),
      dataDir: test.config.dataDir,
      tenantPlacements: { countsPerServer: async () => new Map(), releaseDeletedOn: async () => undefined },
    });
    deps = {
      db: db(),
      storage: s3Storage(),
      servers,
      odooDataDir: odooDataDir(),
      installedOdooSeries: async () => undefined,
      metrics,
      logger: createLogger('silent'),
    };
  });

  function s3Storage(partSizeBytes?: number): BackupStorage {
    return s3BackupStorage({
      partSizeBytes,
      bucket: minio.bucket,
      prefix: 'platform/',
      endpoint: minio.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      accessKeyId: minio.accessKeyId,
      secretAccessKey: minio.secretAccessKey,
    });
  }

  /** A record as the service writes it, run by this test's own runner (the platform's stores locally). */
  async function s3Backup(storage: BackupStorage): Promise<BackupRow> {
    const { name, databaseName } = tenants.pool;
    const tenant = await db().selectFrom('tenants').select(['id']).where('name', '=', name).executeTakeFirstOrThrow();
    const id = crypto.randomUUID();
    const key = `${name}/${id}.zip`;
    const row = await insertBackup(
      {
        id,
        tenant_id: tenant.id,
        tenant_name: name,
        trigger: 'on_demand',
        database_name: databaseName,
        storage_kind: 's3',
        storage_key: key,
        storage_location: storage.describe(key),
      },
      db(),
    );
    await runBackup({ ...deps, storage }, row.id);
    return db().selectFrom('backups').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
  }

  const failures = async () =>
    (await metrics.registry.getSingleMetricAsString('saas_backups_total')).match(/outcome="failed"[^\n]* (\d+)/)?.[1];

  it('stores the archive with a multipart upload and verifies it by reading it back', async () => {
    // 12 MB that do not compress, in 5 MiB parts: an upload of three parts.
    const big = join(filestorePath(odooDataDir(), tenants.pool.databaseName), 'cc', 'cc33');
    await mkdir(dirname(big), { recursive: true });
    await writeFile(big, randomBytes(12_000_000));
    const storage = s3Storage(5 * 1024 * 1024);
    const backup = await s3Backup(storage).finally(() => rm(big));
    const head = await minio.client.send(new HeadObjectCommand({ Bucket: minio.bucket, Key: `platform/${backup.storage_key}` }));
    expect(head.ETag).toMatch(/-3"$/); // S3's ETag of a multipart object ends with its part count
    expect(backup.state, backup.failure_reason ?? '').toBe('verified');
    expect(backup.storage_location).toBe(`s3://${minio.bucket}/platform/${backup.storage_key}`);
    expect(await storage.size(backup.storage_key)).toBe(backup.archive_bytes);
    const stored = await storage.get(backup.storage_key);
    const chunks: Buffer[] = [];
    for await (const chunk of stored) chunks.push(chunk as Buffer);
    expect(sha256(Buffer.concat(chunks))).toBe(backup.sha256);
    // A ranged read (downloads resume with them): the zip's first local header.
    const firstBytes = await storage.get(backup.storage_key, { start: 0, end: 4 });
    const headBytes: Buffer[] = [];
    for await (const chunk of firstBytes) headBytes.push(chunk as Buffer);
    expect(Buffer.concat(headBytes).toString('hex')).toBe('504b0304');
  }, 120_000);

  it('opens the bucket with a secret key sealed in the config (saasctl secret seal), never stored in the clear', async () => {
    const box = createSecretBox(test.config.secretKey as string);
    const sealed = box.encrypt(minio.secretAccessKey);
    expect(sealed).not.toContain(minio.secretAccessKey);
    const storage = createBackupStorage(
      {
        kind: 's3',
        bucket: minio.bucket,
        prefix: 'sealed/',
        endpoint: minio.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        accessKeyId: minio.accessKeyId,
        secretAccessKey: sealed,
      },
      box,
    );
    await storage.put('probe/one.zip', Readable.from([Buffer.from('probe')]));
    expect(await storage.size('probe/one.zip')).toBe(5);
    await storage.delete('probe/one.zip');
    expect(await storage.size('probe/one.zip')).toBeUndefined();
  });

  it('fails, never verifies, when the S3 server is down: reason, metric, timeline alert, event', async () => {
    await minio.stop();
    try {
      const backup = await s3Backup(s3Storage());
      expect(backup.state).toBe('failed');
      expect(backup.verified_at).toBeNull();
      expect(backup.failure_reason).toMatch(/ECONNREFUSED|connect|socket/i);
      expect(await failures()).toBe('1');
      const alert = await db()
        .selectFrom('tenant_events')
        .select('message')
        .where('tenant_id', '=', backup.tenant_id)
        .where('type', '=', 'error')
        .where('message', 'like', `Backup ${backup.id} failed:%`)
        .execute();
      expect(alert).toHaveLength(1);
      const event = await db()
        .selectFrom('domain_events')
        .select('payload')
        .where('type', '=', 'backup.failed')
        .where('stream', '=', `tenant:${backup.tenant_id}`)
        .execute();
      expect(event.map((e) => e.payload.backupId)).toContain(backup.id);
    } finally {
      await minio.start();
    }
  }, 120_000);

  it('fails when the stored object is not what was written (corrupted after upload)', async () => {
    const real = s3Storage();
    const corrupting: BackupStorage = {
      ...real,
      async put(key, body) {
        await real.put(key, body);
        await minio.client.send(
          new PutObjectCommand({ Bucket: minio.bucket, Key: `platform/${key}`, Body: Buffer.from('not the archive') }),
        );
      },
    };
    const backup = await s3Backup(corrupting);
    expect(backup.state).toBe('failed');
    expect(backup.verified_at).toBeNull();
    expect(backup.failure_reason).toContain('the stored archive differs from what was written');
    expect(await real.size(backup.storage_key)).toBeUndefined(); // a failed archive is not kept
    expect(await failures()).toBe('2');
  }, 120_000);
});

describe('saasctl backup', () => {
  it('creates a backup and waits for it, lists it, and downloads it checking its sha256', async () => {
    const scratch = join(test.config.dataDir, 'cli');
    await mkdir(scratch, { recursive: true });
    const saasctl = (args: string[], input?: string) =>
      runCli(args, { input, env: { SAASCTL_CONFIG: join(scratch, 'credentials.json'), HOME: scratch, SAASCTL_URL: test.url } });
    const login = await saasctl(['login', '--email', customer.email, '--password-stdin', '--url', test.url], GOOD_PASSWORD);
    expect(login.code, login.stderr).toBe(0);
    const { name } = tenants.pool;

    const created = await saasctl(['backup', 'create', name, '--json']);
    expect(created.code, created.stderr).toBe(0);
    const backup = JSON.parse(created.stdout);
    expect(backup.state).toBe('verified');

    const listed = await saasctl(['backup', 'list', name, '--json']);
    expect(JSON.parse(listed.stdout).map((b: { id: string }) => b.id)).toContain(backup.id);
    const table = await saasctl(['backup', 'list', name]);
    expect(table.stdout).toContain(backup.id);

    const output = join(scratch, 'copy.zip');
    const downloaded = await saasctl(['backup', 'download', name, backup.id, '-o', output]);
    expect(downloaded.code, downloaded.stderr).toBe(0);
    expect(downloaded.stdout).toContain('sha256 verified');
    expect(sha256(await readFile(output))).toBe(backup.sha256);

    // Another account's tenant: the CLI says it is not found, without a stack trace.
    const asStranger = (args: string[], input?: string) =>
      runCli(args, { input, env: { SAASCTL_CONFIG: join(scratch, 'stranger.json'), HOME: scratch, SAASCTL_URL: test.url } });
    expect((await asStranger(['login', '--email', stranger.email, '--password-stdin', '--url', test.url], GOOD_PASSWORD)).code).toBe(0);
    const strangers = await asStranger(['backup', 'list', name]);
    expect(strangers.code).toBe(1);
    expect(strangers.stderr).toMatch(/^saasctl: .*not found/im);
    expect(strangers.stderr).not.toMatch(/\bat \S+:\d+:\d+/);
  }, 120_000);
});

describe('triggers and retention', () => {
  it('queues each tenant’s daily backup once per slot, whichever replica or rerun of the scheduler runs it', async () => {
    const tomorrow = new Date();
    tomorrow.setUTCDate(tomorrow.getUTCDate() + 1);
    const now = new Date(Date.UTC(tomorrow.getUTCFullYear(), tomorrow.getUTCMonth(), tomorrow.getUTCDate(), 3, 30));
    const runs = await Promise.all([test.platform.backups.runSchedule(now), test.platform.backups.runSchedule(now)]);
    const again = await test.platform.backups.runSchedule(now);
    const placed = Object.keys(tenants).length;
    expect(runs[0].queued + runs[1].queued).toBe(placed);
    expect(again.queued).toBe(0);
    const scheduled = await db().selectFrom('backups').selectAll().where('trigger', '=', 'schedule').execute();
    expect(scheduled).toHaveLength(placed);
    for (const backup of scheduled) {
      const slot = backup.scheduled_for as Date;
      expect(slot.getUTCHours()).toBe(2); // BACKUP_SCHEDULE_HOUR 2, UTC
      expect(slot.toISOString().slice(0, 10)).toBe(now.toISOString().slice(0, 10));
    }
    // The platform's workers make them like any other.
    for (const backup of scheduled) {
      const settled = await settledBackup(backup.tenant_name, backup.id);
      expect(settled.state, settled.failureReason).toBe('verified');
    }
  }, 180_000);

  it('purges what retention drops: the archive first, then the record, and again finds nothing to do', async () => {
    const { name } = tenants.dedicatedServer;
    const old = await insertStoredBackup(test, name, operator.userId);
    await db()
      .updateTable('backups')
      .set({ started_at: new Date(Date.now() - 100 * 86_400_000) })
      .where('id', '=', old.id)
      .execute();
    const row = await db().selectFrom('backups').selectAll().where('id', '=', old.id).executeTakeFirstOrThrow();
    const path = new URL(row.storage_location).pathname;
    await stat(path); // there before
    const verifiedBefore = await db()
      .selectFrom('backups')
      .select('id')
      .where('state', '=', 'verified')
      .where('id', '<>', old.id)
      .execute();

    const first = await test.platform.backups.purge();
    expect(first.deleted).toBe(1);
    await expect(stat(path)).rejects.toThrow(/ENOENT/);
    expect(await db().selectFrom('backups').select('id').where('id', '=', old.id).executeTakeFirst()).toBeUndefined();
    // Recent backups all stay (7 daily / 4 weekly / 3 monthly, on-demand ones 30 days).
    const verifiedAfter = await db().selectFrom('backups').select('id').where('state', '=', 'verified').execute();
    expect(verifiedAfter.map((b) => b.id).sort()).toEqual(verifiedBefore.map((b) => b.id).sort());
    expect((await test.platform.backups.purge()).deleted).toBe(0);
  }, 60_000);

  it('gives a terminated tenant a final backup kept through its 30-day retention window', async () => {
    const { name } = tenants.dedicatedProcess;
    const scheduled = await test.http.post(`/api/v1/tenants/${name}/schedule-delete`, undefined, { token: customer.accessToken });
    expect(scheduled.status, scheduled.text).toBe(202);
    await waitFor('the deletion to be scheduled', async () =>
      (await tenantView(name)).state === 'scheduled_for_deletion' ? true : undefined,
    );
    await test.platform.sweepLifecycle(new Date(Date.now() + 13 * 3_600_000));
    expect((await tenantView(name)).state).toBe('terminated');
    const final = await waitFor('the final backup', async () =>
      db().selectFrom('backups').selectAll().where('tenant_name', '=', name).where('trigger', '=', 'before_delete').executeTakeFirst(),
    );
    expect((await settledBackup(name, final.id)).state).toBe('verified');
    const keptFor = (final.keep_until as Date).getTime() - final.started_at.getTime();
    expect(keptFor).toBeGreaterThan(29.9 * 86_400_000);
    expect(keptFor).toBeLessThan(30.1 * 86_400_000);
  }, 120_000);
});

describe('test restores (the weekly proof)', () => {
  it("restores each tenant's newest verified backup into a scratch database, checks it, and drops it", async () => {
    const result = await test.platform.backups.testRestoreAll();
    expect(result).toEqual({ passed: Object.keys(tenants).length, failed: 0 });
    const checked = await db().selectFrom('backups').selectAll().where('test_restore_state', 'is not', null).execute();
    expect(checked).toHaveLength(Object.keys(tenants).length);
    for (const backup of checked) {
      expect(backup.test_restore_state, backup.test_restore_reason ?? '').toBe('passed');
      const view = await backupOf(backup.tenant_name, backup.id);
      expect(view.testRestore).toMatchObject({ state: 'passed', reason: null });
    }
    const scratch = await withConnection(postgresAdminUrl(), (client) =>
      client.query("SELECT datname FROM pg_database WHERE datname LIKE 'bkcheck_%'"),
    );
    expect(scratch.rows).toEqual([]);
  }, 180_000);

  it('fails, saying why, when the restored data is not what was backed up, or the stored archive changed', async () => {
    const { name } = tenants.pool;
    const accepted = await test.http.post(`/api/v1/tenants/${name}/backups`, {}, { token: operator.accessToken });
    const backup = await settledBackup(name, accepted.body.backup.id);
    expect(backup.state).toBe('verified');
    const row = await db().selectFrom('backups').selectAll().where('id', '=', backup.id).executeTakeFirstOrThrow();
    expect(row.record_counts?.res_partner).toBeGreaterThanOrEqual(250);

    // The record says one partner more than the archive holds.
    const counts = { ...(row.record_counts as Record<string, number>), res_partner: (row.record_counts?.res_partner ?? 0) + 1 };
    await db()
      .updateTable('backups')
      .set({ record_counts: JSON.stringify(counts) })
      .where('id', '=', backup.id)
      .execute();
    expect(await test.platform.backups.testRestore(backup.id)).toBe(false);
    const failed = await db().selectFrom('backups').selectAll().where('id', '=', backup.id).executeTakeFirstOrThrow();
    expect(failed.test_restore_state).toBe('failed');
    expect(failed.test_restore_reason).toContain(`res_partner has ${counts.res_partner - 1} rows, ${counts.res_partner} were backed up`);
    const alert = await db()
      .selectFrom('tenant_events')
      .select('message')
      .where('message', 'like', `Test restore of backup ${backup.id} failed:%`)
      .execute();
    expect(alert).toHaveLength(1);
    // A customer reads a sentence, not the internal reason.
    expect((await backupOf(name, backup.id, customer.accessToken)).testRestore.reason).toContain('operators have been alerted');

    // The archive on disk changed after it was verified (bit rot, tampering).
    await writeFile(new URL(failed.storage_location).pathname, Buffer.from('not the archive'));
    expect(await test.platform.backups.testRestore(backup.id)).toBe(false);
    const changed = await db().selectFrom('backups').select('test_restore_reason').where('id', '=', backup.id).executeTakeFirstOrThrow();
    expect(changed.test_restore_reason).toContain('the stored archive changed since it was verified');
  }, 120_000);
});
