/**
 * The gateway against real sockets: a small node:http "Odoo" that echoes what it receives, a
 * second one standing in for Odoo's websocket (gevent) port, and the gateway on a free port in
 * front of them with a route table the test changes at will.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGateway, type Gateway, type TenantRoute } from '../../src/gateway/index.js';
import { createLogger } from '../../src/logging/index.js';

const BASE = 'example.test';
const RPC_LIMIT = 1024 * 1024;
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

interface Echo {
  server: string;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  bodyLength: number;
  bodySha256: string;
  body: string;
}

// ---- the fake upstreams -------------------------------------------------------------------

/** Unmasks client frames (FIN + short payload) and answers each with an unmasked copy. */
function echoFrames(socket: Socket): void {
  let buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length >= 2) {
      const opcode = (buffer[0] ?? 0) & 0x0f;
      const length = (buffer[1] ?? 0) & 0x7f;
      const masked = ((buffer[1] ?? 0) & 0x80) !== 0;
      const headerLength = 2 + (masked ? 4 : 0);
      if (length > 125 || buffer.length < headerLength + length) return;
      const mask = buffer.subarray(2, 6);
      const payload = Buffer.from(buffer.subarray(headerLength, headerLength + length));
      if (masked) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] ?? 0) ^ (mask[i % 4] ?? 0);
      buffer = buffer.subarray(headerLength + length);
      socket.write(Buffer.concat([Buffer.from([0x80 | opcode, payload.length]), payload]));
    }
  });
}

/** Upgraded sockets leave the HTTP server's bookkeeping; the fixture closes them itself. */
const upgradedSockets = new Set<Socket>();

