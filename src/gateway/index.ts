/**
 * The tenant gateway: routes `<name>.<BASE_DOMAIN>` to the tenant's Odoo, passes websockets and
 * long polling through, binds RPC calls to the host's database, and answers with status pages
 * when a tenant is not served.
 */

export { decide, type GatewayDecision } from './decide.js';
export {
  createGateway,
  DEFAULT_RPC_BODY_LIMIT_BYTES,
  DEFAULT_UPSTREAM_CONNECT_TIMEOUT_MS,
  DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS,
  type Gateway,
  type GatewayOptions,
} from './gateway.js';
export { clientAddress, type ForwardingInfo, forwardRequestHeaders, forwardResponseHeaders, isWebsocketUpgrade } from './headers.js';
export {
  type CustomDomainResolver,
  classifyHost,
  type HostClass,
  type HostClassifierOptions,
  type ParsedHost,
  parseHostHeader,
} from './host.js';
export { checkLimits, type LimitVerdict, type TenantRestrictions } from './limit-guard.js';
export { writeRawResponse } from './proxy.js';
export { limitRefusal, type RefusalCause, type RefusalResponse, rpcRefusal } from './refusals.js';
export { createRouteTable } from './route-table.js';
export { checkRpcBody, guardRpc, type RpcGuardInput, type RpcVerdict } from './rpc-guard.js';
export { type RoutedTarget, type RpcEndpoint, type RpcRoute, routeRequestTarget } from './rpc-paths.js';
export {
  escapeHtml,
  pageForTenantState,
  renderStatusPage,
  type StatusPage,
  type StatusPageKind,
  type StatusPageOptions,
} from './status-pages.js';
export { mayIssueCertificate, type TlsAskOptions } from './tls-ask.js';
export type { RouteConfirmer, RouteResolver, TenantRoute } from './types.js';
export { DEFAULT_WAKE_HOLD_MS, type TenantWaker, type WakeResult } from './wake-hold.js';
export { parseXmlRpcCall, type XmlRpcCall, type XmlRpcValue } from './xmlrpc-call.js';
