/** Facts about one request the gateway decides on: which port, which host, whether it has a body. */
import type { IncomingMessage } from 'node:http';
import type { Upstream } from '../runtimes/index.js';
import { parseHostHeader } from './host.js';
import type { ProxyTarget } from './proxy.js';
import type { TenantRoute } from './types.js';

export const LONG_POLLING = /^\/longpolling(?:[/?]|$)/;

/**
 * The upstream port for a path. Odoo in workers mode serves `/websocket` (16+) and the legacy
 * `/longpolling/*` on its gevent port; in threaded mode `websocketPort` is unset.
 */
export function targetFor(upstream: Upstream, useEventPort: boolean): ProxyTarget {
  return { host: upstream.host, port: useEventPort && upstream.websocketPort !== undefined ? upstream.websocketPort : upstream.port };
}

/** The tenant host sent to Odoo: lower-cased, without trailing dot, port kept for its redirects. */
export function forwardedHost(req: IncomingMessage): string {
  const parsed = parseHostHeader(req.headers.host ?? '');
  if (!parsed) return '';
  return parsed.port === undefined ? parsed.hostname : `${parsed.hostname}:${parsed.port}`;
}

/**
 * The host Odoo is told (Host and X-Forwarded-Host): the tenant's own subdomain also for a custom
 * domain, because every dbfilter (`%d` of pools, `%h`) selects the database from it. Links Odoo
 * writes into mails come from its frozen `web.base.url` (the primary domain), not from this.
 */
export function upstreamHost(req: IncomingMessage, route: TenantRoute, baseDomain: string): string {
  const parsed = parseHostHeader(req.headers.host ?? '');
  const subdomain = `${route.tenantName}.${baseDomain}`;
  return parsed?.port === undefined ? subdomain : `${subdomain}:${parsed.port}`;
}

/** Websocket and long-polling paths: never redirected to a primary domain, never counted as activity. */
export const NOT_REDIRECTED = /^\/(?:websocket|longpolling)(?:[/?]|$)/;

export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** `Location` for a page view of a tenant subdomain whose tenant has a primary domain. */
export function primaryRedirect(
  req: IncomingMessage,
  route: TenantRoute,
  path: string,
  options: {
    baseDomain: string;
    primaryHostOf?: ((tenantName: string) => string | undefined) | undefined;
    primaryRedirectScheme?: string | undefined;
  },
): string | undefined {
  if ((req.method !== 'GET' && req.method !== 'HEAD') || NOT_REDIRECTED.test(path) || !options.primaryHostOf) return undefined;
  if (parseHostHeader(req.headers.host ?? '')?.hostname !== `${route.tenantName}.${options.baseDomain}`) return undefined;
  const primary = options.primaryHostOf(route.tenantName);
  return primary ? `${options.primaryRedirectScheme ?? 'https:'}//${primary}${path}` : undefined;
}
