/**
 * Custom domains end to end: the API, a real authoritative DNS server (Knot on loopback, records
 * changed at runtime with knotc) that the platform's resolver asks, the gateway on the platform's
 * port in front of a small node:http upstream standing in for the tenant's Odoo (it echoes the
 * host it was sent), the TLS ask endpoint, and the tenant's Odoo base URL in a real database.
 */
import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { withConnection } from '../../src/postgres/index.js';
import { recordUpstream } from '../../src/runtimes/index.js';
import { caddyMissing, startTestEdge } from '../helpers/caddy.js';
import { knotMissing, startTestDnsServer, type TestDnsServer } from '../helpers/dns.js';
import { hostRequest } from '../helpers/gateway-client.js';
import {
  registerCustomer,
  requestTenantAsOperator,
  startPlatformForTenantRequests,
  type TenantRequestsPlatform,
} from '../helpers/platform.js';
import { freeTestPort } from '../helpers/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

const ZONE = 'acme-corp.net';
const BASE = 'lvh.me';
const GRACE_HOURS = 2;

let platform: TenantRequestsPlatform;
let dns: TestDnsServer;
let upstream: Server;
let tenantDatabase: TestDatabase;
let port: number;
/** Where the test's TLS edge will listen; the platform checks certificates there from the start. */
let edgeHttpsPort: number;
let edgeHttpPort: number;
/** Upgraded sockets leave the HTTP server's bookkeeping: closed by hand at the end. */
const upgraded = new Set<Socket>();
let tenant: { id: string; name: string };
const db = () => platform.test.platform.database.db;
const http = () => platform.test.http;
const customerToken = () => platform.customer.accessToken;

beforeAll(async () => {
  const missing = knotMissing();
  if (missing) throw new Error(missing);
  dns = await startTestDnsServer([ZONE]);
  edgeHttpsPort = await freeTestPort();
  edgeHttpPort = await freeTestPort();
  platform = await startPlatformForTenantRequests('domains', {
    env: {
      DNS_RESOLVERS: dns.address,
      EDGE_ADDRESSES: '192.0.2.10, 2001:db8::10',
      DOMAIN_GRACE_HOURS: String(GRACE_HOURS),
      BASE_DOMAIN: BASE,
      TRUST_PROXY: 'true',
      EDGE_TLS_ADDRESS: `127.0.0.1:${edgeHttpsPort}`,
      // The HTTP proof goes through the edge's plain HTTP port, here on loopback.
      DOMAIN_HTTP_PROOF_PORT: String(edgeHttpPort),
      DOMAIN_HTTP_PROOF_NETWORKS: '127.0.0.0/8',
    },
  });
  port = Number(new URL(platform.test.url).port);
  upstream = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        host: req.headers.host,
        forwardedHost: req.headers['x-forwarded-host'],
        proto: req.headers['x-forwarded-proto'],
        url: req.url,
      }),
    );
  });
  // Like Odoo's websocket endpoint as far as proxies care: a 101, then bytes both ways (echoed).
  upstream.on('upgrade', (_req, socket: Socket) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    socket.on('data', (chunk: Buffer) => socket.write(chunk));
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));

  // A running tenant with a real database holding Odoo's config parameter table.
  tenant = await requestTenantAsOperator(platform, 'dom');
  tenantDatabase = await createTestDatabase('t_dom');
  await withConnection(tenantDatabase.url, (client) =>
    client.query(`CREATE TABLE ir_config_parameter (id serial PRIMARY KEY, key varchar NOT NULL UNIQUE, value text NOT NULL,
                  create_date timestamp, write_date timestamp)`),
  );
  const server = await db().selectFrom('database_servers').select('id').where('is_default', '=', true).executeTakeFirstOrThrow();
  await db()
    .updateTable('tenants')
    .set({ state: 'running', server_id: server.id, database_name: tenantDatabase.name })
    .where('id', '=', tenant.id)
    .execute();
  // Recording the upstream publishes an event: the route table reloads the (now running) tenant.
  await recordUpstream(db(), tenant.id, 'process', { host: '127.0.0.1', port: (upstream.address() as AddressInfo).port });
  await vi.waitFor(async () => {
    if ((await hostRequest(port, `${tenant.name}.${BASE}`, 'GET', '/web')).status !== 200) throw new Error('the tenant is not routed yet');
  });
}, 60_000);

