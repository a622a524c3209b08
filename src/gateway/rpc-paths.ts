/**
 * Which request paths name an Odoo database themselves. Odoo's `dbfilter` (bound to the host
 * name) protects the session-based `/web/*` routes, but the RPC endpoints take the database from
 * the request body and open any database the Odoo process can reach. The gateway therefore
 * recognises those routes here and checks their bodies (rpc-guard.ts). Pure.
 *
 * A route is decided on every reading of the path (request-target.ts) and must be the same on
 * all of them, otherwise the request is refused (400): the gateway never guesses which route an
 * upstream will pick. The table follows Odoo 16-18 (werkzeug rules, exact and case-sensitive):
 * `/jsonrpc`, `/xmlrpc/<service>`, `/xmlrpc/2/<service>`, `/web/session/authenticate`, and the
 * database manager `/web/database/<action>`. Other paths under those names are not Odoo routes;
 * they are refused rather than passed, so that no spelling near an RPC route is ever let through
 * unread. Odoo's language router (`http_routing`, installed with most apps) serves a path it
 * does not know without its first segment when that segment is a language's URL code, which a
 * tenant's admin may set to anything: `/fr/jsonrpc` is `/jsonrpc` there, so a path that is not
 * routed as it is is also read without its first segment.
 */
import { readRequestTarget } from './request-target.js';

export type RpcEndpoint =
  /** `/jsonrpc`: `{ params: { service, method, args } }`. */
  | { protocol: 'jsonrpc'; kind: 'service' }
  /** `/web/session/authenticate`: `{ params: { db, login, password } }`. */
  | { protocol: 'jsonrpc'; kind: 'session-authenticate' }
  /**
   * The web client's `/web/dataset/call_kw[/<path>]` and `/web/dataset/call_button`
   * (`{ params: { model, method, args, kwargs } }`): session-bound (dbfilter), read only for the
   * plan limits a tenant is held to (limit-guard.ts).
   */
  | { protocol: 'jsonrpc'; kind: 'call-kw' }
  /** `/xmlrpc/2/<service>` and the legacy `/xmlrpc/<service>`. */
  | { protocol: 'xmlrpc'; kind: 'service'; service: 'common' | 'object' };

export type RpcRoute =
  /** Not an RPC path: streamed to Odoo untouched. */
  | { kind: 'open' }
  /** Refused from the path alone (database manager, the `db` service, unknown services). */
  | { kind: 'deny'; protocol: 'jsonrpc' | 'xmlrpc' | 'http'; reason: string }
  /** The body names the database: buffer it and call `checkRpcBody`. */
  | { kind: 'inspect'; endpoint: RpcEndpoint };

export type RoutedTarget =
  /** Send `upstreamTarget` (the canonical path and the query as received) instead of the raw target. */
  | { ok: true; route: RpcRoute; upstreamTarget: string }
  /** Answer 400: the target is malformed or its route depends on how it is read. */
  | { ok: false; reason: string };

/** Odoo's database manager routes (addons/web/controllers/database.py). */
const DATABASE_MANAGER_ACTIONS = new Set([
  'selector',
  'manager',
  'create',
  'duplicate',
  'drop',
  'backup',
  'restore',
  'change_password',
  'list',
]);

/** Near an RPC route but not one: refused, never passed. */
const RESERVED = 'reserved';

/** The route of one reading of the path, as the list of its segments. */
function routeOfSegments(segments: readonly string[]): RpcRoute | typeof RESERVED {
  const [first, second, third] = segments;
  if (first === 'jsonrpc')
    return segments.length === 1 ? { kind: 'inspect', endpoint: { protocol: 'jsonrpc', kind: 'service' } } : RESERVED;
  if (first === 'xmlrpc') {
    // werkzeug tries the static `2` first, then `<service>` (`[^/]+`): `/xmlrpc/2` is service "2".
    const service = segments.length === 2 ? second : segments.length === 3 && second === '2' ? third : undefined;
    if (!service) return RESERVED;
    if (service === 'common' || service === 'object')
      return { kind: 'inspect', endpoint: { protocol: 'xmlrpc', kind: 'service', service } };
    if (service === 'db') return { kind: 'deny', protocol: 'xmlrpc', reason: 'the db service is not reachable through the gateway' };
    return { kind: 'deny', protocol: 'xmlrpc', reason: 'unknown XML-RPC service' };
  }
  if (first === 'web' && second === 'session' && third === 'authenticate') {
    return segments.length === 3 ? { kind: 'inspect', endpoint: { protocol: 'jsonrpc', kind: 'session-authenticate' } } : RESERVED;
  }
  if (first === 'web' && second === 'dataset' && (third === 'call_kw' || (third === 'call_button' && segments.length === 3))) {
    return { kind: 'inspect', endpoint: { protocol: 'jsonrpc', kind: 'call-kw' } };
  }
  if (first === 'web' && second === 'database') {
    if (segments.length === 3 && third !== undefined && DATABASE_MANAGER_ACTIONS.has(third)) {
      return { kind: 'deny', protocol: 'http', reason: 'the database manager is not reachable through the gateway' };
    }
    return RESERVED;
  }
  return { kind: 'open' };
}

function sameRoute(a: RpcRoute | typeof RESERVED, b: RpcRoute | typeof RESERVED): boolean {
  if (a === RESERVED || b === RESERVED) return a === b;
  if (a.kind !== b.kind) return false;
  if (a.kind === 'inspect' && b.kind === 'inspect') return JSON.stringify(a.endpoint) === JSON.stringify(b.endpoint);
  return a.kind !== 'deny' || (b.kind === 'deny' && a.protocol === b.protocol);
}

/** Classifies a request target (`/path?query`) and gives the target to send upstream. */
export function routeRequestTarget(target: string): RoutedTarget {
  const read = readRequestTarget(target);
  if (!read.ok) return read;
  let agreed: RpcRoute | typeof RESERVED | undefined;
  const consider = (segments: readonly string[]): boolean => {
    const route = routeOfSegments(segments);
    if (agreed === undefined) agreed = route;
    return sameRoute(agreed, route);
  };
  for (const segments of read.readings) {
    if (!consider(segments)) return { ok: false, reason: 'the path reads as different routes depending on the server' };
    // http_routing's language prefix: only for a path not routed as it is.
    const unrouted = agreed !== RESERVED && agreed?.kind === 'open';
    if (unrouted && segments.length >= 2 && !consider(segments.slice(1))) {
      return { ok: false, reason: 'the path reads as an RPC route behind a language prefix' };
    }
  }
  if (agreed === undefined || agreed === RESERVED) return { ok: false, reason: 'the path is near an RPC route but is not one' };
  return { ok: true, route: agreed, upstreamTarget: read.upstreamTarget };
}
