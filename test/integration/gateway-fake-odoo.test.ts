/**
 * The gateway in front of the real fake Odoo (test/fixtures/fake-odoo) serving two tenant
 * databases from one pool process, as the platform runs them: host A must never reach database
 * B, however the request spells its path. Requests are written byte for byte on a socket, so
 * the path reaches the gateway exactly as an attacker would send it (node:http's client would
 * refuse or rewrite some of these spellings).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway, type TenantRoute } from '../../src/gateway/index.js';
import { createLogger } from '../../src/logging/index.js';
import { renderOdooConfig } from '../../src/odoo/index.js';
import { quoteIdentifier, quoteLiteral, withConnection } from '../../src/postgres/index.js';
import { POOL_DBFILTER } from '../../src/tenants/index.js';
import { freeTestPort } from '../helpers/ports.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

const ODOO_BIN = resolve(import.meta.dirname, '../fixtures/fake-odoo/odoo-bin');
const BASE = 'example.test';
const suffix = randomBytes(3).toString('hex');
const tenantA = `gfa${suffix}`;
const tenantB = `gfb${suffix}`;
const databaseOf = (tenant: string) => `t_${tenant}`;
const role = `gf_pool_${suffix}`;
const ROLE_PASSWORD = `pw-${randomBytes(6).toString('hex')}`;

let workDir: string;
let odoo: ChildProcess | undefined;
let odooPort: number;
let gateway: Gateway;
let server: Server;
let gatewayPort: number;

function admin(sql: string): Promise<unknown> {
  return withConnection(postgresAdminUrl(), (client) => client.query(sql));
}

function runToEnd(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(ODOO_BIN, args, { env: { ...process.env, NODE: process.execPath } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, output }));
  });
}

/** Resolves once the fake Odoo logs that it listens (its first line on the HTTP service). */
function startOdoo(config: string): Promise<ChildProcess> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(ODOO_BIN, ['-c', config], { env: { ...process.env, NODE: process.execPath } });
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('HTTP service (werkzeug) running')) resolvePromise(child);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => reject(new Error(`fake odoo exited with ${code}:\n${output}`)));
  });
}

interface RawReply {
  status: number;
  head: string;
  body: string;
}

/** One request written as raw bytes; the reply is read until the server closes. */
function rawRequest(method: string, target: string, host: string, body = ''): Promise<RawReply> {
  const payload = Buffer.from(body);
  const head =
    `${method} ${target} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${payload.length}\r\nConnection: close\r\n\r\n`;
  return new Promise((resolvePromise, reject) => {
    const socket = connect(gatewayPort, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      resolvePromise({ status: Number(text.slice(9, 12)), head: text.slice(0, end), body: text.slice(end + 4) });
    });
    socket.write(Buffer.concat([Buffer.from(head, 'latin1'), payload]));
  });
}

/** `execute_kw` on res.users of `database` as its admin (the fake Odoo's admin/admin). */
function readUsersOf(database: string): string {
  return JSON.stringify({
    jsonrpc: '2.0',
    method: 'call',
    id: 1,
    params: {
      service: 'object',
      method: 'execute_kw',
      args: [database, 2, 'admin', 'res.users', 'search_read', [[]], { fields: ['login'] }],
    },
  });
}