function startUpstream(name: string, seen: Echo[], closedEarly: string[]): Promise<Server> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://upstream');
    if (url.pathname === '/longpolling/poll' || url.pathname === '/slow') {
      const timer = setTimeout(
        () => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ server: name, waited: Number(url.searchParams.get('ms') ?? 0) }));
        },
        Number(url.searchParams.get('ms') ?? 0),
      );
      res.on('close', () => {
        if (!res.writableFinished) {
          clearTimeout(timer);
          closedEarly.push(url.pathname);
        }
      });
      return;
    }
    const hash = createHash('sha256');
    const chunks: Buffer[] = [];
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      length += chunk.length;
      if (length <= 64 * 1024) chunks.push(chunk);
    });
    req.on('end', () => {
      const echo: Echo = {
        server: name,
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        bodyLength: length,
        bodySha256: hash.digest('hex'),
        body: length <= 64 * 1024 ? Buffer.concat(chunks).toString('utf8') : '',
      };
      seen.push(echo);
      res.writeHead(200, [
        'Content-Type',
        'application/json',
        'Set-Cookie',
        'session_id=abc; Path=/',
        'Set-Cookie',
        'other=1; Path=/',
        'Connection',
        'keep-alive, X-Hop',
        'X-Hop',
        'secret',
      ]);
      res.end(JSON.stringify(echo));
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    const key = req.headers['sec-websocket-key'];
    if (typeof key !== 'string' || req.headers.upgrade?.toLowerCase() !== 'websocket') {
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nConnection: close\r\n\r\nbad request');
      return;
    }
    upgradedSockets.add(socket);
    socket.on('close', () => upgradedSockets.delete(socket));
    // The gateway resets the connection when it ends a websocket (shutdown).
    socket.on('error', () => socket.destroy());
    // Like a websocket server: when the peer closes, close too.
    socket.on('end', () => socket.end());
    const accept = createHash('sha1')
      .update(key + WS_GUID)
      .digest('base64');
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${accept}\r\nX-Upstream: ${name}\r\nX-Seen-Host: ${req.headers.host}\r\n` +
        `X-Seen-Forwarded-For: ${req.headers['x-forwarded-for']}\r\n\r\n`,
    );
    echoFrames(socket);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = portOf(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * An upstream that keeps connections alive but resets one as soon as a second request arrives on
 * it: what a pooled connection looks like when Odoo closed it just as the gateway reused it.
 */
function startFlakyUpstream(): Promise<TcpServer> {
  const server = createTcpServer((socket) => {
    let requests = 0;
    let received = '';
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      while (received.includes('\r\n\r\n')) {
        received = received.slice(received.indexOf('\r\n\r\n') + 4);
        requests += 1;
        if (requests > 1) {
          socket.resetAndDestroy();
          return;
        }
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nfresh');
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// ---- the client side ----------------------------------------------------------------------

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(options: {
  host: string;
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  chunked?: boolean;
}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: gatewayPort,
        method: options.method ?? 'GET',
        path: options.path ?? '/',
        headers: { host: options.host, ...options.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.body !== undefined && options.chunked) {
      // Several writes without a Content-Length: Node sends them chunked.
      const body = Buffer.from(options.body);
      const step = 256 * 1024;
      for (let offset = 0; offset < body.length; offset += step) req.write(body.subarray(offset, offset + step));
      req.end();
    } else req.end(options.body);
  });
}

function rawExchange(text: string, until: (received: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(gatewayPort, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (until(received)) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.on('end', () => resolve(received));
    socket.on('error', reject);
    socket.write(text);
  });
}

function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] ?? 0)));
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

interface WebsocketResult {
  handshake: string;
  frames: string[];
}

/** Opens a websocket through the gateway, sends the messages, collects their echoes. */
function websocketRoundTrip(host: string, messages: string[]): Promise<WebsocketResult> {
  return new Promise((resolve, reject) => {
    const socket = connect(gatewayPort, '127.0.0.1');
    const key = randomBytes(16).toString('base64');
    let buffer = Buffer.alloc(0);
    let handshake: string | undefined;
    const frames: string[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`websocket timed out; got ${JSON.stringify({ handshake, frames, buffer: buffer.toString('latin1') })}`));
    }, 5000);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ handshake: handshake ?? buffer.toString('latin1'), frames });
    };
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (handshake === undefined) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        handshake = buffer.subarray(0, end).toString('latin1');
        buffer = buffer.subarray(end + 4);
        if (!handshake.startsWith('HTTP/1.1 101')) {
          handshake += `\r\n\r\n${buffer.toString('latin1')}`;
          socket.on('end', finish);
          return;
        }
        const expected = createHash('sha1')
          .update(key + WS_GUID)
          .digest('base64');
        if (!handshake.includes(`Sec-WebSocket-Accept: ${expected}`)) reject(new Error(`bad accept in ${handshake}`));
        for (const message of messages) socket.write(maskedTextFrame(message));
      }
      while (buffer.length >= 2 && buffer.length >= 2 + ((buffer[1] ?? 0) & 0x7f)) {
        const length = (buffer[1] ?? 0) & 0x7f;
        frames.push(buffer.subarray(2, 2 + length).toString('utf8'));
        buffer = buffer.subarray(2 + length);
      }
      if (handshake.startsWith('HTTP/1.1 101') && frames.length === messages.length) finish();
    });
    socket.on('error', reject);
    socket.write(
      `GET /websocket HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://${host}\r\n\r\n`,
    );
  });
}

// ---- the fixture --------------------------------------------------------------------------

let gatewayPort = 0;
let gatewayServer: Server;
let gateway: Gateway;
let httpUpstream: Server;
let eventUpstream: Server;
let downPort = 0;
let flakyUpstream: TcpServer;
const seen: Echo[] = [];
const closedEarly: string[] = [];
const routes = new Map<string, TenantRoute>();
/** What the source of truth says where it differs from the table (a commit not yet announced). */
const committed = new Map<string, TenantRoute>();
const confirmed: string[] = [];
const proxied: Array<{ tenant: string; status: number; ms: number }> = [];

function route(name: string, state: string, upstream: TenantRoute['upstream']): TenantRoute {
  return { tenantId: `id-${name}`, tenantName: name, databaseName: `t_${name}`, state, upstream };
}

