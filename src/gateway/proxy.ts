/**
 * Moving bytes between the visitor and Odoo (node:http / node:net only). The decisions (which
 * upstream, which headers, allowed or not) are made by the callers and the pure modules; this
 * file only streams and turns failures into responses. Nothing here may throw into the server:
 * every socket gets an error listener, and a failure before the response started becomes a
 * 502/504 page, after it a closed connection.
 */
import { type Agent, type ClientRequest, request as httpRequest, type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { formatRawResponse, forwardResponseHeaders } from './headers.js';
import { renderStatusPage, type StatusPageKind } from './status-pages.js';

export interface ProxyTarget {
  host: string;
  port: number;
}

/** Why talking to Odoo failed, for the page and the log. */
export type UpstreamFailure = 'connect_timeout' | 'idle_timeout' | 'unreachable' | 'reset';

class UpstreamTimeout extends Error {
  constructor(readonly failure: 'connect_timeout' | 'idle_timeout') {
    super(failure);
  }
}

export interface UpstreamTimeouts {
  /** Connecting to Odoo; a refused connection fails at once, this bounds a silent network. */
  connectMs: number;
  /**
   * Silence on the upstream socket. Must exceed Odoo's long-polling wait (~50 s) and its slow
   * reports; it bounds inactivity, not the length of a streamed response.
   */
  idleMs: number;
}

function failureOf(error: unknown): UpstreamFailure {
  if (error instanceof UpstreamTimeout) return error.failure;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' ? 'reset' : 'unreachable';
}

function pageForFailure(failure: UpstreamFailure): StatusPageKind {
  return failure === 'idle_timeout' ? 'gateway_timeout' : 'bad_gateway';
}

/** Arms the connect and idle timers of an upstream request. */
function applyTimeouts(upstreamReq: ClientRequest, timeouts: UpstreamTimeouts): void {
  upstreamReq.setTimeout(timeouts.idleMs, () => upstreamReq.destroy(new UpstreamTimeout('idle_timeout')));
  upstreamReq.once('socket', (socket: Socket) => {
    if (!socket.connecting) return;
    const timer = setTimeout(() => upstreamReq.destroy(new UpstreamTimeout('connect_timeout')), timeouts.connectMs);
    socket.once('connect', () => clearTimeout(timer));
    upstreamReq.once('close', () => clearTimeout(timer));
  });
}

/** Sends a page (or any small complete response) unless the response already started. */
export function sendResponse(
  res: ServerResponse,
  response: { status: number; headers: Record<string, string>; body: string },
  close = false,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers = close ? { ...response.headers, connection: 'close' } : response.headers;
  res.writeHead(response.status, headers);
  res.end(response.body);
}

export interface HttpProxyRequest {
  req: IncomingMessage;
  res: ServerResponse;
  target: ProxyTarget;
  /** The request target sent to Odoo: the gateway's canonical one, not `req.url`. */
  path: string;
  /** Flat raw header list for Odoo (headers.ts). */
  headers: string[];
  /** The whole body when it was buffered (or there is none); undefined streams `req`. */
  body: Buffer | undefined;
  agent: Agent;
  timeouts: UpstreamTimeouts;
  /** Host shown on the 502/504 page. */
  pageHost: string;
  onFailure: (failure: UpstreamFailure, error: unknown) => void;
  /**
   * Odoo refused the connection (nothing reached it) and the body is in hand: the caller answers
   * instead of the 502 page (the upstream may have just been stopped by a hibernation).
   */
  onRefused?: () => void;
}

/** Proxies one HTTP request, streaming both ways (request body, response body). */
export function proxyHttp(options: HttpProxyRequest, attempt = 1): void {
  const { req, res, target, body } = options;
  const upstreamReq = httpRequest({
    host: target.host,
    port: target.port,
    method: req.method,
    path: options.path,
    headers: options.headers,
    agent: options.agent,
    setHost: false,
  });
  applyTimeouts(upstreamReq, options.timeouts);

  upstreamReq.on('response', (upstreamRes: IncomingMessage) => {
    upstreamRes.on('error', () => res.destroy());
    try {
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, forwardResponseHeaders(upstreamRes.rawHeaders));
    } catch (error) {
      // Odoo sent a status line or header Node will not repeat: treat it as a broken upstream.
      upstreamRes.destroy();
      options.onFailure('unreachable', error);
      sendResponse(res, renderStatusPage('bad_gateway', { host: options.pageHost }), !req.complete);
      return;
    }
    upstreamRes.pipe(res);
  });

  upstreamReq.on('error', (error) => {
    // The visitor left and the upstream request was stopped on purpose: nothing to report.
    if (res.destroyed) return;
    if (res.headersSent) {
      if (!res.writableFinished) res.destroy();
      return;
    }
    // A kept-alive socket that Odoo closed just as it was reused: replay once if the body is in
    // hand (buffered or empty), as Node's documentation recommends for `reusedSocket`.
    if (attempt === 1 && upstreamReq.reusedSocket && body !== undefined && failureOf(error) === 'reset') {
      proxyHttp(options, 2);
      return;
    }
    const failure = failureOf(error);
    options.onFailure(failure, error);
    if (options.onRefused && body !== undefined && (error as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
      options.onRefused();
      return;
    }
    sendResponse(res, renderStatusPage(pageForFailure(failure), { host: options.pageHost }), !req.complete);
  });

  // The visitor went away (closed tab, finished long poll): stop Odoo's side too.
  res.once('close', () => {
    if (!res.writableFinished) upstreamReq.destroy();
  });

  if (body !== undefined) upstreamReq.end(body);
  else req.pipe(upstreamReq);
}

export interface SocketProxyRequest {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  target: ProxyTarget;
  /** The request target sent to Odoo: the gateway's canonical one, not `req.url`. */
  path: string;
  headers: string[];
  timeouts: UpstreamTimeouts;
  pageHost: string;
  onFailure: (failure: UpstreamFailure, error: unknown) => void;
  /** The status the visitor got (101 on a websocket), once known. */
  onStatus: (status: number) => void;
}

/**
 * How long a connection the gateway is ending may still read (and drop) what the visitor sends
 * once the answer is written, so that the answer is not reset away before the visitor read it
 * (a "lingering close", as nginx does).
 */
const LINGER_MS = 2_000;
/** A visitor that does not even read the answer gets this long before its socket is destroyed. */
const FLUSH_MS = 30_000;

/**
 * Ends a socket the HTTP server handed over (an upgrade), after writing `data`, and destroys it
 * for good: once the visitor closed too, or LINGER_MS after the answer left. Ending alone is not
 * enough: a visitor that keeps its side open, or whose unread input holds the socket paused,
 * would keep it half-open forever, and the server's `close()` with it.
 */
function endSocket(socket: Duplex, data?: string): void {
  if (socket.destroyed) return;
  const destroyLater = (ms: number) => setTimeout(() => socket.destroy(), ms).unref();
  let timer = destroyLater(FLUSH_MS);
  socket.once('finish', () => {
    clearTimeout(timer);
    timer = destroyLater(LINGER_MS);
  });
  socket.once('close', () => clearTimeout(timer));
  // With both sides ended the socket destroys itself (autoDestroy); reading is what lets the
  // visitor's end arrive at all.
  socket.resume();
  if (socket.writable) socket.end(data);
  else socket.destroy();
}

/** Writes a complete response on a socket the HTTP server handed over, then closes it. */
export function writeRawResponse(socket: Duplex, response: { status: number; headers: Record<string, string>; body: string }): void {
  endSocket(socket, formatRawResponse(response.status, STATUS_CODES[response.status] ?? 'Unknown', response.headers, response.body));
}

function rawHead(status: number, reason: string, raw: readonly string[]): string {
  const lines = [`HTTP/1.1 ${status} ${reason}`];
  for (let i = 0; i + 1 < raw.length; i += 2) lines.push(`${raw[i]}: ${raw[i + 1]}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * Proxies a request that arrived as an HTTP upgrade. Odoo answers 101 to a websocket handshake:
 * from then on both sockets are piped raw. Any other answer is relayed and the connection closed,
 * so no second HTTP request can ride the raw socket past the gateway's checks. Nothing the
 * visitor sent after the handshake reaches Odoo before the 101.
 */
export function proxyOverSocket(options: SocketProxyRequest): void {
  const { req, socket, head, target } = options;
  let answered = false;
  const upstreamReq = httpRequest({
    host: target.host,
    port: target.port,
    method: req.method,
    path: options.path,
    headers: options.headers,
    // A dedicated connection: an upgraded socket never goes back to a pool.
    agent: false,
    setHost: false,
  });
  applyTimeouts(upstreamReq, options.timeouts);

  const onClientGone = () => upstreamReq.destroy();
  socket.once('close', onClientGone);

  upstreamReq.on('upgrade', (upstreamRes: IncomingMessage, upstreamSocket: Socket, upstreamHead: Buffer) => {
    answered = true;
    socket.off('close', onClientGone);
    // Websockets idle for long stretches; TCP keepalive notices dead peers instead.
    upstreamSocket.setTimeout(0);
    upstreamSocket.setNoDelay(true);
    upstreamSocket.setKeepAlive(true, 30_000);
    const closeBoth = () => {
      upstreamSocket.destroy();
      socket.destroy();
    };
    upstreamSocket.on('error', closeBoth);
    upstreamSocket.on('close', closeBoth);
    socket.on('error', closeBoth);
    socket.on('close', closeBoth);
    options.onStatus(upstreamRes.statusCode ?? 101);
    socket.write(rawHead(upstreamRes.statusCode ?? 101, upstreamRes.statusMessage ?? 'Switching Protocols', upstreamRes.rawHeaders));
    if (upstreamHead.length > 0) socket.write(upstreamHead);
    if (head.length > 0) upstreamSocket.write(head);
    upstreamSocket.pipe(socket);
    socket.pipe(upstreamSocket);
  });

  upstreamReq.on('response', (upstreamRes: IncomingMessage) => {
    answered = true;
    const status = upstreamRes.statusCode ?? 502;
    options.onStatus(status);
    const headers = forwardResponseHeaders(upstreamRes.rawHeaders);
    headers.push('Connection', 'close');
    upstreamRes.on('error', () => socket.destroy());
    // Odoo's answer broke off: the visitor must not take a truncated body for a complete one.
    upstreamRes.on('close', () => {
      if (!upstreamRes.complete) socket.destroy();
    });
    if (socket.destroyed) {
      upstreamRes.destroy();
      return;
    }
    // Without Transfer-Encoding the body simply ends with the connection.
    socket.write(rawHead(status, upstreamRes.statusMessage ?? STATUS_CODES[status] ?? 'Unknown', headers));
    upstreamRes.pipe(socket, { end: false });
    upstreamRes.on('end', () => endSocket(socket));
  });

  upstreamReq.on('error', (error) => {
    if (answered || socket.destroyed) {
      socket.destroy();
      return;
    }
    const failure = failureOf(error);
    options.onFailure(failure, error);
    const page = renderStatusPage(pageForFailure(failure), { host: options.pageHost });
    options.onStatus(page.status);
    writeRawResponse(socket, page);
  });

  upstreamReq.end();
}
