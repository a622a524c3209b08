import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { ValidationError } from '../errors/index.js';

/**
 * Server-side request forgery: a webhook URL is chosen by a customer, and the platform sends
 * requests to it from inside the operator's network. So a target must be http(s), and every
 * address its host resolves to must be public: not loopback, link-local (cloud metadata lives at
 * 169.254.169.254), private, unique-local, CGNAT, multicast or unspecified. The operator may allow
 * some of these networks (WEBHOOK_ALLOWED_NETWORKS, e.g. an internal receiver, or loopback in tests).
 *
 * The host is resolved again at every delivery and the request goes to the address checked then
 * (pinned): a name that resolved to a public address at registration and to 127.0.0.1 now (DNS
 * rebinding) is refused, and no second lookup happens between the check and the connection.
 */
const FORBIDDEN: Array<[string, number, 'ipv4' | 'ipv6']> = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
  // IPv4-mapped addresses (::ffff:a.b.c.d) are checked as their IPv4 address (embeddedIpv4).
];

const forbidden = new BlockList();
for (const [network, prefix, family] of FORBIDDEN) forbidden.addSubnet(network, prefix, family);

/** A list of CIDRs (`127.0.0.0/8,fd00::/8`) as a BlockList; throws naming the bad entry. */
export function parseNetworks(list: string): BlockList {
  const allowed = new BlockList();
  for (const entry of list
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const [address, prefixText] = entry.split('/');
    const family = address ? isIP(address) : 0;
    const prefix = Number(prefixText ?? (family === 6 ? 128 : 32));
    if (!address || family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32))
      throw new Error(`"${entry}" is not a network in CIDR form such as 10.0.0.0/8`);
    allowed.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return allowed;
}

function familyOf(address: string): 'ipv4' | 'ipv6' {
  return isIP(address) === 6 ? 'ipv6' : 'ipv4';
}

/** The IPv4 address inside an IPv4-mapped IPv6 one (`::ffff:127.0.0.1`), if it is one. */
function embeddedIpv4(address: string): string | undefined {
  const match = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return match?.[1];
}

/** True when the platform may send to `address` (public, or in a network the operator allowed). */
export function isAllowedAddress(address: string, allowed: BlockList): boolean {
  const v4 = embeddedIpv4(address);
  const checked = v4 ?? address;
  const family = familyOf(checked);
  if (allowed.check(checked, family)) return true;
  return !forbidden.check(checked, family);
}

export interface ResolvedTarget {
  url: URL;
  /** The address the request must go to (checked; connect to this one, not to a new lookup). */
  address: string;
  family: 4 | 6;
}

/** Checks the URL's form only (no DNS): scheme, no credentials, a host. */
export function parseTargetUrl(text: string, field = 'url'): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValidationError('Must be an absolute http:// or https:// URL.', { field });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ValidationError('Must be an http:// or https:// URL.', { field });
  if (url.username || url.password) throw new ValidationError('Must not contain a user name or password.', { field });
  if (!url.hostname) throw new ValidationError('Must name a host.', { field });
  return url;
}

/**
 * Resolves the URL's host and checks every address it resolves to (one bad address refuses the
 * whole name: a resolver could hand out either). Throws a ValidationError naming `field`.
 */
export async function resolveTarget(
  text: string,
  allowed: BlockList,
  options: { field?: string; resolve?: typeof lookup } = {},
): Promise<ResolvedTarget> {
  const field = options.field ?? 'url';
  const url = parseTargetUrl(text, field);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: Array<{ address: string; family: number }>;
  if (isIP(host)) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await (options.resolve ?? lookup)(host, { all: true, verbatim: true });
    } catch {
      throw new ValidationError(`The host ${host} does not resolve.`, { field });
    }
  }
  const refused = addresses.find((a) => !isAllowedAddress(a.address, allowed));
  if (refused || addresses.length === 0)
    throw new ValidationError(
      `The host ${host} resolves to ${refused?.address ?? 'nothing'}, a loopback, private or link-local address: webhooks go to public addresses only (an operator can allow internal networks).`,
      { field },
    );
  const first = addresses[0] as { address: string; family: number };
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}
