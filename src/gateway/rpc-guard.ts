/**
 * Binds Odoo's RPC endpoints to the host's tenant database. Pure.
 *
 * A pool process can open every database it serves, and `/jsonrpc`, `/xmlrpc/*` and
 * `/web/session/authenticate` take the database name from the body, so without this check host
 * A could log in to tenant B's database. The rules, failing closed everywhere:
 * - JSON-RPC `/jsonrpc`: service `object` and `common` calls must name the tenant database as
 *   `params.args[0]` (except `common.version` / `common.about`, which touch no database);
 *   service `db` (list, create, drop, dump, restore, duplicate, ...) and unknown services are
 *   refused; a batch (array) is allowed only if every call in it is.
 * - `/web/session/authenticate`: `params.db` must be the tenant database.
 * - XML-RPC `/xmlrpc[/2]/common|object`: the first `<param>` must be the tenant database as a
 *   string; `/xmlrpc[/2]/db` and unknown services are refused by path (rpc-paths.ts).
 * - The database manager `/web/database/*` is refused by path.
 * - A body that cannot be read exactly as Odoo would read it is refused.
 *
 * The body is parsed by path, never by Content-Type: Odoo ignores the header on these routes, so
 * trusting it would let a client make the guard and Odoo read the same bytes differently.
 */

import { type RpcEndpoint, routeRequestTarget } from './rpc-paths.js';
import { parseXmlRpcCall } from './xmlrpc-call.js';

export type RpcVerdict =
  | { allow: true }
  | {
      allow: false;
      /** Shapes the refusal body: JSON-RPC error, XML-RPC fault or an HTML page. */
      protocol: 'jsonrpc' | 'xmlrpc' | 'http';
      /** For the log; never shown to the client. */
      reason: string;
      /** The JSON-RPC `id` of the refused call, echoed so clients match the error. */
      requestId?: string | number | null;
    };

/** Methods of Odoo's `common` service that take no database. */
const DATABASELESS_COMMON_METHODS = new Set(['version', 'about']);

// ignoreBOM keeps a BOM in the text: Odoo's json.loads refuses one, expat skips it (xmlrpc-call.ts).
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeBody(body: Uint8Array): string | undefined {
  try {
    return utf8.decode(body);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Client-chosen text in a log line: bounded and quoted. */
function quoted(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}...` : value);
}

function requestIdOf(call: unknown): string | number | null {
  if (!isRecord(call)) return null;
  const id = call.id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

/** Why one JSON-RPC call is refused, or undefined when it is allowed. */
function refuseJsonCall(call: unknown, endpoint: RpcEndpoint, databaseName: string): string | undefined {
  if (!isRecord(call) || !isRecord(call.params)) return 'JSON-RPC call without params';
  const params = call.params;
  if (endpoint.kind === 'session-authenticate') {
    if (params.db === databaseName) return undefined;
    return typeof params.db === 'string'
      ? `authenticate names another database ${quoted(params.db)}`
      : 'authenticate without a database name';
  }
  const { service, method, args } = params;
  if (typeof service !== 'string' || typeof method !== 'string') return 'JSON-RPC call without service or method';
  if (service === 'db') return `the db service is not reachable through the gateway (db.${quoted(method)})`;
  if (service !== 'common' && service !== 'object') return `unknown JSON-RPC service ${quoted(service)}`;
  if (service === 'common' && DATABASELESS_COMMON_METHODS.has(method)) return undefined;
  // Odoo spreads `args` into the method (`fn(*args)`); an object would spread its keys, so only
  // an array has a well-defined first argument.
  const label = `${service}.${quoted(method)}`;
  if (!Array.isArray(args)) return `${label} without an args array`;
  const first: unknown = args[0];
  if (first === databaseName) return undefined;
  return typeof first === 'string' ? `${label} names another database ${quoted(first)}` : `${label} without a database name`;
}

function checkJsonRpc(text: string, endpoint: RpcEndpoint, databaseName: string): RpcVerdict {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { allow: false, protocol: 'jsonrpc', reason: 'unparseable JSON-RPC body', requestId: null };
  }
  const calls = Array.isArray(parsed) ? parsed : [parsed];
  if (calls.length === 0) return { allow: false, protocol: 'jsonrpc', reason: 'empty JSON-RPC batch', requestId: null };
  for (const call of calls) {
    const reason = refuseJsonCall(call, endpoint, databaseName);
    if (reason !== undefined) {
      return { allow: false, protocol: 'jsonrpc', reason, requestId: Array.isArray(parsed) ? null : requestIdOf(call) };
    }
  }
  return { allow: true };
}

function checkXmlRpc(text: string, service: 'common' | 'object', databaseName: string): RpcVerdict {
  const call = parseXmlRpcCall(text);
  if (!call) return { allow: false, protocol: 'xmlrpc', reason: 'unparseable or unusual XML-RPC body' };
  const label = `${service}.${quoted(call.methodName)}`;
  if (service === 'common' && DATABASELESS_COMMON_METHODS.has(call.methodName)) return { allow: true };
  const first = call.params[0];
  if (first?.type === 'string' && first.value === databaseName) return { allow: true };
  const reason = first?.type === 'string' ? `${label} names another database ${quoted(first.value)}` : `${label} without a database name`;
  return { allow: false, protocol: 'xmlrpc', reason };
}

/** Checks a buffered body for an endpoint that `routeRequestTarget` said to inspect. */
export function checkRpcBody(endpoint: RpcEndpoint, body: Uint8Array, databaseName: string): RpcVerdict {
  // The web client's calls use the session's database (dbfilter); they are read for plan limits only.
  if (endpoint.kind === 'call-kw') return { allow: true };
  const text = decodeBody(body);
  if (text === undefined) return { allow: false, protocol: endpoint.protocol, reason: 'body is not valid UTF-8', requestId: null };
  if (endpoint.protocol === 'jsonrpc') return checkJsonRpc(text, endpoint, databaseName);
  return checkXmlRpc(text, endpoint.service, databaseName);
}

export interface RpcGuardInput {
  /** The request target as received (`/jsonrpc?x=1`). */
  url: string;
  /** The whole request body (empty for requests without one). */
  body: Uint8Array;
  /** The only database this host may name. */
  databaseName: string;
}

/**
 * The whole decision for one request in one call (the gateway itself uses `routeRequestTarget`
 * first so that only RPC bodies are buffered, then `checkRpcBody`). Paths that are not RPC are
 * allowed; a target whose route depends on how it is read is refused (`http`, the gateway's 400).
 */
export function guardRpc(input: RpcGuardInput): RpcVerdict {
  const routed = routeRequestTarget(input.url);
  if (!routed.ok) return { allow: false, protocol: 'http', reason: routed.reason };
  const { route } = routed;
  if (route.kind === 'open') return { allow: true };
  if (route.kind === 'deny') return { allow: false, protocol: route.protocol, reason: route.reason };
  return checkRpcBody(route.endpoint, input.body, input.databaseName);
}
