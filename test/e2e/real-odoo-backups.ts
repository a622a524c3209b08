import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { hostRequest, odooLogin, waitFor } from '../helpers/gateway-client.js';
import { registerCustomer } from '../helpers/platform.js';
import { freeTestPort } from '../helpers/ports.js';
import { postgresAdminUrl } from '../helpers/postgres.js';
import type { TenantScenarioContext } from './tenant-scenarios.js';

/**
 * Backups and restores against a real Odoo (tenants.real-odoo.test.ts, when ODOO_BIN is set):
 * a tenant is backed up, its data changed through Odoo's own API (a partner and an attachment,
 * whose content lives in the filestore), restored, and the data of the backup is back, the
 * change gone, and the admin logs in. Then a zip made by that real Odoo's database manager
 * (`/web/database/backup`, run here by the test with its own master password) is imported into
 * a new tenant, which serves the same data.
 */
export function defineRealOdooBackupScenarios(context: TenantScenarioContext, odooBin: string): void {
  // The series of the Odoo under test (`odoo-bin --version` prints e.g. "Odoo Server 17.0-20240709").
  const series = /(\d+\.\d+)/.exec(execFileSync(odooBin, ['--version'], { encoding: 'utf8' }))?.[1];
  const NEW_PASSWORD = 'Imported-Pass-33';

  async function waitForState(name: string, state: string, timeoutMs = 300_000) {
    return waitFor(
      `${name} to be ${state}`,
      async () => {
        const view = (await context.test().http.get(`/api/v1/tenants/${name}`, { token: context.operatorToken() })).body;
        if (view.state === 'error') throw new Error(`${name} went to error: ${view.stateReason}`);
        return view.state === state ? view : undefined;
      },
      timeoutMs,
      250,
    );
  }

  /** Odoo's external API through the gateway (JSON-RPC execute_kw as the admin, uid 2). */
  async function call(name: string, password: string, model: string, method: string, args: unknown[], kwargs = {}) {
    const response = await hostRequest(context.port(), context.tenantHost(name), 'POST', '/jsonrpc', {
      jsonrpc: '2.0',
      method: 'call',
      id: 1,
      params: { service: 'object', method: 'execute_kw', args: [`t_${name}`, 2, password, model, method, args, kwargs] },
    });
    const body = JSON.parse(response.text) as { result?: unknown; error?: { data?: { message?: string } } };
    if (body.error) throw new Error(`${model}.${method} failed: ${body.error.data?.message ?? JSON.stringify(body.error)}`);
    return body.result;
  }

  /** What the scenario checks: partner names it made, and its attachments' names with their content (read from the filestore). */
  async function marks(name: string, password: string) {
    const partners = (await call(name, password, 'res.partner', 'search_read', [[['name', 'like', 'Mark ']]], {
      fields: ['name'],
    })) as Array<{
      name: string;
    }>;
    const attachments = (await call(name, password, 'ir.attachment', 'search_read', [[['name', 'like', 'mark-']]], {
      fields: ['name', 'datas', 'store_fname'],
    })) as Array<{ name: string; datas: string; store_fname: string | false }>;
    return {
      partners: partners.map((p) => p.name).sort(),
      attachments: Object.fromEntries(attachments.map((a) => [a.name, Buffer.from(a.datas, 'base64').toString()])),
      inFilestore: attachments.every((a) => typeof a.store_fname === 'string' && a.store_fname.length > 0),
    };
  }

  async function mark(name: string, password: string, label: string) {
    await call(name, password, 'res.partner', 'create', [{ name: `Mark ${label}` }]);
    await call(name, password, 'ir.attachment', 'create', [
      { name: `mark-${label}.txt`, datas: Buffer.from(`content of ${label}`).toString('base64'), mimetype: 'text/plain' },
    ]);
  }

  let backedUp: string | undefined;
  /** The account the scenario's tenants belong to (operators name it). */
  let accountId: string | undefined;
  async function ownerAccount(): Promise<string> {
    accountId ??= (await registerCustomer(context.test().http, 'real-backups')).accountId;
    return accountId;
  }

  it('backs a real Odoo tenant up, restores it after a change: the data of the backup is back and the admin logs in', async () => {
    const test = context.test();
    const token = context.operatorToken();
    const name = `rbk${Date.now().toString(36)}`;
    const created = await test.http.post(
      '/api/v1/tenants',
      {
        name,
        plan: 'basic',
        template: 'blank',
        adminEmail: `admin@${name}.example.com`,
        adminPassword: context.adminPassword,
        accountId: await ownerAccount(),
      },
      { token },
    );
    expect(created.status, created.text).toBe(202);
    await waitForState(name, 'running');
    await mark(name, context.adminPassword, 'before');
    const atBackup = await marks(name, context.adminPassword);
    expect(atBackup).toEqual({ partners: ['Mark before'], attachments: { 'mark-before.txt': 'content of before' }, inFilestore: true });

    const accepted = await test.http.post(`/api/v1/tenants/${name}/backups`, {}, { token });
    expect(accepted.status, accepted.text).toBe(202);
    const backupId = accepted.body.backup.id as string;
    const backup = await waitFor(
      'the backup to settle',
      async () => {
        const view = (await test.http.get(`/api/v1/tenants/${name}/backups/${backupId}`, { token })).body;
        return view.state === 'running' ? undefined : view;
      },
      300_000,
      250,
    );
    expect(backup.state, backup.failureReason).toBe('verified');
    expect(backup.odooVersion).toBe(series);

    await mark(name, context.adminPassword, 'after');
    await call(name, context.adminPassword, 'res.partner', 'write', [
      (await call(name, context.adminPassword, 'res.partner', 'search', [[['name', '=', 'Mark before']]])) as number[],
      { name: 'Mark before, renamed' },
    ]);
    expect((await marks(name, context.adminPassword)).partners).toEqual(['Mark after', 'Mark before, renamed']);

    const restoring = await test.http.post(`/api/v1/tenants/${name}/backups/${backupId}/restore`, {}, { token });
    expect(restoring.status, restoring.text).toBe(202);
    const restore = await waitFor(
      'the restore to settle',
      async () => {
        const view = (await test.http.get(`/api/v1/tenants/${name}/restores/${restoring.body.restore.id}`, { token })).body;
        return view.state === 'running' ? undefined : view;
      },
      300_000,
      250,
    );
    expect(restore.state, restore.failureReason).toBe('succeeded');
    await waitForState(name, 'running');

    const login = await waitFor('the admin to log in after the restore', async () => {
      const answer = await odooLogin(
        context.port(),
        context.tenantHost(name),
        `t_${name}`,
        `admin@${name}.example.com`,
        context.adminPassword,
      );
      return answer.body.result?.uid ? answer.body.result.uid : undefined;
    });
    expect(login).toBe(2);
    expect(await marks(name, context.adminPassword)).toEqual(atBackup);
    backedUp = name;
  }, 900_000);

  it("imports a zip made by the real Odoo's database manager (/web/database/backup) into a new tenant with the same data", async () => {
    if (!backedUp) throw new Error('the backup scenario above did not finish: there is no tenant to export');
    const source = backedUp;
    const test = context.test();
    const token = context.operatorToken();
    // The test's own Odoo on the tenant's database, with a master password it knows and the
    // database manager on: what an Odoo installation elsewhere offers its administrator.
    const dir = mkdtempSync(join(tmpdir(), 'real-odoo-export-'));
    const admin = new URL(postgresAdminUrl());
    const httpPort = await freeTestPort();
    const masterPassword = 'test-master-password';
    const config = join(dir, 'odoo.conf');
    writeFileSync(
      config,
      [
        '[options]',
        `admin_passwd = ${masterPassword}`,
        `db_host = ${admin.hostname}`,
        `db_port = ${admin.port || 5432}`,
        `db_user = ${decodeURIComponent(admin.username)}`,
        'list_db = True',
        // Serve no database: the route needs none, and with one listed (the platform's own, which
        // its user owns) Odoo would route every request into it.
        'dbfilter = ^no-database-here$',
        `data_dir = ${join(test.config.dataDir, 'odoo')}`,
        `http_port = ${httpPort}`,
        'http_interface = 127.0.0.1',
        'workers = 0',
        'max_cron_threads = 0',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    let odoo: ChildProcess | undefined;
    try {
      // The database password in the environment (libpq reads it), never on a command line.
      odoo = spawn(odooBin, ['-c', config], {
        env: { ...process.env, PGPASSWORD: decodeURIComponent(admin.password) },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      odoo.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-4000);
      });
      const form = new URLSearchParams({ master_pwd: masterPassword, name: `t_${source}`, backup_format: 'zip' });
      const answered = await waitFor(
        'the export Odoo to answer',
        async () => {
          if (odoo?.exitCode !== null) throw new Error(`the export Odoo exited: ${stderr}`);
          return fetch(`http://127.0.0.1:${httpPort}/web/database/backup`, { method: 'POST', body: form }).catch(() => undefined);
        },
        180_000,
        500,
      );
      const zip = Buffer.from(await answered.arrayBuffer());
      // Odoo answers the zip as application/octet-stream, named <database>_<time>.zip.
      if (answered.status !== 200 || !answered.headers.get('content-disposition')?.includes('.zip'))
        throw new Error(`/web/database/backup answered ${answered.status}: ${zip.toString().slice(0, 300)}\nOdoo's log: ${stderr}`);
      expect(zip.subarray(0, 2).toString()).toBe('PK');

      const uploaded = await fetch(`${test.url}/api/v1/imports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/zip' },
        body: zip,
      });
      const upload = (await uploaded.json()) as { uploadToken: string; manifest: { majorVersion: string; dbName: string } };
      expect(uploaded.status, JSON.stringify(upload)).toBe(201);
      expect(upload.manifest).toMatchObject({ majorVersion: series, dbName: `t_${source}` });
      const name = `imk${Date.now().toString(36)}`;
      const accepted = await test.http.post(
        '/api/v1/imports/tenants',
        {
          uploadToken: upload.uploadToken,
          name,
          plan: 'basic',
          adminEmail: `owner@${name}.example.com`,
          adminPassword: NEW_PASSWORD,
          accountId: await ownerAccount(),
        },
        { token },
      );
      expect(accepted.status, accepted.text).toBe(202);
      await waitForState(name, 'running');
      const login = await waitFor('the admin of the imported tenant to log in', async () => {
        const answer = await odooLogin(context.port(), context.tenantHost(name), `t_${name}`, `owner@${name}.example.com`, NEW_PASSWORD);
        return answer.body.result?.uid ? answer.body.result.uid : undefined;
      });
      expect(login).toBe(2);
      expect(await marks(name, NEW_PASSWORD)).toEqual({
        partners: ['Mark before'],
        attachments: { 'mark-before.txt': 'content of before' },
        inFilestore: true,
      });
    } finally {
      odoo?.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 900_000);
}