afterAll(async () => {
  await platform?.test.stop();
  await tenantDatabase?.drop();
  await dns?.stop();
  for (const socket of upgraded) socket.destroy();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
}, 60_000);

function addDomain(domain: string, token = customerToken(), tenantName = tenant.name) {
  return http().post(`/api/v1/tenants/${tenantName}/domains`, { domain }, { token });
}

function ask(domain: string) {
  return http().get(`/api/v1/tls/ask?domain=${encodeURIComponent(domain)}`);
}

async function baseUrlInOdoo(): Promise<Record<string, string>> {
  const rows = await withConnection(tenantDatabase.url, (client) =>
    client.query<{ key: string; value: string }>(`SELECT key, value FROM ir_config_parameter WHERE key LIKE 'web.base.url%'`),
  );
  return Object.fromEntries(rows.rows.map((r) => [r.key, r.value]));
}

async function queuedBaseUrlJobs(): Promise<number> {
  const rows = await withConnection(platform.test.database.url, (client) =>
    client.query<{ count: string }>(
      `SELECT count(*)::text AS count FROM pgboss.job WHERE name = 'tenant-base-url' AND data->>'tenantId' = $1`,
      [tenant.id],
    ),
  );
  return Number(rows.rows[0]?.count ?? 0);
}

describe('adding a custom domain', () => {
  it.each([
    ['other.lvh.me', 'platform'],
    ['lvh.me', 'platform'],
    ['shop.localhost', 'reserved'],
    ['erp.example.com', 'reserved'],
    ['192.0.2.1', 'IP address'],
    ['not a domain', 'not a valid domain'],
    ['-bad-.acme.com', 'not a valid domain'],
    ['single', 'full domain name'],
  ])('refuses %s with a 400 naming the domain field (%s)', async (domain, words) => {
    const response = await addDomain(domain);
    expect(response.status, response.text).toBe(400);
    expect(response.body.field).toBe('domain');
    expect(response.body.detail).toContain(words);
    const rows = await db().selectFrom('custom_domains').select('id').where('tenant_id', '=', tenant.id).execute();
    expect(rows.map((r) => r.id)).toEqual([]);
  });

  it('stores an IDN in punycode and shows its Unicode form', async () => {
    const response = await addDomain(`bücher.${ZONE}`);
    expect(response.status, response.text).toBe(201);
    expect(response.body.domain).toBe(`xn--bcher-kva.${ZONE}`);
    expect(response.body.displayName).toBe(`bücher.${ZONE}`);
    const removed = await http().delete(`/api/v1/tenants/${tenant.name}/domains/${encodeURIComponent(`bücher.${ZONE}`)}`, {
      token: customerToken(),
    });
    expect(removed.status, removed.text).toBe(204);
  });

  it('shows the records to set, and serves nothing until they are found', async () => {
    const response = await addDomain(`ERP.${ZONE}.`);
    expect(response.status, response.text).toBe(201);
    const view = response.body;
    expect(view.domain).toBe(`erp.${ZONE}`);
    expect(view.status).toBe('pending');
    const txt = view.records.find((r: { type: string }) => r.type === 'TXT');
    expect(txt.name).toBe(`_odoo-saas-verify.erp.${ZONE}`);
    expect(txt.value).toMatch(/^odoo-saas-verify=/);
    expect(view.records).toContainEqual(expect.objectContaining({ type: 'CNAME', name: `erp.${ZONE}`, value: `${tenant.name}.${BASE}` }));
    expect(view.records).toContainEqual(expect.objectContaining({ type: 'AAAA', value: '2001:db8::10' }));
    expect(view.problems.join(' ')).toContain(`_odoo-saas-verify.erp.${ZONE}`);
    expect((await hostRequest(port, `erp.${ZONE}`, 'GET', '/web')).status).toBe(404);
    expect((await ask(`erp.${ZONE}`)).status).toBe(404);

    const again = await addDomain(`erp.${ZONE}`);
    expect(again.status).toBe(409);
    expect(again.body.field).toBe('domain');
  });

  it('verifies the domain once the TXT proof and the CNAME are in DNS, then routes it to the tenant', async () => {
    const listed = await http().get(`/api/v1/tenants/${tenant.name}/domains`, { token: customerToken() });
    const token = listed.body[0].records.find((r: { type: string }) => r.type === 'TXT').value as string;
    // The proof alone is not enough: the domain must point here too.
    await dns.set(ZONE, `_odoo-saas-verify.erp.${ZONE}`, 'TXT', `"${token}"`);
    const proofOnly = await http().post(`/api/v1/tenants/${tenant.name}/domains/erp.${ZONE}/check`, undefined, { token: customerToken() });
    expect(proofOnly.body.status).toBe('pending');
    expect(proofOnly.body.problems).toEqual([expect.stringContaining(`CNAME record erp.${ZONE} -> ${tenant.name}.${BASE}`)]);

    await dns.set(ZONE, `erp.${ZONE}`, 'CNAME', `${tenant.name}.${BASE}.`);
    const checked = await http().post(`/api/v1/tenants/${tenant.name}/domains/erp.${ZONE}/check`, undefined, { token: customerToken() });
    expect(checked.status, checked.text).toBe(200);
    expect(checked.body.status).toBe('verified');
    expect(checked.body.problems).toEqual([]);

    const served = await hostRequest(port, `erp.${ZONE}`, 'GET', '/web?x=1');
    expect(served.status).toBe(200);
    // Odoo is told the tenant's subdomain, which its dbfilter maps to the tenant's database.
    expect(served.json()).toEqual({
      host: `${tenant.name}.${BASE}`,
      forwardedHost: `${tenant.name}.${BASE}`,
      proto: 'http',
      url: '/web?x=1',
    });
    expect((await ask(`erp.${ZONE}`)).status).toBe(200);
    // No edge runs yet: the certificate check says so, and what to look at.
    expect(checked.body.certificate).toMatchObject({
      health: 'failing',
      expiresAt: null,
      error: `Nothing answers at the TLS edge 127.0.0.1:${edgeHttpsPort}: is the edge running?`,
    });
  });

  it('refuses a verified domain to a tenant of another account, and a subdomain of another tenant', async () => {
    const rival = await registerCustomer(http(), 'rival');
    const rivalTenant = await requestTenantAsOperator(
      { ...platform, customer: { ...platform.customer, accountId: rival.accountId } },
      'rival',
    );
    const takeover = await addDomain(`erp.${ZONE}`, rival.accessToken, rivalTenant.name);
    expect(takeover.status, takeover.text).toBe(409);
    expect(takeover.body.field).toBe('domain');
    expect(takeover.body.detail).toContain('in use by another tenant');

    const subdomain = await addDomain(`${tenant.name}.${BASE}`, rival.accessToken, rivalTenant.name);
    expect(subdomain.status).toBe(400);
    expect(subdomain.body.field).toBe('domain');

    // Nor can the rival see or remove the domain through its own tenant or the victim's.
    const foreign = await http().get(`/api/v1/tenants/${tenant.name}/domains`, { token: rival.accessToken });
    expect(foreign.status).toBe(404);
    const remove = await http().delete(`/api/v1/tenants/${tenant.name}/domains/erp.${ZONE}`, { token: rival.accessToken });
    expect(remove.status).toBe(404);
    expect((await hostRequest(port, `erp.${ZONE}`, 'GET', '/web')).json().host).toBe(`${tenant.name}.${BASE}`);
  });
});