beforeAll(async () => {
  httpUpstream = await startUpstream('http', seen, closedEarly);
  eventUpstream = await startUpstream('event', seen, closedEarly);
  downPort = await closedPort();
  flakyUpstream = await startFlakyUpstream();
  gateway = createGateway({
    baseDomain: BASE,
    resolveRoute: (name) => routes.get(name),
    confirmRoute: async (known) => {
      confirmed.push(known.tenantName);
      return committed.get(known.tenantName) ?? routes.get(known.tenantName);
    },
    logger: createLogger('silent'),
    rpcBodyLimitBytes: RPC_LIMIT,
    onProxied: (tenant, status, ms) => proxied.push({ tenant, status, ms }),
  });
  // Wired as the platform's server will be: platform hosts are served by the platform itself.
  gatewayServer = createServer((req, res) => {
    if (gateway.classify(req).kind === 'platform') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('platform');
      return;
    }
    gateway.handleRequest(req, res);
  });
  gatewayServer.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => gateway.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve) => gatewayServer.listen(0, '127.0.0.1', resolve));
  gatewayPort = portOf(gatewayServer);
});

beforeEach(() => {
  routes.clear();
  routes.set('acme', route('acme', 'running', { host: '127.0.0.1', port: portOf(httpUpstream), websocketPort: portOf(eventUpstream) }));
  routes.set('solo', route('solo', 'running', { host: '127.0.0.1', port: portOf(httpUpstream) }));
  routes.set('stopped1', route('stopped1', 'stopped', undefined));
  routes.set('suspended1', route('suspended1', 'suspended', undefined));
  routes.set('newbie', route('newbie', 'provisioning', undefined));
  routes.set('gone', route('gone', 'deleted', undefined));
  routes.set('leaving', route('leaving', 'scheduled_for_deletion', undefined));
  routes.set('broken', route('broken', 'error', undefined));
  routes.set('down', route('down', 'running', { host: '127.0.0.1', port: downPort }));
  routes.set('flaky', route('flaky', 'running', { host: '127.0.0.1', port: (flakyUpstream.address() as AddressInfo).port }));
  proxied.length = 0;
  committed.clear();
  confirmed.length = 0;
});

