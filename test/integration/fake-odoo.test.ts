import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashOdooPassword, renderOdooConfig, signalOdooCaches, verifyOdooPassword } from '../../src/odoo/index.js';
import { quoteIdentifier, quoteLiteral, withConnection } from '../../src/postgres/index.js';
import { linkPlatformAddons, SERVER_WIDE_MODULES } from '../../src/runtimes/process/index.js';
import { freeTestPort } from '../helpers/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

/**
 * Self-test of the fake Odoo (test/fixtures/fake-odoo): the command lines and HTTP surface the
 * platform uses, on a real PostgreSQL, with database roles set up the way the platform does it
 * (a role owns its databases, CONNECT revoked from PUBLIC).
 */

const ODOO_BIN = resolve(import.meta.dirname, '../fixtures/fake-odoo/odoo-bin');
const suffix = randomBytes(3).toString('hex');
const roles = { pool: `fo_pool_${suffix}`, solo: `fo_solo_${suffix}`, builder: `fo_builder_${suffix}` };
const ROLE_PASSWORD = `pw-${suffix}`;

let dbA: TestDatabase;
let dbB: TestDatabase;
let dbC: TestDatabase;
let workDir: string;
const createdDatabases: string[] = [];
const children = new Set<ChildProcess>();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** node:http rather than fetch: fetch does not let a test choose the Host header. */
function http(
  port: number,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpAnswer> {
  return new Promise((resolvePromise, reject) => {
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

function cookieOf(answer: HttpAnswer): string {
  const header = answer.headers['set-cookie'];
  return (Array.isArray(header) ? header[0] : header)?.split(';')[0] ?? '';
}

function admin<T>(sql: string, database?: TestDatabase): Promise<T[]> {
  return withConnection(database ? database.url : dbA.adminUrl, async (client) => (await client.query(sql)).rows as T[]);
}

function writeConfig(name: string, options: Parameters<typeof renderOdooConfig>[0]): string {
  const path = join(workDir, `${name}.conf`);
  writeFileSync(path, renderOdooConfig({ db_host: dbA.host, db_port: dbA.port, data_dir: join(workDir, 'data'), ...options }), {
    mode: 0o600,
  });
  return path;
}

function runOdoo(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(ODOO_BIN, args, { env: { ...process.env, NODE: process.execPath, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

interface RunningOdoo {
  child: ChildProcess;
  port: number;
  output(): string;
  exited: Promise<number | null>;
  startupMs: number;
}

async function startOdoo(config: string, port: number): Promise<RunningOdoo> {
  const started = performance.now();
  const child = spawn(ODOO_BIN, ['-c', config], { env: { ...process.env, NODE: process.execPath } });
  children.add(child);
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolvePromise) => child.on('close', (code) => resolvePromise(code)));
  exited.then(() => children.delete(child));
  for (;;) {
    try {
      if ((await http(port, '/web/health')).status === 200) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error(`fake odoo exited early:\n${output}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return { child, port, output: () => output, exited, startupMs: performance.now() - started };
}

interface JsonRpcAnswer {
  id: number;
  result?: unknown;
  error?: { code: number; message: string; data: { name: string; message: string } };
}

async function postJson(port: number, path: string, params: unknown, headers: Record<string, string> = {}) {
  const response = await http(port, path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 7, params }),
  });
  return { response, body: JSON.parse(response.text) as JsonRpcAnswer };
}

function xmlValue(value: unknown): string {
  if (typeof value === 'string') return `<value><string>${value}</string></value>`;
  if (typeof value === 'number') return `<value><int>${value}</int></value>`;
  if (typeof value === 'boolean') return `<value><boolean>${value ? 1 : 0}</boolean></value>`;
  if (Array.isArray(value)) return `<value><array><data>${value.map(xmlValue).join('')}</data></array></value>`;
  const members = Object.entries(value as Record<string, unknown>).map(([k, v]) => `<member><name>${k}</name>${xmlValue(v)}</member>`);
  return `<value><struct>${members.join('')}</struct></value>`;
}

async function xmlRpc(port: number, service: string, method: string, params: unknown[]): Promise<string> {
  const body = `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params
    .map((p) => `<param>${xmlValue(p)}</param>`)
    .join('')}</params></methodCall>`;
  const response = await http(port, `/xmlrpc/2/${service}`, { method: 'POST', headers: { 'Content-Type': 'text/xml' }, body });
  expect(response.status).toBe(200);
  return response.text;
}

/** Open /websocket by hand and return the echo of one masked text frame. */
function websocketEcho(port: number, text: string, origin?: string): Promise<{ status: string; echo: string }> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect(port, '127.0.0.1');
    let buffer = Buffer.alloc(0);
    let status = '';
    socket.on('connect', () => {
      socket.write(
        'GET /websocket HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${origin ? `Origin: ${origin}\r\n` : ''}\r\n`,
      );
    });
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!status) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString();
        status = head.split('\r\n')[0] ?? '';
        buffer = buffer.subarray(end + 4);
        if (!status.includes('101')) {
          socket.destroy();
          resolvePromise({ status, echo: '' });
          return;
        }
        expect(head).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
        const payload = Buffer.from(text);
        const mask = Buffer.from([1, 2, 3, 4]);
        const masked = Buffer.from(payload.map((byte, index) => byte ^ (mask[index % 4] ?? 0)));
        socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
      }
      if (buffer.length >= 2 && buffer.length >= 2 + (buffer[1] ?? 0)) {
        const echo = buffer.subarray(2, 2 + (buffer[1] ?? 0)).toString();
        socket.destroy();
        resolvePromise({ status, echo });
      }
    });
    socket.on('error', reject);
  });
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'fake-odoo-test-'));
  [dbA, dbB, dbC] = await Promise.all([createTestDatabase('fo_a'), createTestDatabase('fo_b'), createTestDatabase('fo_c')]);
  const password = quoteLiteral(ROLE_PASSWORD);
  await admin(`CREATE ROLE ${quoteIdentifier(roles.pool)} LOGIN PASSWORD ${password}`);
  await admin(`CREATE ROLE ${quoteIdentifier(roles.solo)} LOGIN PASSWORD ${password}`);
  await admin(`CREATE ROLE ${quoteIdentifier(roles.builder)} LOGIN CREATEDB PASSWORD ${password}`);
  // A pool role owns the databases it serves (Odoo lists only databases owned by its role).
  for (const [database, owner] of [
    [dbA, roles.pool],
    [dbB, roles.pool],
    [dbC, roles.solo],
  ] as const) {
    await admin(`ALTER DATABASE ${quoteIdentifier(database.name)} OWNER TO ${quoteIdentifier(owner)}`);
    await admin(`REVOKE CONNECT ON DATABASE ${quoteIdentifier(database.name)} FROM PUBLIC`);
  }
  const pool = writeConfig('pool-init', { db_user: roles.pool, db_password: ROLE_PASSWORD });
  const solo = writeConfig('solo-init', { db_user: roles.solo, db_password: ROLE_PASSWORD });
  for (const [config, database] of [
    [pool, dbA],
    [pool, dbB],
    [solo, dbC],
  ] as const) {
    const run = await runOdoo(['-c', config, '-d', database.name, '-i', 'sale,crm', '--without-demo=all', '--stop-after-init']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
  }
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all([dbA, dbB, dbC].filter(Boolean).map((database) => database.drop()));
  for (const name of createdDatabases) await admin(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
  for (const role of Object.values(roles)) await admin(`DROP ROLE IF EXISTS ${quoteIdentifier(role)}`);
  rmSync(workDir, { recursive: true, force: true });
});

