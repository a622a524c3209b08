/**
 * Which request paths name an Odoo database themselves. Odoo's `dbfilter` (bound to the host
 * name) protects the session-based `/web/*` routes, but the RPC endpoints take the database from
 * the request body and open any database the Odoo process can reach. The gateway therefore
 * recognises those paths here and checks their bodies (rpc-guard.ts). Pure.
 *
 * Matching is done on a normalised copy of the path (percent-decoded once, as the WSGI server
 * does, slashes merged, dot segments resolved, lower-cased), so encoded or padded spellings of a
 * guarded path are still guarded. Normalising more than Odoo does only ever guards more.
 */

export type RpcEndpoint =
  /** `/jsonrpc`: `{ params: { service, method, args } }`. */
  | { protocol: 'jsonrpc'; kind: 'service' }
  /** `/web/session/authenticate`: `{ params: { db, login, password } }`. */
  | { protocol: 'jsonrpc'; kind: 'session-authenticate' }
  /** `/xmlrpc/2/<service>` and the legacy `/xmlrpc/<service>`. */
  | { protocol: 'xmlrpc'; kind: 'service'; service: 'common' | 'object' };

export type RpcRoute =
  /** Not an RPC path: streamed to Odoo untouched. */
  | { kind: 'open' }
  /** Refused from the path alone (database manager, the `db` service, unknown services). */
  | { kind: 'deny'; protocol: 'jsonrpc' | 'xmlrpc' | 'http'; reason: string }
  /** The body names the database: buffer it and call `checkRpcBody`. */
  | { kind: 'inspect'; endpoint: RpcEndpoint };

/**
 * The path of an origin-form request target (`/path?query`), normalised for matching; undefined
 * for any other form. Absolute-form targets (`http://other/...`) are refused by the caller:
 * werkzeug would take the host from such a URL, which would defeat the host-based `dbfilter`.
 */
export function normaliseRequestPath(target: string): string | undefined {
  if (!target.startsWith('/')) return undefined;
  const end = target.search(/[?#]/);
  const raw = end < 0 ? target : target.slice(0, end);
  // Decode each valid %XX once (like the WSGI server); invalid escapes stay as they are.
  const decoded = raw.replace(/%([0-9a-fA-F]{2})/g, (_match, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  const segments: string[] = [];
  for (const segment of decoded.toLowerCase().split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join('/')}`;
}

const DATABASE_MANAGER = /^\/web\/database(?:\/|$)/;
const XMLRPC = /^\/xmlrpc(?:\/2)?\/([^/]+)$/;

/** Classifies a normalised path (see `normaliseRequestPath`). */
export function routeRpc(path: string): RpcRoute {
  if (DATABASE_MANAGER.test(path)) {
    return { kind: 'deny', protocol: 'http', reason: 'the database manager is not reachable through the gateway' };
  }
  if (path === '/jsonrpc' || path.startsWith('/jsonrpc/')) return { kind: 'inspect', endpoint: { protocol: 'jsonrpc', kind: 'service' } };
  if (path === '/web/session/authenticate') return { kind: 'inspect', endpoint: { protocol: 'jsonrpc', kind: 'session-authenticate' } };
  if (path === '/xmlrpc' || path.startsWith('/xmlrpc/')) {
    const service = XMLRPC.exec(path)?.[1];
    if (service === 'common' || service === 'object')
      return { kind: 'inspect', endpoint: { protocol: 'xmlrpc', kind: 'service', service } };
    if (service === 'db') return { kind: 'deny', protocol: 'xmlrpc', reason: 'the db service is not reachable through the gateway' };
    return { kind: 'deny', protocol: 'xmlrpc', reason: `unknown XML-RPC endpoint ${path}` };
  }
  return { kind: 'open' };
}