function xmlRpcCall(method: string, params: string[]): string {
  const values = params.map((value) => `<param><value><string>${value}</string></value></param>`).join('');
  return `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${values}</params></methodCall>`;
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'gateway-fake-odoo-'));
  await admin(`CREATE ROLE ${quoteIdentifier(role)} LOGIN CREATEDB PASSWORD ${quoteLiteral(ROLE_PASSWORD)}`);
  const adminUrl = new URL(postgresAdminUrl());
  odooPort = await freeTestPort();
  const config = join(workDir, 'pool.conf');
  writeFileSync(
    config,
    renderOdooConfig({
      db_host: adminUrl.hostname,
      db_port: Number(adminUrl.port || 5432),
      db_user: role,
      db_password: ROLE_PASSWORD,
      dbfilter: POOL_DBFILTER,
      list_db: false,
      proxy_mode: true,
      http_interface: '127.0.0.1',
      http_port: odooPort,
      workers: 0,
      data_dir: join(workDir, 'data'),
    }),
    { mode: 0o600 },
  );
  for (const tenant of [tenantA, tenantB]) {
    const run = await runToEnd(['-c', config, '-d', databaseOf(tenant), '-i', 'base', '--without-demo=all', '--stop-after-init']);
    expect(run.code, run.output).toBe(0);
  }
  // B's admin gets a login of its own, so that a leak of B's users is unmistakable.
  const databaseB = new URL(postgresAdminUrl());
  databaseB.pathname = `/${databaseOf(tenantB)}`;
  await withConnection(databaseB.toString(), (client) => client.query("UPDATE res_users SET login = 'b-admin' WHERE id = 2"));
  odoo = await startOdoo(config);

  const routes = new Map<string, TenantRoute>(
    [tenantA, tenantB].map((tenant) => [
      tenant,
      {
        tenantId: tenant,
        tenantName: tenant,
        databaseName: databaseOf(tenant),
        state: 'running',
        upstream: { host: '127.0.0.1', port: odooPort },
      },
    ]),
  );
  gateway = createGateway({
    baseDomain: BASE,
    resolveRoute: (name) => routes.get(name),
    logger: createLogger('silent'),
  });
  server = createServer((req, res) => gateway.handleRequest(req, res));
  await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise));
  gatewayPort = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  gateway?.close();
  server?.closeAllConnections();
  await new Promise<void>((resolvePromise) => (server ? server.close(() => resolvePromise()) : resolvePromise()));
  if (odoo && odoo.exitCode === null) {
    const exited = new Promise((resolvePromise) => odoo?.once('close', resolvePromise));
    odoo.kill('SIGKILL');
    await exited;
  }
  for (const tenant of [tenantA, tenantB]) await admin(`DROP DATABASE IF EXISTS ${quoteIdentifier(databaseOf(tenant))} WITH (FORCE)`);
  await admin(`DROP ROLE IF EXISTS ${quoteIdentifier(role)}`);
  rmSync(workDir, { recursive: true, force: true });
});

describe('gateway + fake Odoo: host A never reaches database B', () => {
  const hostA = () => `${tenantA}.${BASE}`;

  it('serves host A its own database through the plain path (the setup works)', async () => {
    const own = await rawRequest('POST', '/jsonrpc', hostA(), readUsersOf(databaseOf(tenantA)));
    expect(own.status, own.body).toBe(200);
    expect(JSON.parse(own.body).result).toEqual(expect.arrayContaining([expect.objectContaining({ login: 'admin' })]));
    // Without the gateway, the pool process answers for B to anyone who names it: the guard is all that stands between.
    const plain = await rawRequest('POST', '/jsonrpc', hostA(), readUsersOf(databaseOf(tenantB)));
    expect(plain.status).toBe(403);
  });

  it('refuses the backslash spelling of /jsonrpc that reached tenant B (issue 15)', async () => {
    for (const target of ['/x\\..\\jsonrpc', '/web\\..\\jsonrpc', '/x/..\\jsonrpc', '/\\jsonrpc']) {
      const reply = await rawRequest('POST', target, hostA(), readUsersOf(databaseOf(tenantB)));
      expect(reply.body, target).not.toContain('b-admin');
      expect(reply.status, `${target}: ${reply.body}`).toBe(400);
      expect(reply.body, target).not.toContain(tenantB);
    }
  });

  it('refuses the backslash spelling of the XML-RPC db service', async () => {
    const reply = await rawRequest('POST', '/xmlrpc\\2\\db', hostA(), xmlRpcCall('list', []));
    expect(reply.status, reply.body).toBe(400);
    expect(reply.body).not.toContain(databaseOf(tenantB));
    expect(reply.body).not.toContain('methodResponse');
  });

  it('refuses percent-encoded separators and dots that the fake Odoo or werkzeug would resolve', async () => {
    for (const target of ['/x/%2e%2e/jsonrpc', '/x/.%2e/jsonrpc', '/xmlrpc%2F2%2Fdb', '/x%5c..%5cjsonrpc', '//jsonrpc', '/x/..//jsonrpc']) {
      const reply = await rawRequest('POST', target, hostA(), readUsersOf(databaseOf(tenantB)));
      expect(reply.status, `${target}: ${reply.body}`).toBe(400);
      expect(reply.body, target).not.toContain('result');
    }
  });

  it('keeps the refusal page free of tenant and database names', async () => {
    const reply = await rawRequest('POST', '/x\\..\\jsonrpc', hostA(), readUsersOf(databaseOf(tenantB)));
    expect(reply.head).toMatch(/content-type: text\/html/i);
    for (const name of [tenantA, tenantB, databaseOf(tenantA), databaseOf(tenantB)]) expect(reply.body).not.toContain(name);
  });

  it('still serves ordinary pages and the tenant database under odd but unambiguous spellings', async () => {
    const login = await rawRequest('GET', '/web/login?redirect=%2Fweb', hostA());
    expect(login.status).toBe(200);
    expect(login.body).toContain(databaseOf(tenantA));
    const dotted = await rawRequest('GET', '/web/static/../login', hostA());
    expect(dotted.status, dotted.body).toBe(200);
    expect(dotted.body).toContain(databaseOf(tenantA));
  });
});