/** An HTTPS request through the edge for `servername`, trusting only Caddy's CA. */
function viaEdge(edge: { httpsPort: number; rootCertificate: string }, servername: string, path: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: edge.httpsPort, servername, path, headers: { host: servername }, ca: edge.rootCertificate },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Opens a websocket through the edge; answers the 101's status line and what the far end echoed. */
function websocketViaEdge(edge: { httpsPort: number; rootCertificate: string }, servername: string) {
  return new Promise<{ statusLine: string; echoed: string }>((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port: edge.httpsPort, servername, ca: edge.rootCertificate }, () => {
      socket.write(
        `GET /websocket HTTP/1.1\r\nHost: ${servername}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const after = received.slice(end + 4);
      if (after === '') socket.write('ping through the edge');
      else if (after.length >= 'ping through the edge'.length) {
        socket.destroy();
        resolve({ statusLine: received.slice(0, received.indexOf('\r\n')), echoed: after });
      }
    });
    socket.on('error', reject);
  });
}

describe('through the TLS edge (Caddy with on-demand TLS asking the platform)', () => {
  it('gets a certificate for a verified domain and serves the tenant over HTTPS, websockets included; refuses unverified names', async () => {
    const missing = caddyMissing();
    if (missing) throw new Error(missing);
    const edge = await startTestEdge(`127.0.0.1:${port}`, { httpsPort: edgeHttpsPort, httpPort: edgeHttpPort });
    try {
      // The check's handshake names the domain: the edge asks the platform, gets a certificate
      // from its CA, and the platform records what a browser would be shown.
      const checked = await http().post(`/api/v1/tenants/${tenant.name}/domains/erp.${ZONE}/check`, undefined, { token: customerToken() });
      expect(checked.body.certificate).toMatchObject({
        health: 'valid',
        error: null,
        issuer: expect.stringContaining('Caddy Local Authority'),
      });
      const { expiresAt, daysLeft, checkedAt } = checked.body.certificate;
      expect(new Date(expiresAt).getTime()).toBeGreaterThan(new Date(checkedAt).getTime());
      expect(daysLeft).toBe(Math.floor((new Date(expiresAt).getTime() - new Date(checkedAt).getTime()) / 86_400_000));

      const served = await viaEdge(edge, `erp.${ZONE}`, '/web');
      expect(served.status).toBe(200);
      // The platform trusts the edge (TRUST_PROXY): Odoo learns the visitor came over HTTPS.
      expect(JSON.parse(served.body)).toMatchObject({ host: `${tenant.name}.${BASE}`, proto: 'https' });
      expect((await viaEdge(edge, `${tenant.name}.${BASE}`, '/web')).status).toBe(200);

      const websocket = await websocketViaEdge(edge, `erp.${ZONE}`);
      expect(websocket.statusLine).toBe('HTTP/1.1 101 Switching Protocols');
      expect(websocket.echoed).toBe('ping through the edge');

      // No certificate for names the platform does not serve: the handshake fails.
      await expect(viaEdge(edge, `nope.${ZONE}`, '/web')).rejects.toThrow(/alert|socket|ECONNRESET|certificate/i);
      await expect(viaEdge(edge, `nosuchtenant.${BASE}`, '/web')).rejects.toThrow(/alert|socket|ECONNRESET|certificate/i);

      const plain = await hostRequest(edge.httpPort, `erp.${ZONE}`, 'GET', '/web?a=1');
      expect(plain.status).toBe(308);
      expect(plain.headers.location).toBe(`https://erp.${ZONE}/web?a=1`);
    } finally {
      await edge.stop();
    }
  }, 60_000);
});

