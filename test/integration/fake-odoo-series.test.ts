import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderOdooConfig } from '../../src/odoo/index.js';
import { quoteIdentifier, quoteLiteral, withConnection } from '../../src/postgres/index.js';
import { freeTestPort } from '../helpers/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

/**
 * The fake Odoo follows the series it claims (FAKE_ODOO_VERSION, what `--version` prints) and
 * the mode it runs in, where real Odoo 16, 17 and 18 differ or where the platform depends on
 * what Odoo really does: which databases' scheduled actions run (threaded: registries already
 * loaded in the process; prefork cron workers: db_name, else the databases the role owns).
 */

const ODOO_BIN = resolve(import.meta.dirname, '../fixtures/fake-odoo/odoo-bin');
const suffix = randomBytes(3).toString('hex');
const ROLE = `fs_pool_${suffix}`;
const PASSWORD = `pw-${suffix}`;

let dbA: TestDatabase;
let dbB: TestDatabase;
let workDir: string;
const children = new Set<ChildProcess>();

function admin<T>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  return withConnection(url, async (client) => (await client.query(sql, values)).rows as T[]);
}

function writeConfig(name: string, options: Parameters<typeof renderOdooConfig>[0]): string {
  const path = join(workDir, `${name}.conf`);
  writeFileSync(
    path,
    renderOdooConfig({
      db_host: dbA.host,
      db_port: dbA.port,
      db_user: ROLE,
      db_password: PASSWORD,
      data_dir: join(workDir, 'data'),
      ...options,
    }),
    { mode: 0o600 },
  );
  return path;
}

