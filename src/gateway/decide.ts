/**
 * From host class and route to what the gateway does: proxy, or which page to show. Pure apart
 * from calling the resolver, which is asked on every request so that route changes (a tenant
 * stopped, moved to another pool, ...) take effect on the next request.
 */
import type { Upstream } from '../runtimes/index.js';
import type { HostClass } from './host.js';
import { pageForTenantState, type StatusPageKind } from './status-pages.js';
import type { RouteResolver, TenantRoute } from './types.js';

export type GatewayDecision =
  | { action: 'proxy'; route: TenantRoute; upstream: Upstream }
  /** `route` is set when the page is about a known tenant (its requests are counted). */
  | { action: 'page'; page: StatusPageKind; route?: TenantRoute };

export function decide(hostClass: HostClass, resolveRoute: RouteResolver): GatewayDecision {
  // The platform's own hosts never reach the gateway; if one does, it is not a tenant site.
  if (hostClass.kind !== 'tenant') return { action: 'page', page: 'not_found' };
  const route = resolveRoute(hostClass.tenantName);
  // Unknown and deleted tenants get the same page and no metrics label (a label per probed
  // name would let anyone grow the metrics without bound).
  if (!route || route.state === 'deleted') return { action: 'page', page: 'not_found' };
  if (route.state === 'running' && route.upstream) return { action: 'proxy', route, upstream: route.upstream };
  // `running` without an upstream: the runtime is (re)attaching it; show "being prepared".
  return { action: 'page', page: pageForTenantState(route.state), route };
}