afterAll(async () => {
  gateway.close();
  for (const socket of upgradedSockets) socket.destroy();
  await new Promise<void>((resolve) => flakyUpstream.close(() => resolve()));
  for (const server of [gatewayServer, httpUpstream, eventUpstream]) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

// ---- the tests ----------------------------------------------------------------------------

describe('gateway: proxying', () => {
  it('leaves platform hosts to the platform', async () => {
    for (const host of ['localhost', `app.${BASE}`, BASE, '127.0.0.1']) {
      expect((await send({ host })).body, host).toBe('platform');
    }
  });

  it('proxies a running tenant with the tenant Host and X-Forwarded-* headers', async () => {
    const reply = await send({
      host: `ACME.${BASE}:${gatewayPort}`,
      path: '/web/login?redirect=%2Fodoo',
      headers: {
        'x-forwarded-for': '198.51.100.9',
        'x-forwarded-proto': 'https',
        connection: 'keep-alive, x-drop-me',
        'x-drop-me': '1',
        // Read as X-Forwarded-Host / X-Real-IP by CGI-style servers.
        x_forwarded_host: `other.${BASE}`,
        x_real_ip: '10.6.6.6',
      },
    });
    expect(reply.status).toBe(200);
    const echo = JSON.parse(reply.body) as Echo;
    expect(echo.server).toBe('http');
    expect(echo.url).toBe('/web/login?redirect=%2Fodoo');
    expect(echo.headers.host).toBe(`acme.${BASE}:${gatewayPort}`);
    expect(echo.headers['x-forwarded-host']).toBe(`acme.${BASE}:${gatewayPort}`);
    expect(echo.headers['x-forwarded-proto']).toBe('http');
    expect(echo.headers['x-forwarded-for']).toBe('198.51.100.9, 127.0.0.1');
    expect(echo.headers['x-real-ip']).toBe('127.0.0.1');
    expect(echo.headers['x-drop-me']).toBeUndefined();
    expect(echo.rawHeaders.filter((name, i) => i % 2 === 0 && name.includes('_'))).toEqual([]);
    // Response: repeated Set-Cookie kept, hop-by-hop headers dropped.
    expect(reply.headers['set-cookie']).toEqual(['session_id=abc; Path=/', 'other=1; Path=/']);
    expect(reply.headers['x-hop']).toBeUndefined();
    expect(proxied).toEqual([{ tenant: 'acme', status: 200, ms: expect.any(Number) }]);
  });

  it('streams a 5 MiB upload on a non-RPC path intact, with and without Content-Length', async () => {
    const body = randomBytes(5 * 1024 * 1024);
    const sha = createHash('sha256').update(body).digest('hex');
    for (const chunked of [false, true]) {
      const reply = await send({ host: `acme.${BASE}`, method: 'POST', path: '/web/binary/upload_attachment', body, chunked });
      expect(reply.status).toBe(200);
      const echo = JSON.parse(reply.body) as Echo;
      expect(echo.bodyLength).toBe(body.length);
      expect(echo.bodySha256).toBe(sha);
      expect(echo.headers['transfer-encoding']).toBe(chunked ? 'chunked' : undefined);
    }
  });

  it('completes a 2 s long poll', async () => {
    const started = Date.now();
    const reply = await send({ host: `acme.${BASE}`, path: '/slow?ms=2000' });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ server: 'http', waited: 2000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
  });

  it('sends legacy long polling to the event port when the upstream has one', async () => {
    expect(JSON.parse((await send({ host: `acme.${BASE}`, path: '/longpolling/poll?ms=10' })).body)).toMatchObject({ server: 'event' });
    expect(JSON.parse((await send({ host: `solo.${BASE}`, path: '/longpolling/poll?ms=10' })).body)).toMatchObject({ server: 'http' });
  });

  it('stops the upstream request when the visitor leaves a long poll', async () => {
    closedEarly.length = 0;
    await new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port: gatewayPort, path: '/slow?ms=5000', headers: { host: `acme.${BASE}` }, agent: false });
      req.on('error', () => resolve());
      req.end();
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 300);
    });
    await expect.poll(() => closedEarly, { timeout: 2000 }).toContain('/slow');
  });

  it('replays a bodiless request once when a pooled upstream connection turns out dead', async () => {
    for (let i = 0; i < 3; i++) {
      const reply = await send({ host: `flaky.${BASE}`, path: `/web/webclient/version_info?i=${i}` });
      expect([reply.status, reply.body], `request ${i}`).toEqual([200, 'fresh']);
    }
  });

  it('takes route changes into account on the next request', async () => {
    expect((await send({ host: `acme.${BASE}` })).status).toBe(200);
    const running = routes.get('acme');
    if (!running) throw new Error('missing route');
    routes.set('acme', { ...running, state: 'stopped', upstream: undefined });
    expect((await send({ host: `acme.${BASE}` })).status).toBe(503);
    routes.set('acme', { ...running, upstream: { host: '127.0.0.1', port: portOf(eventUpstream) } });
    expect(JSON.parse((await send({ host: `acme.${BASE}` })).body)).toMatchObject({ server: 'event' });
    routes.delete('acme');
    expect((await send({ host: `acme.${BASE}` })).status).toBe(404);
  });

  it('confirms a status page with the source of truth first: a tenant just committed running is proxied', async () => {
    expect((await send({ host: `acme.${BASE}` })).status).toBe(200);
    expect(confirmed).toEqual([]);
    committed.set('newbie', route('newbie', 'running', { host: '127.0.0.1', port: portOf(httpUpstream) }));
    const page = await send({ host: `newbie.${BASE}`, path: '/web/login' });
    expect(page.status).toBe(200);
    expect(JSON.parse(page.body)).toMatchObject({ server: 'http', url: '/web/login' });
    const websocket = await websocketRoundTrip(`newbie.${BASE}`, ['hello']);
    expect([websocket.handshake.split('\r\n')[0], websocket.frames]).toEqual(['HTTP/1.1 101 Switching Protocols', ['hello']]);
    expect(confirmed).toEqual(['newbie', 'newbie']);
    // Unknown names are not looked up: probing random hosts costs no query.
    expect((await send({ host: `nobody.${BASE}` })).status).toBe(404);
    expect(confirmed).toEqual(['newbie', 'newbie']);
  });

  it('refuses absolute-form request targets, which would let Odoo pick another host', async () => {
    const raw = await rawExchange(`GET http://beta.${BASE}/web HTTP/1.1\r\nHost: acme.${BASE}\r\nConnection: close\r\n\r\n`, (r) =>
      r.includes('</html>'),
    );
    expect(raw.startsWith('HTTP/1.1 400')).toBe(true);
  });
});