interface RunningOdoo {
  child: ChildProcess;
  output(): string;
  /** Resolves when a line matching `pattern` appears after the output seen so far. */
  next(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

function startOdoo(args: string[], env: Record<string, string> = {}): RunningOdoo {
  const child = spawn(ODOO_BIN, args, {
    env: { ...process.env, NODE: process.execPath, FAKE_ODOO_CRON_INTERVAL_MS: '300', ...env },
  });
  children.add(child);
  let output = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const waiter of [...waiters]) waiter();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<void>((r) => child.on('close', () => r()));
  return {
    child,
    output: () => output,
    next(pattern, timeoutMs = 20_000) {
      const from = output.length;
      return new Promise((resolvePromise, reject) => {
        const check = () => {
          const match = pattern.exec(output.slice(from));
          if (match) {
            waiters.delete(check);
            clearTimeout(timer);
            resolvePromise(match[0]);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${output.slice(-3000)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
      children.delete(child);
    },
  };
}

function http(port: number, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }>((resolvePromise, reject) => {
    const request = httpRequest(
      { host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: init.headers ?? {} },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolvePromise({ status: response.statusCode ?? 0, headers: response.headers, text }));
      },
    );
    request.on('error', reject);
    request.end(init.body);
  });
}

async function waitHealthy(port: number, odoo: RunningOdoo): Promise<void> {
  for (;;) {
    try {
      if ((await http(port, '/web/health')).status === 200) return;
    } catch {
      // not listening yet
    }
    if (odoo.child.exitCode !== null) throw new Error(`fake odoo exited early:\n${odoo.output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The auto-vacuum job made due, never run. */
async function makeCronDue(database: TestDatabase): Promise<void> {
  await admin(database.url, "UPDATE ir_cron SET nextcall = (now() AT TIME ZONE 'UTC') - interval '1 hour', lastcall = NULL WHERE id = 1");
}

async function lastcall(database: TestDatabase): Promise<string | null> {
  const [row] = await admin<{ lastcall: string | null }>(database.url, 'SELECT lastcall::text FROM ir_cron WHERE id = 1');
  return row?.lastcall ?? null;
}

async function waitForLastcall(database: TestDatabase, odoo: RunningOdoo): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await lastcall(database);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`the due job of ${database.name} did not run; output:\n${odoo.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'fake-odoo-series-'));
  [dbA, dbB] = await Promise.all([createTestDatabase('fs_a'), createTestDatabase('fs_b')]);
  await admin(dbA.adminUrl, `CREATE ROLE ${quoteIdentifier(ROLE)} LOGIN PASSWORD ${quoteLiteral(PASSWORD)}`);
  for (const database of [dbA, dbB]) {
    // A pool's role owns the databases it serves: list_dbs lists exactly those.
    await admin(dbA.adminUrl, `ALTER DATABASE ${quoteIdentifier(database.name)} OWNER TO ${quoteIdentifier(ROLE)}`);
    const init = startOdoo(['-c', writeConfig('init', {}), '-d', database.name, '-i', 'base', '--without-demo=all', '--stop-after-init']);
    await new Promise((r) => init.child.on('close', r));
    expect(init.child.exitCode, init.output()).toBe(0);
    children.delete(init.child);
  }
}, 60_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all([dbA, dbB].filter(Boolean).map((database) => database.drop()));
  await admin(postgresUrl(), `DROP ROLE IF EXISTS ${quoteIdentifier(ROLE)}`);
  rmSync(workDir, { recursive: true, force: true });
});

function postgresUrl(): string {
  return dbA.adminUrl;
}

describe('fake odoo: scheduled actions as Odoo runs them in each mode', () => {
  it('threaded, no HTTP, no db_name (the old pool cron process): no registry is loaded, so no job runs', async () => {
    await Promise.all([makeCronDue(dbA), makeCronDue(dbB)]);
    const odoo = startOdoo([
      '-c',
      writeConfig('threaded-idle', { http_enable: false, workers: 0, max_cron_threads: 1, log_level: 'debug' }),
    ]);
    await odoo.next(/cron0 round done \(0 databases\)/);
    await odoo.next(/cron0 round done \(0 databases\)/);
    await odoo.stop();
    expect([await lastcall(dbA), await lastcall(dbB)]).toEqual([null, null]);
  });

  it('threaded with HTTP: only the database a request opened gets its jobs run', async () => {
    await Promise.all([makeCronDue(dbA), makeCronDue(dbB)]);
    const port = await freeTestPort();
    const config = writeConfig('threaded-http', {
      http_port: port,
      http_interface: '127.0.0.1',
      workers: 0,
      max_cron_threads: 1,
      dbfilter: '^%d$',
      log_level: 'debug',
    });
    const odoo = startOdoo(['-c', config]);
    await waitHealthy(port, odoo);
    const login = await http(port, '/web/session/authenticate', {
      method: 'POST',
      headers: { Host: `${dbA.name}.example.test`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 1, params: { db: dbA.name, login: 'admin', password: 'admin' } }),
    });
    expect(JSON.parse(login.text).result?.uid).toBe(2);
    await waitForLastcall(dbA, odoo);
    await odoo.next(/cron0 round done \(1 databases\)/);
    await odoo.stop();
    expect(await lastcall(dbB)).toBeNull();
  });

  it('threaded with db_name: the preloaded database gets its jobs run', async () => {
    await Promise.all([makeCronDue(dbA), makeCronDue(dbB)]);
    const odoo = startOdoo(['-c', writeConfig('threaded-db', { http_enable: false, workers: 0, max_cron_threads: 1, db_name: dbB.name })]);
    await waitForLastcall(dbB, odoo);
    await odoo.stop();
    expect(await lastcall(dbA)).toBeNull();
  });

  it("prefork cron workers without db_name walk list_dbs (the role's databases); each job runs once per due time", async () => {
    await Promise.all([makeCronDue(dbA), makeCronDue(dbB)]);
    const odoo = startOdoo(['-c', writeConfig('prefork', { http_enable: false, workers: 1, max_cron_threads: 2, log_level: 'debug' })]);
    const [ranA, ranB] = [await waitForLastcall(dbA, odoo), await waitForLastcall(dbB, odoo)];
    await odoo.next(/WorkerCron \(\d+\/0\) round done \(2 databases\)/);
    await odoo.next(/WorkerCron \(\d+\/1\) round done \(2 databases\)/);
    await odoo.stop();
    // Not due any more: the next rounds left it alone, and its next call is a day on.
    expect([await lastcall(dbA), await lastcall(dbB)]).toEqual([ranA, ranB]);
    const [next] = await admin<{ later: boolean }>(
      dbA.url,
      "SELECT nextcall > (now() AT TIME ZONE 'UTC') + interval '22 hours' AS later FROM ir_cron WHERE id = 1",
    );
    expect(next?.later).toBe(true);
    expect(odoo.output().match(/Starting job `Base: Auto-vacuum internal data`/g)?.length).toBe(2);
  });

  it('prefork cron workers with db_name walk only those databases', async () => {
    await Promise.all([makeCronDue(dbA), makeCronDue(dbB)]);
    const odoo = startOdoo([
      '-c',
      writeConfig('prefork-db', { http_enable: false, workers: 1, max_cron_threads: 1, db_name: dbA.name, log_level: 'debug' }),
    ]);
    await waitForLastcall(dbA, odoo);
    await odoo.next(/WorkerCron \(\d+\/0\) round done \(1 databases\)/);
    await odoo.stop();
    expect(await lastcall(dbB)).toBeNull();
  });
});

/** A threaded fake Odoo of `serie` with HTTP, the host's first label selecting the database. */
async function startHttpOdoo(serie: string, env: Record<string, string> = {}): Promise<{ odoo: RunningOdoo; port: number }> {
  const port = await freeTestPort();
  const config = writeConfig(`http-${serie}-${port}`, {
    http_port: port,
    http_interface: '127.0.0.1',
    workers: 0,
    max_cron_threads: 0,
    dbfilter: '^%d$',
  });
  const odoo = startOdoo(['-c', config], { FAKE_ODOO_VERSION: serie, ...env });
  await waitHealthy(port, odoo);
  return { odoo, port };
}

async function adminSession(port: number, database: TestDatabase): Promise<string> {
  const login = await http(port, '/web/session/authenticate', {
    method: 'POST',
    headers: { Host: `${database.name}.example.test`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 1, params: { db: database.name, login: 'admin', password: 'admin' } }),
  });
  expect(JSON.parse(login.text).result?.uid).toBe(2);
  const cookie = login.headers['set-cookie'];
  return ((Array.isArray(cookie) ? cookie[0] : cookie) ?? '').split(';')[0] ?? '';
}