describe('the HTTP proof (no CNAME to show: an apex, or a name proxied by a CDN)', () => {
  it('verifies a domain through the edge without a TXT record, unless another instance claims it too', async () => {
    const missing = caddyMissing();
    if (missing) throw new Error(missing);
    const shop = `cdn.${ZONE}`;
    await dns.set(ZONE, shop, 'A', '127.0.0.1');
    // No edge answers yet: the proof cannot be asked, so the TXT record is what is missing.
    const before = await addDomain(shop);
    expect(before.body.status).toBe('pending');
    expect(before.body.problems.join(' ')).toContain(`Set a TXT record _odoo-saas-verify.${shop}`);

    const edge = await startTestEdge(`127.0.0.1:${port}`, { httpsPort: edgeHttpsPort, httpPort: edgeHttpPort });
    try {
      const checked = await http().post(`/api/v1/tenants/${tenant.name}/domains/${shop}/check`, undefined, { token: customerToken() });
      expect([checked.body.status, checked.body.problems]).toEqual(['verified', []]);
      expect(JSON.parse((await hostRequest(port, shop, 'GET', '/web')).text)).toMatchObject({ host: `${tenant.name}.${BASE}` });
      // The proof path answers a claim's own token only; everything else on plain HTTP goes to HTTPS.
      expect((await hostRequest(edge.httpPort, shop, 'GET', '/.well-known/odoo-saas-verify/forged')).status).toBe(404);
      expect((await hostRequest(edge.httpPort, shop, 'GET', '/web')).status).toBe(308);

      // Two accounts claim a name that shows no CNAME: reaching us says nothing about whose it is.
      const store = `store.${ZONE}`;
      const claimant = await registerCustomer(http(), 'claimant');
      const claimantTenant = await requestTenantAsOperator(
        { ...platform, customer: { ...platform.customer, accountId: claimant.accountId } },
        'claimant',
      );
      expect((await addDomain(store, claimant.accessToken, claimantTenant.name)).body.status).toBe('pending');
      await dns.set(ZONE, store, 'A', '127.0.0.1');
      const contested = await addDomain(store);
      expect(contested.body.status).toBe('pending');
      expect(contested.body.problems.join(' ')).toContain('Another instance claims this domain too: only this record can settle it.');
      expect((await hostRequest(port, store, 'GET', '/web')).status).toBe(404);
    } finally {
      await edge.stop();
    }
  }, 60_000);
});

