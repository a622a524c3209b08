/**
 * Is a custom domain ours to serve? Two things must hold: the customer controls it (the TXT
 * record `_odoo-saas-verify.<domain>` holds the token we gave them) and it points at us (a CNAME
 * to the tenant's `<name>.<BASE_DOMAIN>`, or, for an apex, only A/AAAA records of the edge).
 * `observeDomain` asks DNS; `judge` is the pure decision on what it saw.
 */
import { Resolver } from 'node:dns/promises';
import { verificationRecordName } from './name.js';

export interface DnsObservation {
  txt: string[];
  cname: string[];
  addresses: string[];
  /** Set when a lookup failed for another reason than "no such record" (timeout, SERVFAIL). */
  lookupError: string | undefined;
}

export interface Expectation {
  token: string;
  /** `acme.saas.example.com`: where a CNAME must point. */
  tenantHost: string;
  edgeAddresses: readonly string[];
}

export type Verdict =
  | { kind: 'verified' }
  /** DNS answered and the domain is not (or no longer) ours: each problem says what to set. */
  | { kind: 'not_verified'; problems: string[] }
  /** DNS did not answer: nothing can be concluded, the previous status stands. */
  | { kind: 'inconclusive'; error: string };

const ABSENT = new Set(['ENODATA', 'ENOTFOUND', 'ENONAME', 'NXDOMAIN']);

function bare(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/**
 * What the HTTP proof (http-proof.ts) found, when it was tried: `reached` says the domain's
 * traffic arrives here; `contested` that another tenant claims the domain too.
 */
export type HttpProofSighting = { reached: boolean; problem?: string; contested: boolean };

/** Whether the HTTP proof may stand in for the TXT record: asked only when it could decide. */
export function httpProofCouldHelp(observation: DnsObservation, expected: Expectation): boolean {
  if (observation.lookupError || observation.txt.includes(expected.token)) return false;
  const cnames = observation.cname.map(bare);
  return cnames.length === 0 ? observation.addresses.length > 0 : cnames.includes(bare(expected.tenantHost));
}

export function judge(observation: DnsObservation, expected: Expectation, domain: string, http?: HttpProofSighting): Verdict {
  if (observation.lookupError) return { kind: 'inconclusive', error: observation.lookupError };
  const problems: string[] = [];
  const cnames = observation.cname.map(bare);
  const edge = new Set(expected.edgeAddresses);
  const pointsByCname = cnames.includes(bare(expected.tenantHost));
  const reached = http?.reached === true;
  // A CNAME to this tenant's host names the tenant; without one, the traffic reaching us says
  // nothing about whose it is, so it counts only when nobody else claims the domain.
  const provenByHttp = reached && (pointsByCname || (cnames.length === 0 && !http?.contested));
  if (!observation.txt.includes(expected.token) && !provenByHttp) {
    const contested = reached && http?.contested ? ' Another instance claims this domain too: only this record can settle it.' : '';
    problems.push(
      `Set a TXT record ${verificationRecordName(domain)} with the value ${expected.token} (proves the domain is yours).${contested}`,
    );
  }
  const pointsByAddress =
    cnames.length === 0 && observation.addresses.length > 0 && (reached || observation.addresses.every((a) => edge.has(a)));
  if (!pointsByCname && !pointsByAddress) {
    const found =
      cnames.length > 0
        ? `it is a CNAME to ${cnames.join(', ')}`
        : observation.addresses.length > 0
          ? `it points at ${observation.addresses.join(', ')}`
          : 'it has no CNAME, A or AAAA record';
    const apex =
      expected.edgeAddresses.length > 0 ? `, or (for an apex domain) A/AAAA records to ${expected.edgeAddresses.join(', ')} only` : '';
    problems.push(`Set a CNAME record ${domain} -> ${expected.tenantHost}${apex}; ${found}.`);
  }
  return problems.length === 0 ? { kind: 'verified' } : { kind: 'not_verified', problems };
}

export type DnsLookup = (domain: string) => Promise<DnsObservation>;

/**
 * A DNS lookup through `servers` (`ip` or `ip:port`; none: the system's name servers). Each
 * query times out quickly: a check runs for many domains on a schedule and must not hang.
 */
export function createDnsLookup(servers: readonly string[], options: { timeoutMs?: number } = {}): DnsLookup {
  const resolver = new Resolver({ timeout: options.timeoutMs ?? 2_000, tries: 2 });
  if (servers.length > 0) resolver.setServers([...servers]);
  return async (domain) => {
    let lookupError: string | undefined;
    async function ask<T>(query: () => Promise<T[]>): Promise<T[]> {
      try {
        return await query();
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? '';
        if (!ABSENT.has(code)) lookupError = `DNS lookup failed (${code || (error as Error).message})`;
        return [];
      }
    }
    const [txt, cname, a, aaaa] = await Promise.all([
      ask(() => resolver.resolveTxt(verificationRecordName(domain))),
      ask(() => resolver.resolveCname(domain)),
      ask(() => resolver.resolve4(domain)),
      ask(() => resolver.resolve6(domain)),
    ]);
    return { txt: txt.map((chunks) => chunks.join('')), cname, addresses: [...a, ...aaaa], lookupError };
  };
}
