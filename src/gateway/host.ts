/**
 * Which site a request is for, from its Host header alone. Pure: the platform's listener calls
 * this for every request to decide between its own routes and the tenant gateway, so it must be
 * cheap and must never throw.
 */
import { isIP } from 'node:net';

export type HostClass = { kind: 'platform' } | { kind: 'tenant'; tenantName: string } | { kind: 'unknown' };

/**
 * The seam for custom domains (`erp.acme.com`): returns the tenant name that owns a verified
 * domain, else undefined. Synchronous on purpose: classification happens on every request, so
 * the owner keeps its domain table in memory and refreshes it when domains change.
 */
export type CustomDomainResolver = (hostname: string) => string | undefined;

export interface HostClassifierOptions {
  baseDomain: string;
  /** Labels under the base domain that belong to the platform itself; default `['app']`. */
  platformLabels?: readonly string[];
  resolveCustomDomain?: CustomDomainResolver;
}

export interface ParsedHost {
  /** Lower-cased, without the port and without a trailing dot. */
  hostname: string;
  /** The port as written (digits only), if any. */
  port: string | undefined;
  isIpLiteral: boolean;
}

/** One DNS label; tenant subdomains are a subset of these (see tenants/subdomain.ts). */
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** What a host name may contain at all; anything else is not a host we serve. */
const HOSTNAME_CHARS = /^[a-z0-9.-]+$/;
const PORT = /^[0-9]{1,5}$/;

/**
 * Splits a Host header into name and port. Returns undefined for anything that is not a plain
 * `name[:port]` or `[ipv6][:port]`, so odd input (userinfo, paths, spaces) never reaches a tenant.
 */
export function parseHostHeader(header: string): ParsedHost | undefined {
  const value = header.trim().toLowerCase();
  if (value === '') return undefined;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0) return undefined;
    const address = value.slice(1, close);
    const rest = value.slice(close + 1);
    if (isIP(address) !== 6) return undefined;
    if (rest === '') return { hostname: address, port: undefined, isIpLiteral: true };
    if (!rest.startsWith(':') || !PORT.test(rest.slice(1))) return undefined;
    return { hostname: address, port: rest.slice(1), isIpLiteral: true };
  }
  const colon = value.lastIndexOf(':');
  let name = value;
  let port: string | undefined;
  if (colon >= 0) {
    port = value.slice(colon + 1);
    name = value.slice(0, colon);
    // A bare IPv6 address without brackets has several colons: not a valid Host, but
    // recognisably an address, so it still goes to the platform rather than nowhere.
    if (isIP(value) === 6) return { hostname: value, port: undefined, isIpLiteral: true };
    if (!PORT.test(port)) return undefined;
  }
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name === '' || !HOSTNAME_CHARS.test(name)) return undefined;
  return { hostname: name, port, isIpLiteral: isIP(name) !== 0 };
}

function normaliseDomain(domain: string): string {
  const lower = domain.trim().toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * Classifies a Host header:
 * - `platform`: `localhost`, IP literals, the bare base domain, `app.<base>`, and a request
 *   without a Host (HTTP/1.0 probes talk to the machine, not to a site);
 * - `tenant`: exactly one DNS label in front of the base domain, or a custom domain the
 *   resolver knows;
 * - `unknown`: everything else (other domains, `a.b.<base>`, malformed headers).
 */
export function classifyHost(header: string | undefined, options: HostClassifierOptions): HostClass {
  if (header === undefined || header.trim() === '') return { kind: 'platform' };
  const parsed = parseHostHeader(header);
  if (!parsed) return { kind: 'unknown' };
  const { hostname } = parsed;
  const base = normaliseDomain(options.baseDomain);
  if (parsed.isIpLiteral || hostname === 'localhost' || hostname === base) return { kind: 'platform' };

  const suffix = `.${base}`;
  if (hostname.endsWith(suffix)) {
    const label = hostname.slice(0, -suffix.length);
    if (!DNS_LABEL.test(label)) return { kind: 'unknown' };
    if ((options.platformLabels ?? ['app']).includes(label)) return { kind: 'platform' };
    return { kind: 'tenant', tenantName: label };
  }

  const owner = options.resolveCustomDomain?.(hostname);
  if (owner !== undefined && DNS_LABEL.test(owner)) return { kind: 'tenant', tenantName: owner };
  return { kind: 'unknown' };
}