describe('the primary domain', () => {
  it('refuses a domain that is not verified', async () => {
    await addDomain(`shop.${ZONE}`);
    const response = await http().put(
      `/api/v1/tenants/${tenant.name}/primary-domain`,
      { domain: `shop.${ZONE}` },
      { token: customerToken() },
    );
    expect(response.status).toBe(409);
    expect(response.body.field).toBe('domain');
    expect(response.body.detail).toContain('not verified');
  });

  it("makes Odoo's base URL follow it, and redirects page views of the subdomain there", async () => {
    const jobsBefore = await queuedBaseUrlJobs();
    const response = await http().put(
      `/api/v1/tenants/${tenant.name}/primary-domain`,
      { domain: `erp.${ZONE}` },
      { token: customerToken() },
    );
    expect(response.status, response.text).toBe(200);
    expect(response.body.find((d: { domain: string }) => d.domain === `erp.${ZONE}`).primary).toBe(true);
    // The base URL is written by a durable job, queued with the change; it is run here as a worker would.
    expect(await queuedBaseUrlJobs()).toBe(jobsBefore + 1);
    expect(await platform.test.platform.domains.applyBaseUrl(tenant.id)).toBe(`http://erp.${ZONE}`);
    expect(await baseUrlInOdoo()).toEqual({ 'web.base.url': `http://erp.${ZONE}`, 'web.base.url.freeze': 'True' });

    const page = await hostRequest(port, `${tenant.name}.${BASE}`, 'GET', '/odoo/contacts?id=7');
    expect(page.status).toBe(302);
    expect(page.headers.location).toBe(`http://erp.${ZONE}/odoo/contacts?id=7`);
    // RPC clients and the bus keep working on the subdomain.
    const rpc = await hostRequest(port, `${tenant.name}.${BASE}`, 'POST', '/web/dataset/call_kw', {
      jsonrpc: '2.0',
      method: 'call',
      params: {},
    });
    expect(rpc.status).toBe(200);
    expect((await hostRequest(port, `${tenant.name}.${BASE}`, 'GET', '/websocket')).status).not.toBe(302);
    // The primary domain itself is served, not redirected.
    expect((await hostRequest(port, `erp.${ZONE}`, 'GET', '/odoo')).status).toBe(200);
  });
});

