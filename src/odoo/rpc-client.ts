import { request } from 'node:http';

/**
 * A small JSON-RPC client for Odoo, used for health and login checks. It talks HTTP/1.1 with
 * an explicit Host header, because a multi-database pool picks the database from the host name.
 */
export interface OdooEndpoint {
  host: string;
  port: number;
  /** Host header to send (the tenant's host name); defaults to host:port. */
  hostHeader?: string;
  timeoutMs?: number;
}

export class OdooRpcError extends Error {
  readonly odooError: string | undefined;
  /** Odoo's traceback (`error.data.debug`), when it sent one. */
  readonly traceback: string | undefined;
  constructor(message: string, odooError?: string, traceback?: string) {
    // The traceback goes into the message: it is what tells an operator why an installation is broken.
    super(traceback ? `${message}\n${traceback.trim()}` : message);
    this.name = 'OdooRpcError';
    this.odooError = odooError;
    this.traceback = traceback;
  }
}

interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function httpCall(
  endpoint: OdooEndpoint,
  method: string,
  path: string,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<HttpResult> {
  return new Promise((resolvePromise, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      {
        host: endpoint.host,
        port: endpoint.port,
        method,
        path,
        headers: {
          host: endpoint.hostHeader ?? `${endpoint.host}:${endpoint.port}`,
          ...extraHeaders,
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        },
        timeout: endpoint.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`Odoo did not answer ${path} within ${endpoint.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

async function jsonRpc<T>(
  endpoint: OdooEndpoint,
  path: string,
  params: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<{ result: T; headers: HttpResult['headers'] }> {
  const response = await httpCall(endpoint, 'POST', path, { jsonrpc: '2.0', method: 'call', id: 1, params }, headers);
  if (response.status !== 200) throw new OdooRpcError(`Odoo answered HTTP ${response.status} on ${path}`);
  let parsed: { result?: T; error?: { message?: string; data?: { name?: string; message?: string; debug?: string } } };
  try {
    parsed = JSON.parse(response.body);
  } catch {
    throw new OdooRpcError(`Odoo answered ${path} with something that is not JSON`);
  }
  if (parsed.error) {
    const { data } = parsed.error;
    throw new OdooRpcError(data?.message ?? parsed.error.message ?? 'Odoo error', data?.name, data?.debug);
  }
  return { result: parsed.result as T, headers: response.headers };
}

/** `GET /web/health`: answers without a database; true when Odoo's HTTP server is up. */
export async function odooHealthy(endpoint: OdooEndpoint): Promise<boolean> {
  try {
    const response = await httpCall({ ...endpoint, timeoutMs: endpoint.timeoutMs ?? 2_000 }, 'GET', '/web/health');
    return response.status === 200;
  } catch {
    return false;
  }
}

export interface OdooVersionInfo {
  server_version: string;
  server_serie: string;
  protocol_version: number;
}

export async function odooVersion(endpoint: OdooEndpoint): Promise<OdooVersionInfo> {
  return (await jsonRpc<OdooVersionInfo>(endpoint, '/jsonrpc', { service: 'common', method: 'version', args: [] })).result;
}

/**
 * Logs in like the web client (`/web/session/authenticate`); resolves with the uid and the
 * session cookie, rejects with OdooRpcError (odooError `odoo.exceptions.AccessDenied`) on a bad password.
 */
export async function authenticateSession(
  endpoint: OdooEndpoint,
  input: { database: string; login: string; password: string },
): Promise<OdooSession> {
  const { result, headers } = await jsonRpc<{ uid: number | false }>(endpoint, '/web/session/authenticate', {
    db: input.database,
    login: input.login,
    password: input.password,
  });
  if (!result?.uid) throw new OdooRpcError('Odoo refused the login', 'odoo.exceptions.AccessDenied');
  const setCookie = headers['set-cookie'];
  const cookie = (Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []).find((c) => c.startsWith('session_id='));
  return { uid: result.uid, sessionCookie: cookie?.split(';')[0] };
}

/** `object.execute_kw` over `/jsonrpc`. */
export async function executeKw<T>(
  endpoint: OdooEndpoint,
  input: {
    database: string;
    uid: number;
    password: string;
    model: string;
    method: string;
    args: unknown[];
    kwargs?: Record<string, unknown>;
  },
): Promise<T> {
  const { result } = await jsonRpc<T>(endpoint, '/jsonrpc', {
    service: 'object',
    method: 'execute_kw',
    args: [input.database, input.uid, input.password, input.model, input.method, input.args, input.kwargs ?? {}],
  });
  return result;
}

/** A session as `/web/session/authenticate` opened it. */
export interface OdooSession {
  uid: number;
  sessionCookie: string | undefined;
}

/**
 * Proves a login session is usable, not only opened: `/web/session/get_session_info` answers
 * the same uid and `/web` (the backend) answers 200. An Odoo 18 missing `geoip2` lets
 * authenticate succeed and fails every later request of the session (odoo/http.py uses
 * GEOIP_EMPTY_COUNTRY, defined only when geoip2 imports); Odoo's traceback is in the error.
 * Resolves with the backend page (its asset links are what a browser loads next).
 */
export async function checkSession(endpoint: OdooEndpoint, session: OdooSession): Promise<{ backendPage: string }> {
  if (!session.sessionCookie) throw new OdooRpcError('Odoo opened no session (no session_id cookie) on login');
  const cookie = { cookie: session.sessionCookie };
  const { result } = await jsonRpc<{ uid?: number | false }>(endpoint, '/web/session/get_session_info', {}, cookie);
  if (result?.uid !== session.uid) {
    throw new OdooRpcError(`Odoo's session info names uid ${String(result?.uid)} instead of ${session.uid}: the session is not usable`);
  }
  const backend = await httpCall(endpoint, 'GET', '/web', undefined, cookie);
  if (backend.status !== 200) {
    throw new OdooRpcError(`Odoo answered HTTP ${backend.status} on /web for a logged-in session: the session is not usable`);
  }
  return { backendPage: backend.body };
}

/**
 * Has the Odoo process answering load the registry of the database the host header selects, and
 * nothing else: Odoo loads (or checks) a request's database before routing it, whatever the
 * route's auth, and `/web/webclient/version_info` needs no login.
 */
export async function touchDatabase(endpoint: OdooEndpoint): Promise<void> {
  await jsonRpc(endpoint, '/web/webclient/version_info', {});
}

/** A page as text (GET), with an optional session. */
export async function fetchOdooPage(
  endpoint: OdooEndpoint,
  path: string,
  session?: OdooSession,
): Promise<{ status: number; body: string }> {
  const response = await httpCall(endpoint, 'GET', path, undefined, session?.sessionCookie ? { cookie: session.sessionCookie } : {});
  return { status: response.status, body: response.body };
}

/** The web asset bundle URLs (`/web/assets/...`) a page links to, in page order, once each. */
export function assetUrlsOf(page: string): string[] {
  const urls = [...page.matchAll(/(?:href|src)="(\/web\/assets\/[^"]+)"/g)].map((match) => (match[1] ?? '').replaceAll('&amp;', '&'));
  return [...new Set(urls)];
}