async function storedBundles(database: TestDatabase): Promise<string[]> {
  const rows = await admin<{ url: string }>(database.url, "SELECT url FROM ir_attachment WHERE url LIKE '/web/assets/%' ORDER BY url");
  return rows.map((row) => row.url);
}

const assetLinks = (page: string) => [...page.matchAll(/(?:href|src)="(\/web\/assets\/[^"]+)"/g)].map((match) => match[1] as string);

describe.each([
  ['16.0', 'web.assets_backend', true],
  ['17.0', 'web.assets_backend', false],
  ['18.0', 'web.assets_web', false],
] as const)('fake odoo %s: web assets', (serie, backendBundle, compiledOnRender) => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase(`fs_assets_${serie.slice(0, 2)}`);
    await admin(dbA.adminUrl, `ALTER DATABASE ${quoteIdentifier(database.name)} OWNER TO ${quoteIdentifier(ROLE)}`);
    const init = startOdoo(['-c', writeConfig('init', {}), '-d', database.name, '-i', 'base', '--without-demo=all', '--stop-after-init'], {
      FAKE_ODOO_VERSION: serie,
    });
    await new Promise((r) => init.child.on('close', r));
    children.delete(init.child);
  }, 30_000);

  afterAll(() => database?.drop());

  it(
    compiledOnRender
      ? 'compiles and stores bundles while rendering a page'
      : 'only links bundles from a page, and compiles one when it is requested',
    async () => {
      expect(await storedBundles(database)).toEqual([]);
      const { odoo, port } = await startHttpOdoo(serie);
      const host = { Host: `${database.name}.example.test` };
      const loginPage = await http(port, '/web/login', { headers: host });
      expect(loginPage.status).toBe(200);
      const links = assetLinks(loginPage.text);
      expect(links.map((link) => link.split('/').pop())).toEqual(['web.assets_frontend.min.css', 'web.assets_frontend.min.js']);
      expect((await storedBundles(database)).length).toBe(compiledOnRender ? 2 : 0);
      for (const link of links) expect((await http(port, link, { headers: host })).status).toBe(200);
      expect(await storedBundles(database)).toEqual([...links].sort());

      const cookie = await adminSession(port, database);
      const backend = await http(port, '/web', { headers: { ...host, Cookie: cookie } });
      expect(backend.status).toBe(200);
      const backendLinks = assetLinks(backend.text);
      expect(backendLinks.map((link) => link.split('/').pop())).toEqual([`${backendBundle}.min.css`, `${backendBundle}.min.js`]);
      for (const link of backendLinks) expect((await http(port, link, { headers: host })).status).toBe(200);
      const compiled = odoo.output().match(/compiled web\.assets/g)?.length;
      // Served again: from storage, nothing compiled.
      for (const link of [...links, ...backendLinks]) expect((await http(port, link, { headers: host })).status).toBe(200);
      await http(port, '/web/login', { headers: host });
      expect(odoo.output().match(/compiled web\.assets/g)?.length).toBe(compiled);
      expect(compiled).toBe(4);
      await odoo.stop();
    },
  );
});

describe('fake odoo: an installation missing a Python requirement', () => {
  it('Odoo 18 without geoip2: the login succeeds, every later request of the session fails with the traceback', async () => {
    const { odoo, port } = await startHttpOdoo('18.0', { FAKE_ODOO_MISSING_PACKAGES: 'geoip2' });
    const host = { Host: `${dbA.name}.example.test` };
    const cookie = await adminSession(port, dbA);
    const info = await http(port, '/web/session/get_session_info', {
      method: 'POST',
      headers: { ...host, Cookie: cookie, 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 2, params: {} }),
    });
    const error = JSON.parse(info.text).error;
    expect(error.data.name).toBe('odoo.exceptions.AccessDenied');
    expect(error.data.debug).toContain("NameError: name 'GEOIP_EMPTY_COUNTRY' is not defined");
    expect((await http(port, '/web', { headers: { ...host, Cookie: cookie } })).status).toBe(403);
    await odoo.stop();
  });

  it('Odoo 17 without geoip2 (optional there): the session works', async () => {
    const { odoo, port } = await startHttpOdoo('17.0', { FAKE_ODOO_MISSING_PACKAGES: 'geoip2' });
    const host = { Host: `${dbA.name}.example.test` };
    const cookie = await adminSession(port, dbA);
    const info = await http(port, '/web/session/get_session_info', {
      method: 'POST',
      headers: { ...host, Cookie: cookie, 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 2, params: {} }),
    });
    expect(JSON.parse(info.text).result?.uid).toBe(2);
    expect((await http(port, '/web', { headers: { ...host, Cookie: cookie } })).status).toBe(200);
    await odoo.stop();
  });

  it('refuses to claim a series it does not model', async () => {
    const odoo = startOdoo(['--version'], { FAKE_ODOO_VERSION: '15.0' });
    await new Promise((r) => odoo.child.on('close', r));
    expect(odoo.child.exitCode).toBe(1);
    expect(odoo.output()).toMatch(/not a series it models/);
  });
});