describe('gateway: RPC bound to the tenant database', () => {
  const jsonrpc = (service: string, method: string, args: unknown[]) =>
    JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 5, params: { service, method, args } });
  const xmlrpc = (method: string, db: string) =>
    `<?xml version='1.0'?>\n<methodCall><methodName>${method}</methodName><params><param><value><string>${db}</string></value></param><param><value><int>2</int></value></param></params></methodCall>`;
  const post = (path: string, body: string, contentType = 'application/json') =>
    send({ host: `acme.${BASE}`, method: 'POST', path, body, headers: { 'content-type': contentType } });

  it('refuses /jsonrpc naming another database with a JSON-RPC error and 403', async () => {
    const before = seen.length;
    const reply = await post('/jsonrpc', jsonrpc('object', 'execute_kw', ['t_beta', 2, 'pw', 'res.partner', 'search', [[]]]));
    expect(reply.status).toBe(403);
    expect(JSON.parse(reply.body)).toMatchObject({ jsonrpc: '2.0', id: 5, error: { code: 403, message: 'Access Denied' } });
    expect(reply.body).not.toContain('t_beta');
    expect(seen.length).toBe(before);
    expect(proxied.at(-1)).toMatchObject({ tenant: 'acme', status: 403 });
  });

  it('proxies /jsonrpc naming the tenant database, body unchanged', async () => {
    const body = jsonrpc('common', 'login', ['t_acme', 'admin', 'pw']);
    const reply = await post('/jsonrpc', body);
    expect(reply.status).toBe(200);
    const echo = JSON.parse(reply.body) as Echo;
    expect(echo.body).toBe(body);
    expect(echo.headers['content-length']).toBe(String(Buffer.byteLength(body)));
  });

  it('applies the same rule to chunked RPC bodies', async () => {
    const bad = await send({
      host: `acme.${BASE}`,
      method: 'POST',
      path: '/jsonrpc',
      body: jsonrpc('common', 'login', ['t_beta', 'a', 'b']),
      chunked: true,
    });
    expect(bad.status).toBe(403);
    const good = await send({
      host: `acme.${BASE}`,
      method: 'POST',
      path: '/jsonrpc',
      body: jsonrpc('common', 'login', ['t_acme', 'a', 'b']),
      chunked: true,
    });
    expect(good.status).toBe(200);
  });

  it('checks /web/session/authenticate', async () => {
    const auth = (db: string) => JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { db, login: 'admin', password: 'pw' } });
    expect((await post('/web/session/authenticate', auth('t_beta'))).status).toBe(403);
    expect((await post('/web/session/authenticate', auth('t_acme'))).status).toBe(200);
  });

  it('always refuses the db service and the database manager', async () => {
    expect((await post('/jsonrpc', jsonrpc('db', 'list', []))).status).toBe(403);
    expect((await post('/jsonrpc', jsonrpc('db', 'drop', ['admin', 't_acme']))).status).toBe(403);
    const xmlDb = await post('/xmlrpc/2/db', xmlrpc('list', 't_acme'), 'text/xml');
    expect(xmlDb.status).toBe(403);
    expect(xmlDb.body).toContain('<fault>');
    const manager = await send({ host: `acme.${BASE}`, path: '/web/database/manager' });
    expect(manager.status).toBe(403);
    expect(manager.headers['content-type']).toContain('text/html');
  });

  it('refuses XML-RPC naming another database with a fault and 403, proxies the tenant database', async () => {
    for (const path of ['/xmlrpc/2/object', '/xmlrpc/object']) {
      const bad = await post(path, xmlrpc('execute_kw', 't_beta'), 'text/xml');
      expect(bad.status, path).toBe(403);
      expect(bad.body).toContain('<fault>');
      const good = await post(path, xmlrpc('execute_kw', 't_acme'), 'text/xml');
      expect(good.status, path).toBe(200);
      expect((JSON.parse(good.body) as Echo).body).toBe(xmlrpc('execute_kw', 't_acme'));
    }
    expect((await post('/xmlrpc/2/common', xmlrpc('authenticate', 't_beta'), 'text/xml')).status).toBe(403);
    expect((await post('/xmlrpc/2/common', xmlrpc('authenticate', 't_acme'), 'text/xml')).status).toBe(200);
  });

  it('refuses disguised spellings of the RPC paths with a 400 page naming no tenant', async () => {
    const forwardedBefore = seen.length;
    for (const path of ['//jsonrpc', '/jsonrpc/', '/json%72pc', '/web/../jsonrpc', '/x\\..\\jsonrpc', '/fr/jsonrpc']) {
      const reply = await post(path, jsonrpc('object', 'execute_kw', ['t_beta']));
      expect(reply.status, path).toBe(400);
      expect(reply.body, path).not.toMatch(/acme|beta/);
    }
    expect(seen).toHaveLength(forwardedBefore);
  });

  it('sends the canonical path upstream, with the query as received', async () => {
    const reply = await send({ host: `acme.${BASE}`, path: '/web/./static/..\\login?next=%2F..%2Fx' });
    expect(reply.status).toBe(200);
    expect((JSON.parse(reply.body) as Echo).url).toBe('/web/login?next=%2F..%2Fx');
  });

  it('refuses an unparseable RPC body whatever its Content-Type', async () => {
    expect((await post('/jsonrpc', 'db=t_beta', 'application/x-www-form-urlencoded')).status).toBe(403);
    expect((await post('/xmlrpc/2/object', '<methodCall>', 'text/xml')).status).toBe(403);
  });

  it('answers 413 to an RPC body over the limit, announced or not', async () => {
    const big = JSON.stringify({ params: { service: 'object', method: 'execute_kw', args: ['t_acme', 'x'.repeat(RPC_LIMIT)] } });
    const announced = await post('/jsonrpc', big);
    expect(announced.status).toBe(413);
    expect(JSON.parse(announced.body)).toMatchObject({ error: { code: 413 } });
    const streamed = await send({ host: `acme.${BASE}`, method: 'POST', path: '/jsonrpc', body: big, chunked: true });
    expect(streamed.status).toBe(413);
  });
});