describe('fake odoo: odoo-bin -i ... --stop-after-init', () => {
  it('creates the Odoo 16 tables and records the platform reads and writes', async () => {
    const tables = await admin<{ tablename: string }>("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", dbA);
    expect(tables.map((t) => t.tablename)).toEqual(
      expect.arrayContaining([
        'ir_config_parameter',
        'ir_cron',
        'ir_mail_server',
        'ir_module_module',
        'res_company',
        'res_partner',
        'res_users',
      ]),
    );
    const users = await admin<{ id: number; login: string; active: boolean; share: boolean; password: string | null; partner_id: number }>(
      'SELECT id, login, active, share, password, partner_id FROM res_users ORDER BY id',
      dbA,
    );
    expect(users[0]).toMatchObject({ id: 1, login: '__system__', active: false });
    expect(users[1]).toMatchObject({ id: 2, login: 'admin', active: true, share: false });
    expect(users[1]?.password).toMatch(/^\$pbkdf2-sha512\$600000\$/);
    // The platform's own verifier accepts the fake's hash.
    expect(await verifyOdooPassword('admin', users[1]?.password ?? '')).toBe(true);
    const company = await admin<{ name: string; partner_id: number }>('SELECT name, partner_id FROM res_company WHERE id = 1', dbA);
    expect(company).toEqual([{ name: 'My Company', partner_id: 1 }]);
    const parameters = await admin<{ key: string; value: string }>('SELECT key, value FROM ir_config_parameter', dbA);
    const byKey = Object.fromEntries(parameters.map((p) => [p.key, p.value]));
    expect(byKey['database.uuid']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(byKey['database.secret']).toMatch(/^[0-9a-f-]{36}$/);
    expect(byKey['database.create_date']).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(byKey['web.base.url']).toBe('http://localhost:8069');
    const modules = await admin<{ name: string; state: string }>('SELECT name, state FROM ir_module_module ORDER BY name', dbA);
    expect(modules).toEqual(['base', 'crm', 'sale', 'web'].map((name) => ({ name, state: 'installed' })));
    const filestore = join(workDir, 'data', 'filestore', dbA.name);
    expect(readdirSync(filestore, { recursive: true }).length).toBeGreaterThan(1);
  });

  it('re-running -i only adds modules', async () => {
    const config = writeConfig('pool-reinit', { db_user: roles.pool, db_password: ROLE_PASSWORD });
    const run = await runOdoo(['-c', config, '-d', dbA.name, '-i', 'website', '--stop-after-init']);
    expect(run.code, run.stdout).toBe(0);
    const modules = await admin<{ name: string }>('SELECT name FROM ir_module_module ORDER BY name', dbA);
    expect(modules.map((m) => m.name)).toEqual(['base', 'crm', 'sale', 'web', 'website']);
    expect(await admin('SELECT id FROM res_users', dbA)).toHaveLength(4);
  });

  it('creates a missing database when its role may, like Odoo', async () => {
    const name = `fo_tpl_${suffix}`;
    createdDatabases.push(name);
    const config = writeConfig('builder', { db_user: roles.builder, db_password: ROLE_PASSWORD, logfile: join(workDir, 'builder.log') });
    const run = await runOdoo(['-c', config, '-d', name, '-i', 'point_of_sale', '--without-demo=all', '--stop-after-init']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const owner = await admin<{ owner: string }>(
      `SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = ${quoteLiteral(name)}`,
    );
    expect(owner).toEqual([{ owner: roles.builder }]);
    const log = readFileSync(join(workDir, 'builder.log'), 'utf8');
    expect(log).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \d+ INFO \? odoo: Odoo version 16\.0/m);
    expect(log).toMatch(new RegExp(`\\d+ INFO ${name} odoo\\.modules\\.loading: init db`));
  });

  it('neutralize deactivates crons and mail servers and flags the database', async () => {
    await admin("INSERT INTO ir_mail_server (name, smtp_host) VALUES ('Production SMTP', 'smtp.example.com')", dbB);
    const config = writeConfig('pool-neutralize', { db_user: roles.pool, db_password: ROLE_PASSWORD });
    const run = await runOdoo(['neutralize', '-c', config, '-d', dbB.name]);
    expect(run.code, run.stdout).toBe(0);
    expect(run.stdout).toContain('Neutralization finished');
    expect(await admin('SELECT cron_name, active FROM ir_cron ORDER BY id', dbB)).toEqual([
      { cron_name: 'Base: Auto-vacuum internal data', active: true },
      { cron_name: 'Base: Portal Users Deletion', active: false },
    ]);
    expect(await admin('SELECT active FROM ir_mail_server', dbB)).toEqual([{ active: false }]);
    expect(await admin("SELECT value FROM ir_config_parameter WHERE key = 'database.is_neutralized'", dbB)).toEqual([{ value: 'true' }]);
  });

  it('prints its version like odoo-bin --version', async () => {
    const run = await runOdoo(['--version']);
    expect(run).toMatchObject({ code: 0, stdout: 'Odoo Server 16.0\n' });
    expect((await runOdoo(['--version'], { FAKE_ODOO_VERSION: '17.0' })).stdout).toBe('Odoo Server 17.0\n');
  });

  it('fails like Odoo on bad command lines, bad config and unreachable databases', async () => {
    const missing = await runOdoo(['-c', join(workDir, 'nope.conf'), '--stop-after-init']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('nope.conf');

    const badPort = join(workDir, 'bad-port.conf');
    writeFileSync(badPort, '[options]\nhttp_port = eighty\n');
    const badPortRun = await runOdoo(['-c', badPort]);
    expect(badPortRun.code).not.toBe(0);
    expect(badPortRun.stderr).toContain("option http_port: invalid integer value: 'eighty'");

    const unknown = await runOdoo(['--frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no such option: --frobnicate');

    const superuser = await runOdoo(['-c', writeConfig('as-postgres', { db_user: 'postgres' }), '--stop-after-init']);
    expect(superuser.code).toBe(1);
    expect(superuser.stderr).toContain("Using the database user 'postgres' is a security risk, aborting.");

    const closedPort = await freeTestPort();
    const unreachable = await runOdoo([
      '-c',
      writeConfig('unreachable', { db_user: roles.pool, db_password: ROLE_PASSWORD, db_port: closedPort }),
      '-d',
      'whatever',
      '-i',
      'base',
      '--stop-after-init',
    ]);
    expect(unreachable.code).not.toBe(0);
    expect(unreachable.stderr).toContain('psycopg2.OperationalError');

    const noDatabase = await runOdoo(['neutralize', '-c', writeConfig('neutralize-no-db', { db_user: roles.pool })]);
    expect(noDatabase.code).toBe(1);
    expect(noDatabase.stdout).toContain('Neutralize command needs a database name');
  });
});

describe('fake odoo: a multi-database pool (dbfilter ^%d$, list_db False, proxy_mode)', () => {
  let odoo: RunningOdoo;
  let port: number;
  const hostOf = (database: TestDatabase) => `${database.name}.tenants.test`;

  beforeAll(async () => {
    const adminA = await hashOdooPassword('secret-a');
    const adminB = await hashOdooPassword('secret-b', { rounds: 1000 });
    await admin(`UPDATE res_users SET password = ${quoteLiteral(adminA)} WHERE id = 2`, dbA);
    await admin(`UPDATE res_users SET login = 'admin-b', password = ${quoteLiteral(adminB)} WHERE id = 2`, dbB);
    port = await freeTestPort();
    const config = writeConfig('pool', {
      db_user: roles.pool,
      db_password: ROLE_PASSWORD,
      dbfilter: '^%d$',
      list_db: false,
      proxy_mode: true,
      http_interface: '127.0.0.1',
      http_port: port,
      logfile: join(workDir, 'pool.log'),
    });
    odoo = await startOdoo(config, port);
  });

  it('starts fast and answers /web/health without a database', async () => {
    console.info(`fake odoo pool: spawn to healthy in ${odoo.startupMs.toFixed(0)} ms`);
    expect(odoo.startupMs).toBeLessThan(1500);
    const response = await http(port, '/web/health');
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(JSON.parse(response.text)).toEqual({ status: 'pass' });
  });

  it('authenticates the admin of the database the host selects, with a session cookie', async () => {
    const { response, body } = await postJson(
      port,
      '/web/session/authenticate',
      { db: dbA.name, login: 'admin', password: 'secret-a' },
      {
        Host: hostOf(dbA),
      },
    );
    expect(body.result).toMatchObject({ uid: 2, db: dbA.name, username: 'admin', server_version: '16.0' });
    expect(response.headers['set-cookie']?.[0]).toMatch(/^session_id=[\w-]+;.*HttpOnly; Path=\//);
    expect(body.id).toBe(7);
  });

  it('refuses a wrong password with an Odoo AccessDenied error', async () => {
    const { response, body } = await postJson(
      port,
      '/web/session/authenticate',
      { db: dbA.name, login: 'admin', password: 'nope' },
      {
        Host: hostOf(dbA),
      },
    );
    expect(response.status).toBe(200);
    expect(body.error).toMatchObject({
      code: 200,
      message: 'Odoo Server Error',
      data: { name: 'odoo.exceptions.AccessDenied', message: 'Access Denied' },
    });
  });

  it("refuses on /web a database the host's dbfilter does not select, honouring X-Forwarded-Host", async () => {
    const wrongHost = await postJson(
      port,
      '/web/session/authenticate',
      { db: dbB.name, login: 'admin-b', password: 'secret-b' },
      {
        Host: hostOf(dbA),
      },
    );
    expect(wrongHost.body.error?.data).toMatchObject({ name: 'odoo.exceptions.AccessError', message: 'Database not found.' });
    const forwarded = await postJson(
      port,
      '/web/session/authenticate',
      { db: dbB.name, login: 'admin-b', password: 'secret-b' },
      {
        Host: `127.0.0.1:${port}`,
        'X-Forwarded-Host': hostOf(dbB),
      },
    );
    expect(forwarded.body.result).toMatchObject({ uid: 2, db: dbB.name, username: 'admin-b' });
  });

  it('serves the login page only for a host that selects a database', async () => {
    const page = await http(port, '/web/login', { headers: { Host: hostOf(dbA) } });
    expect(page.status).toBe(200);
    expect(page.text).toContain('name="login"');
    const unknown = await http(port, '/web/login', { headers: { Host: 'nobody.tenants.test' } });
    expect(unknown.status).toBe(303);
    expect(unknown.headers.location).toBe('/web/database/selector');
    const form = await http(port, '/web/login', {
      method: 'POST',
      headers: { Host: hostOf(dbA), 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'login=admin&password=secret-a&csrf_token=x',
    });
    expect(form.status).toBe(303);
    expect(form.headers.location).toBe('/web');
    const cookie = cookieOf(form);
    expect((await http(port, '/web', { headers: { Host: hostOf(dbA), Cookie: cookie } })).status).toBe(200);
    // The same session presented for another host is logged out (dbfilter rejects its database).
    expect((await http(port, '/web', { headers: { Host: hostOf(dbB), Cookie: cookie } })).status).toBe(303);
    expect((await http(port, '/web', { headers: { Host: hostOf(dbA), Cookie: cookie } })).status).toBe(303);
  });

  it('does NOT apply the dbfilter on /jsonrpc, like real Odoo: the gateway must', async () => {
    const version = await postJson(port, '/jsonrpc', { service: 'common', method: 'version', args: [] });
    expect(version.body.result).toEqual({
      server_version: '16.0',
      server_version_info: [16, 0, 0, 'final', 0, ''],
      server_serie: '16.0',
      protocol_version: 1,
    });
    const crossTenant = await postJson(
      port,
      '/jsonrpc',
      { service: 'common', method: 'login', args: [dbB.name, 'admin-b', 'secret-b'] },
      {
        Host: hostOf(dbA),
      },
    );
    expect(crossTenant.body.result).toBe(2);
    const wrong = await postJson(port, '/jsonrpc', { service: 'common', method: 'authenticate', args: [dbA.name, 'admin', 'bad', {}] });
    expect(wrong.body.result).toBe(false);
  });

  it('answers execute_kw: active internal users, reads, config parameters', async () => {
    const call = (model: string, method: string, args: unknown[], kwargs: Record<string, unknown> = {}, password = 'secret-a') =>
      postJson(port, '/jsonrpc', { service: 'object', method: 'execute_kw', args: [dbA.name, 2, password, model, method, args, kwargs] });
    const internalActive = [
      ['share', '=', false],
      ['active', '=', true],
    ];
    expect((await call('res.users', 'search_count', [internalActive])).body.result).toBe(1);
    await admin(
      `INSERT INTO res_partner (id, name) VALUES (100, 'Clerk'), (101, 'Portal'), (102, 'Former');
       INSERT INTO res_users (login, partner_id, company_id, share, active) VALUES
         ('clerk', 100, 1, false, true), ('portal', 101, 1, true, true), ('former', 102, 1, false, false)`,
      dbA,
    );
    expect((await call('res.users', 'search_count', [internalActive])).body.result).toBe(2);
    expect((await call('res.users', 'search_count', [[['share', '=', false]]])).body.result).toBe(2); // active_test
    expect((await call('res.users', 'search_count', [[]], { context: { active_test: false } })).body.result).toBe(7);
    const read = await call('res.users', 'read', [[2]], { fields: ['login', 'partner_id', 'name'] });
    expect(read.body.result).toEqual([{ id: 2, login: 'admin', partner_id: [3, 'Administrator'], name: 'Administrator' }]);
    const searched = await call('res.users', 'search_read', [['|', ['login', '=', 'clerk'], ['login', 'ilike', 'ADM']]], {
      fields: ['login'],
      order: 'login desc',
    });
    expect(searched.body.result).toEqual([
      { id: expect.any(Number), login: 'clerk' },
      { id: 2, login: 'admin' },
    ]);
    expect((await call('ir.config_parameter', 'get_param', ['web.base.url'])).body.result).toBe('http://localhost:8069');
    expect((await call('ir.config_parameter', 'get_param', ['missing.key', 'fallback'])).body.result).toBe('fallback');
    const modules = await call('ir.module.module', 'search_read', [[['state', '=', 'installed']]], { fields: ['name'] });
    expect((modules.body.result as Array<{ name: string }>).map((m) => m.name)).toContain('sale');
    const denied = await call('res.users', 'search_count', [[]], {}, 'wrong');
    expect(denied.body.error?.data.name).toBe('odoo.exceptions.AccessDenied');
    const badField = await call('res.users', 'read', [[2]], { fields: ['password_crypt'] });
    expect(badField.body.error?.data.name).toBe('builtins.ValueError');
  });

  it("serves get_param from its registry's cache until Odoo's cache signaling moves, as a worker does", async () => {
    const getParam = async (key: string) =>
      (
        await postJson(port, '/jsonrpc', {
          service: 'object',
          method: 'execute_kw',
          args: [dbA.name, 2, 'secret-a', 'ir.config_parameter', 'get_param', [key]],
        })
      ).body.result;
    expect(await getParam('web.base.url')).toBe('http://localhost:8069');
    // Another process (the platform's identity SQL) changes it: this one still has it cached.
    await admin("UPDATE ir_config_parameter SET value = 'http://changed.example' WHERE key = 'web.base.url'", dbA);
    expect(await getParam('web.base.url')).toBe('http://localhost:8069');
    // The platform signals as Odoo's workers do: the 16.0 fake has one cache sequence.
    expect(await withConnection(dbA.url, (client) => signalOdooCaches(client))).toBe(1);
    expect(await getParam('web.base.url')).toBe('http://changed.example');
    await admin("UPDATE ir_config_parameter SET value = 'http://localhost:8069' WHERE key = 'web.base.url'", dbA);
    await withConnection(dbA.url, (client) => signalOdooCaches(client));
    expect(await getParam('web.base.url')).toBe('http://localhost:8069');
  });

  it('refuses to list databases when list_db is False', async () => {
    const { body } = await postJson(port, '/jsonrpc', { service: 'db', method: 'list', args: [] });
    expect(body.error?.data).toMatchObject({ name: 'odoo.exceptions.AccessDenied' });
  });

  it('speaks XML-RPC on /xmlrpc/2 for the database named in the body', async () => {
    expect(await xmlRpc(port, 'common', 'version', [])).toContain('<name>server_serie</name>\n<value><string>16.0</string></value>');
    expect(await xmlRpc(port, 'common', 'authenticate', [dbB.name, 'admin-b', 'secret-b', {}])).toContain('<int>2</int>');
    expect(await xmlRpc(port, 'common', 'authenticate', [dbB.name, 'admin', 'secret-a', {}])).toContain('<boolean>0</boolean>');
    const count = await xmlRpc(port, 'object', 'execute_kw', [
      dbB.name,
      2,
      'secret-b',
      'res.users',
      'search_count',
      [[['share', '=', false]]],
    ]);
    expect(count).toContain('<int>1</int>');
    const fault = await xmlRpc(port, 'object', 'execute_kw', [dbB.name, 2, 'secret-a', 'res.users', 'search_count', [[]]]);
    expect(fault).toContain('<name>faultCode</name>\n<value><int>3</int></value>');
    expect(fault).toContain('Access Denied');
  });

  it('accepts a websocket on the HTTP port in threaded mode (workers = 0)', async () => {
    expect(await websocketEcho(port, 'hello')).toEqual({ status: 'HTTP/1.1 101 Switching Protocols', echo: 'hello' });
  });

  it('refuses a websocket handshake whose Origin names another site', async () => {
    expect(await websocketEcho(port, 'same site', 'http://localhost')).toEqual({
      status: 'HTTP/1.1 101 Switching Protocols',
      echo: 'same site',
    });
    expect((await websocketEcho(port, 'x', 'http://attacker.example')).status).toBe('HTTP/1.1 403 Forbidden');
  });

  it("logs in Odoo's format and stops cleanly on SIGTERM", async () => {
    odoo.child.kill('SIGTERM');
    expect(await odoo.exited).toBe(0);
    const log = readFileSync(join(workDir, 'pool.log'), 'utf8');
    expect(log).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \d+ INFO \? odoo\.service\.server: HTTP service \(werkzeug\) running on 127\.0\.0\.1:\d+$/m,
    );
    expect(log).toMatch(
      new RegExp(`INFO ${dbA.name} werkzeug: 127\\.0\\.0\\.1 - - \\[.+\\] "POST /web/session/authenticate HTTP/1\\.1" 200 -`),
    );
    expect(log).toContain(`Login successful for db:${dbA.name} login:admin from 127.0.0.1`);
    expect(log).toContain('odoo.service.server: Initiating shutdown');
  });
});

describe("fake odoo: the platform's saas_rpc_guard loaded server-wide", () => {
  const hostOf = (database: TestDatabase) => `${database.name}.tenants.test`;
  const crossTenantLogin = (port: number) =>
    postJson(port, '/jsonrpc', { service: 'common', method: 'login', args: [dbB.name, 'admin-b', 'secret-b'] }, { Host: hostOf(dbA) });

  async function startPool(name: string, dataDir: string, serverWideModules: string[]) {
    const port = await freeTestPort();
    const config = writeConfig(name, {
      db_user: roles.pool,
      db_password: ROLE_PASSWORD,
      dbfilter: '^%d$',
      list_db: false,
      http_interface: '127.0.0.1',
      http_port: port,
      data_dir: dataDir,
      server_wide_modules: serverWideModules,
    });
    return startOdoo(config, port);
  }

  beforeAll(async () => {
    await admin(`UPDATE res_users SET password = ${quoteLiteral(await hashOdooPassword('secret-a'))} WHERE id = 2`, dbA);
    await admin(`UPDATE res_users SET login = 'admin-b', password = ${quoteLiteral(await hashOdooPassword('secret-b'))} WHERE id = 2`, dbB);
  });

  it('refuses, over HTTP, RPC on a database the host does not select and the db service, as the addon makes Odoo do', async () => {
    const dataDir = join(workDir, 'guarded-data');
    await linkPlatformAddons(dataDir, '16.0');
    const odoo = await startPool('guarded', dataDir, [...SERVER_WIDE_MODULES]);
    const refused = await crossTenantLogin(odoo.port);
    expect(refused.body.result).toBeUndefined();
    expect(refused.body.error).toMatchObject({ code: 200, message: 'Odoo Server Error', data: { name: 'odoo.exceptions.AccessDenied' } });
    const own = await postJson(
      odoo.port,
      '/jsonrpc',
      { service: 'common', method: 'login', args: [dbA.name, 'admin', 'secret-a'] },
      { Host: hostOf(dbA) },
    );
    expect(own.body.result).toBe(2);
    expect((await postJson(odoo.port, '/jsonrpc', { service: 'common', method: 'version', args: [] })).body.result).toMatchObject({
      protocol_version: 1,
    });
    const serverVersion = await postJson(
      odoo.port,
      '/jsonrpc',
      { service: 'db', method: 'server_version', args: [] },
      { Host: hostOf(dbA) },
    );
    expect(serverVersion.body.error?.data.name).toBe('odoo.exceptions.AccessDenied');
    const xmlObject = await xmlRpc(odoo.port, 'object', 'execute_kw', [dbB.name, 2, 'secret-b', 'res.users', 'search_count', [[]]]);
    expect(xmlObject).toContain('<name>faultCode</name>\n<value><int>3</int></value>');
    expect(odoo.output()).not.toContain('Failed to load server-wide module');
    odoo.child.kill('SIGTERM');
    expect(await odoo.exited).toBe(0);
  });

  it('starts without it, logging the failure as Odoo does, when the module is not on the addons path', async () => {
    const odoo = await startPool('unguarded', join(workDir, 'unguarded-data'), [...SERVER_WIDE_MODULES]);
    expect(odoo.output()).toContain('Failed to load server-wide module `saas_rpc_guard`.');
    expect((await crossTenantLogin(odoo.port)).body.result).toBe(2);
    odoo.child.kill('SIGTERM');
    expect(await odoo.exited).toBe(0);
  });
});

describe('fake odoo: a dedicated process (db_name, workers > 0) and a role limited to its database', () => {
  let odoo: RunningOdoo;
  let port: number;
  let geventPort: number;

  beforeAll(async () => {
    [port, geventPort] = [await freeTestPort(), await freeTestPort()];
    const config = writeConfig('solo', {
      db_user: roles.solo,
      db_password: ROLE_PASSWORD,
      db_name: dbC.name,
      list_db: false,
      http_port: port,
      gevent_port: geventPort,
      workers: 2,
    });
    odoo = await startOdoo(config, port);
  });

  it('serves its own database', async () => {
    const { body } = await postJson(port, '/web/session/authenticate', { db: dbC.name, login: 'admin', password: 'admin' });
    expect(body.result).toMatchObject({ uid: 2, db: dbC.name });
    expect((await http(port, '/web/login')).status).toBe(200);
  });

  it('cannot open another database: not on /web (db_name), not on /jsonrpc or /xmlrpc (PostgreSQL refuses the role)', async () => {
    const web = await postJson(port, '/web/session/authenticate', { db: dbA.name, login: 'admin', password: 'secret-a' });
    expect(web.body.error?.data).toMatchObject({ name: 'odoo.exceptions.AccessError', message: 'Database not found.' });
    const rpc = await postJson(port, '/jsonrpc', { service: 'common', method: 'login', args: [dbA.name, 'admin', 'secret-a'] });
    expect(rpc.body.error?.data.name).toBe('psycopg2.OperationalError');
    expect(rpc.body.error?.data.message).toContain('permission denied for database');
    const xml = await xmlRpc(port, 'common', 'authenticate', [dbA.name, 'admin', 'secret-a', {}]);
    expect(xml).toContain('<name>faultCode</name>');
    expect(xml).toContain('permission denied for database');
  });

  it('serves /websocket on gevent_port only, as Odoo does with workers', async () => {
    expect((await websocketEcho(port, 'x')).status).toBe('HTTP/1.1 400 Bad Request');
    expect(await websocketEcho(geventPort, 'ping over gevent')).toEqual({
      status: 'HTTP/1.1 101 Switching Protocols',
      echo: 'ping over gevent',
    });
  });

  it('stops on SIGTERM', async () => {
    odoo.child.kill('SIGTERM');
    expect(await odoo.exited).toBe(0);
    expect(odoo.output()).toContain('Initiating shutdown');
    expect(existsSync(join(workDir, 'data', 'filestore', dbC.name))).toBe(true);
  });
});