describe('a domain that stops pointing here', () => {
  it('is flagged but still served within the grace period, then unrouted and no longer primary', async () => {
    await dns.unset(ZONE, `erp.${ZONE}`, 'CNAME');
    await dns.set(ZONE, `erp.${ZONE}`, 'A', '203.0.113.99');
    const now = new Date();
    await platform.test.platform.domains.recheckAll(now);
    const flagged = (await http().get(`/api/v1/tenants/${tenant.name}/domains`, { token: customerToken() })).body.find(
      (d: { domain: string }) => d.domain === `erp.${ZONE}`,
    );
    expect(flagged.status).toBe('failing');
    expect(flagged.problems.join(' ')).toContain('203.0.113.99');
    expect((await hostRequest(port, `erp.${ZONE}`, 'GET', '/web')).status).toBe(200);

    const jobsBefore = await queuedBaseUrlJobs();
    await platform.test.platform.domains.recheckAll(new Date(now.getTime() + GRACE_HOURS * 3600_000 + 1_000));
    const lapsed = (await http().get(`/api/v1/tenants/${tenant.name}/domains`, { token: customerToken() })).body.find(
      (d: { domain: string }) => d.domain === `erp.${ZONE}`,
    );
    expect(lapsed).toMatchObject({ status: 'pending', primary: false });
    expect((await hostRequest(port, `erp.${ZONE}`, 'GET', '/web')).status).toBe(404);
    expect((await ask(`erp.${ZONE}`)).status).toBe(404);
    expect((await hostRequest(port, `${tenant.name}.${BASE}`, 'GET', '/odoo')).status).toBe(200);
    expect(await queuedBaseUrlJobs()).toBe(jobsBefore + 1);
    expect(await platform.test.platform.domains.applyBaseUrl(tenant.id)).toBe(`http://${tenant.name}.${BASE}:8080`);
  });

  it('is served again once it points here again, and unrouted at once when removed', async () => {
    await dns.unset(ZONE, `erp.${ZONE}`, 'A');
    await dns.set(ZONE, `erp.${ZONE}`, 'A', '192.0.2.10');
    await dns.set(ZONE, `erp.${ZONE}`, 'AAAA', '2001:db8::10');
    await platform.test.platform.domains.recheckAll();
    expect((await hostRequest(port, `erp.${ZONE}`, 'GET', '/web')).status).toBe(200);

    const removed = await http().delete(`/api/v1/tenants/${tenant.name}/domains/erp.${ZONE}`, { token: customerToken() });
    expect(removed.status, removed.text).toBe(204);
    expect((await hostRequest(port, `erp.${ZONE}`, 'GET', '/web')).status).toBe(404);
    expect((await ask(`erp.${ZONE}`)).status).toBe(404);
  });
});

describe('the TLS ask endpoint', () => {
  it('answers 200 for tenant subdomains and the platform, 404 for anything else', async () => {
    expect((await ask(`${tenant.name}.${BASE}`)).status).toBe(200);
    expect((await ask(BASE)).status).toBe(200);
    expect((await ask(`app.${BASE}`)).status).toBe(200);
    for (const name of [
      `nosuchtenant.${BASE}`,
      `a.b.${BASE}`,
      'random.example.org',
      '127.0.0.1',
      `${tenant.name}.${BASE}:443`,
      'localhost',
    ]) {
      const response = await ask(name);
      expect(response.status, name).toBe(404);
      expect(response.body.field).toBe('query.domain');
    }
    const unnamed = await http().get('/api/v1/tls/ask');
    expect(unnamed.status).toBe(400);
    expect(unnamed.body.field).toBe('query.domain');
  });

  it('is rate-limited with a Retry-After', async () => {
    const answers = await Promise.all(Array.from({ length: 120 }, () => ask(`random-${Math.random()}.example.org`)));
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]?.headers.get('retry-after')).toBe('1');
  });
});

describe('operators', () => {
  it('see every domain of every tenant; customers may not', async () => {
    const all = await http().get('/api/v1/domains', { token: platform.operator.accessToken });
    expect(all.status).toBe(200);
    expect(all.body).toContainEqual(expect.objectContaining({ domain: `shop.${ZONE}`, tenant: tenant.name, status: 'pending' }));
    expect((await http().get('/api/v1/domains', { token: customerToken() })).status).toBe(403);
  });
});

describe('a deleted tenant', () => {
  it('holds no domain: another tenant can add and verify it', async () => {
    const domain = `old.${ZONE}`;
    const verifyFor = async (holder: { name: string }) => {
      const added = await addDomain(domain, customerToken(), holder.name);
      expect(added.status, added.text).toBe(201);
      const token = added.body.records.find((r: { type: string }) => r.type === 'TXT').value as string;
      await dns.set(ZONE, `_odoo-saas-verify.${domain}`, 'TXT', `"${token}"`);
      await dns.set(ZONE, domain, 'CNAME', `${holder.name}.${BASE}.`);
      return http().post(`/api/v1/tenants/${holder.name}/domains/${domain}/check`, undefined, { token: customerToken() });
    };
    const first = await requestTenantAsOperator(platform, 'old');
    expect((await verifyFor(first)).body.status).toBe('verified');
    await db().updateTable('tenants').set({ state: 'deleted' }).where('id', '=', first.id).execute();

    const second = await requestTenantAsOperator(platform, 'new');
    const checked = await verifyFor(second);
    expect(checked.body.status).toBe('verified');
    const claims = await db().selectFrom('custom_domains').select('tenant_id').where('domain', '=', domain).execute();
    expect(claims.map((c) => c.tenant_id)).toEqual([second.id]);
  });
});