describe('gateway: websocket', () => {
  it('round-trips frames, through the event port when the upstream has one', async () => {
    const result = await websocketRoundTrip(`acme.${BASE}`, ['hello', 'bus subscription']);
    expect(result.handshake).toContain('HTTP/1.1 101');
    expect(result.handshake).toContain('X-Upstream: event');
    expect(result.handshake).toContain(`X-Seen-Host: acme.${BASE}`);
    expect(result.handshake).toContain('X-Seen-Forwarded-For: 127.0.0.1');
    expect(result.frames).toEqual(['hello', 'bus subscription']);
    expect(proxied.at(-1)).toMatchObject({ tenant: 'acme', status: 101 });
  });

  it('uses the HTTP port when the upstream has no separate websocket port', async () => {
    const result = await websocketRoundTrip(`solo.${BASE}`, ['ping']);
    expect(result.handshake).toContain('X-Upstream: http');
    expect(result.frames).toEqual(['ping']);
  });

  it('answers non-running tenants and unknown hosts with an HTTP error on the socket', async () => {
    const stopped = await websocketRoundTrip(`stopped1.${BASE}`, []);
    expect(stopped.handshake.startsWith('HTTP/1.1 503')).toBe(true);
    expect(stopped.handshake).toContain('Connection: close');
    const unknown = await websocketRoundTrip(`nobody.${BASE}`, []);
    expect(unknown.handshake.startsWith('HTTP/1.1 404')).toBe(true);
    expect(unknown.handshake).not.toContain('nobody');
    const down = await websocketRoundTrip(`down.${BASE}`, []);
    expect(down.handshake.startsWith('HTTP/1.1 502')).toBe(true);
  });

  it('relays a refused handshake and closes, so no further request rides the socket', async () => {
    const raw = await rawExchange(
      `GET /websocket HTTP/1.1\r\nHost: acme.${BASE}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n` +
        `POST /jsonrpc HTTP/1.1\r\nHost: acme.${BASE}\r\nContent-Length: 2\r\n\r\n{}`,
      () => false,
    );
    expect(raw.startsWith('HTTP/1.1 400')).toBe(true);
    expect(raw.match(/HTTP\/1\.1/g)).toHaveLength(1);
  });

  it('refuses upgrades on RPC paths', async () => {
    const raw = await rawExchange(
      `GET /jsonrpc HTTP/1.1\r\nHost: acme.${BASE}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\n\r\n`,
      () => false,
    );
    expect(raw.startsWith('HTTP/1.1 403')).toBe(true);
  });

  it('answers a bodiless non-websocket upgrade (h2c) as plain HTTP', async () => {
    const raw = await rawExchange(
      `GET /web HTTP/1.1\r\nHost: acme.${BASE}\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`,
      () => false,
    );
    expect(raw.startsWith('HTTP/1.1 200')).toBe(true);
    expect(raw).toContain('"server":"http"');
    expect(raw).not.toMatch(/"upgrade"/i);
  });
});

