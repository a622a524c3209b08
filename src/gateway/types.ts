import type { Upstream } from '../runtimes/index.js';

/** What the gateway knows about one tenant host. */
export interface TenantRoute {
  tenantId: string;
  tenantName: string;
  /** The tenant database: the only database an RPC through this host may name. */
  databaseName: string;
  /** Lifecycle state; only `running` is proxied, others get a status page. */
  state: string;
  /** Set when the tenant is served. */
  upstream: Upstream | undefined;
}

/** Looks up a tenant by its subdomain (the label before BASE_DOMAIN). */
export type RouteResolver = (tenantName: string) => TenantRoute | undefined;

/** Reads a known tenant's route again from the source of truth (before a status page is shown). */
export type RouteConfirmer = (route: TenantRoute) => Promise<TenantRoute | undefined>;
