/**
 * The answer to an on-demand-TLS edge (Caddy's `on_demand_tls { ask ... }`) asking whether it may
 * get a certificate for a name: only for names the platform serves. Pure apart from the route
 * resolver, which is the in-memory route table, so asking costs no query.
 */
import { classifyHost, type HostClassifierOptions, parseHostHeader } from './host.js';
import type { RouteResolver } from './types.js';

export interface TlsAskOptions extends HostClassifierOptions {
  resolveRoute: RouteResolver;
  /** The platform's own names (the base domain, `app.<base>`, PUBLIC_URL's host). */
  platformHosts: readonly string[];
}

export function mayIssueCertificate(domain: string, options: TlsAskOptions): boolean {
  const parsed = parseHostHeader(domain);
  // Certificates are for names: no port, no IP literal, nothing the Host parser refuses.
  if (!parsed || parsed.port !== undefined || parsed.isIpLiteral) return false;
  if (options.platformHosts.includes(parsed.hostname)) return true;
  const hostClass = classifyHost(parsed.hostname, options);
  if (hostClass.kind !== 'tenant') return false;
  const route = options.resolveRoute(hostClass.tenantName);
  return route !== undefined && route.state !== 'deleted';
}