/**
 * Sends `text` and keeps writing frames without ever closing its side (as a stuck or hostile
 * client would); resolves with what it received once the gateway closed the connection for good.
 */
function stubbornExchange(text: string, onAnswer?: () => void): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port: gatewayPort, host: '127.0.0.1', allowHalfOpen: true });
    let received = '';
    const keepWriting = setInterval(() => {
      if (socket.writable) socket.write(maskedTextFrame('still here'));
    }, 20);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      if (received === '') onAnswer?.();
      received += chunk.toString('latin1');
    });
    socket.on('close', () => {
      clearInterval(keepWriting);
      resolve(received);
    });
    socket.write(text);
    socket.write(maskedTextFrame('sent right behind the handshake'));
  });
}

describe('gateway: ending upgraded connections', () => {
  const handshake = (host: string, path = '/websocket', key = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n') =>
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${key}\r\n`;

  it('closes the socket for good after every non-101 answer, even when the visitor keeps it open', async () => {
    const answers = await Promise.all([
      // Odoo's refusal (relayed), the gateway's 404 page, its 502, its refusal of an RPC path.
      stubbornExchange(handshake(`acme.${BASE}`, '/websocket', '')),
      stubbornExchange(handshake(`nobody.${BASE}`)),
      stubbornExchange(handshake(`down.${BASE}`)),
      stubbornExchange(handshake(`acme.${BASE}`, '/jsonrpc')),
    ]);
    expect(answers.map((answer) => answer.slice(0, 12))).toEqual(['HTTP/1.1 400', 'HTTP/1.1 404', 'HTTP/1.1 502', 'HTTP/1.1 403']);
  }, 10_000);

  it('ends open websockets on demand (shutdown)', async () => {
    const closed = stubbornExchange(handshake(`acme.${BASE}`), () => gateway.endUpgradedConnections());
    expect((await closed).startsWith('HTTP/1.1 101')).toBe(true);
  }, 10_000);
});

describe('gateway: its own answers on tenant hosts', () => {
  it('refuse RPC calls with nosniff, as its pages do', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', method: 'call', id: 1, params: { service: 'db', method: 'list', args: [] } });
    const refusal = await send({
      host: `acme.${BASE}`,
      method: 'POST',
      path: '/jsonrpc',
      body,
      headers: { 'content-type': 'application/json' },
    });
    const page = await send({ host: `nobody.${BASE}` });
    expect([refusal.status, page.status]).toEqual([403, 404]);
    expect([refusal.headers['x-content-type-options'], page.headers['x-content-type-options']]).toEqual(['nosniff', 'nosniff']);
  });
});

describe('gateway: status pages', () => {
  it('shows the state pages with their statuses', async () => {
    const stopped = await send({ host: `stopped1.${BASE}` });
    expect([stopped.status, stopped.headers['retry-after']]).toEqual([503, '60']);
    expect(stopped.body).toContain('stopped');
    const suspended = await send({ host: `suspended1.${BASE}` });
    expect(suspended.status).toBe(403);
    expect(suspended.body).toContain('suspended');
    const preparing = await send({ host: `newbie.${BASE}` });
    expect([preparing.status, preparing.headers['retry-after']]).toEqual([503, '5']);
    expect(preparing.body).toContain('being prepared');
    expect(preparing.body).toContain('http-equiv="refresh"');
    const leaving = await send({ host: `leaving.${BASE}` });
    expect(leaving.status).toBe(404);
    expect(leaving.body).toContain('not available');
    expect((await send({ host: `broken.${BASE}` })).status).toBe(503);
    expect(proxied.map((entry) => [entry.tenant, entry.status])).toEqual([
      ['stopped1', 503],
      ['suspended1', 403],
      ['newbie', 503],
      ['leaving', 404],
      ['broken', 503],
    ]);
  });

  it('shows one generic 404 for unknown hosts and deleted tenants, leaking no name', async () => {
    const unknownName = await send({ host: `nobody.${BASE}` });
    const deleted = await send({ host: `gone.${BASE}` });
    const otherDomain = await send({ host: 'shop.elsewhere.org' });
    const nested = await send({ host: `a.acme.${BASE}` });
    for (const reply of [unknownName, deleted, otherDomain, nested]) {
      expect(reply.status).toBe(404);
      expect(reply.body).toBe(unknownName.body);
      expect(reply.body).toContain('No such site');
      for (const name of ['nobody', 'gone', 'acme', 'elsewhere']) expect(reply.body).not.toContain(name);
    }
    // Neither unknown names nor deleted tenants become metrics labels.
    expect(proxied).toEqual([]);
  });

  it('answers 502 with a page when the upstream refuses connections, without hanging', async () => {
    const started = Date.now();
    const reply = await send({ host: `down.${BASE}`, method: 'POST', path: '/web/dataset/call_kw', body: 'x'.repeat(100_000) });
    expect(reply.status).toBe(502);
    expect(reply.headers['content-type']).toContain('text/html');
    expect(reply.body).toContain(`down.${BASE}`);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(
      (await send({ host: `down.${BASE}`, method: 'POST', path: '/jsonrpc', body: '{"params":{"service":"common","method":"version"}}' }))
        .status,
    ).toBe(502);
    expect(proxied.map((entry) => entry.status)).toEqual([502, 502]);
  });

  it('keeps serving after all of the above', async () => {
    expect((await send({ host: `acme.${BASE}` })).status).toBe(200);
  });
});
