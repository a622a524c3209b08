/**
 * The certificate the TLS edge presents for a custom domain, seen the way a visitor's browser
 * gets it: a TLS handshake with the edge naming the domain (SNI). An on-demand edge (Caddy)
 * obtains the certificate during the first handshake, so the check also warms it. The chain is
 * not judged here (an edge on its own CA, `tls internal`, is a valid choice); the name and the
 * dates are, since an edge whose renewals fail serves a certificate that runs out.
 */
import { checkServerIdentity, connect, type PeerCertificate } from 'node:tls';

/**
 * ACME clients (Caddy, cert-manager, certbot) renew with a third of the lifetime left: 30 days
 * of Let's Encrypt's 90, 4 hours of the 12 that Caddy's internal CA gives. A certificate with
 * under a sixth left (15 days, 2 hours) has missed renewals for a while: the edge needs a look.
 */
export const CERTIFICATE_WARNING_SHARE = 1 / 6;

export interface CertificateSighting {
  validFrom: Date | null;
  expiresAt: Date | null;
  issuer: string | null;
  /** Set when there is no usable certificate: the edge unreachable, no certificate, the wrong name. */
  error: string | null;
}

export type CertificateProbe = (domain: string) => Promise<CertificateSighting>;

export type CertificateHealth = 'unknown' | 'valid' | 'expiring' | 'expired' | 'failing';

const DAY_MS = 86_400_000;

/** Pure: what an operator should make of the last sighting. */
export function judgeCertificate(
  sighting: { validFrom: Date | null; expiresAt: Date | null; error: string | null; checkedAt: Date | null },
  now: Date,
): { health: CertificateHealth; daysLeft: number | null } {
  const { validFrom, expiresAt } = sighting;
  if (!sighting.checkedAt) return { health: 'unknown', daysLeft: null };
  if (!expiresAt) return { health: 'failing', daysLeft: null };
  const leftMs = expiresAt.getTime() - now.getTime();
  const daysLeft = Math.floor(leftMs / DAY_MS);
  if (leftMs <= 0) return { health: 'expired', daysLeft };
  if (sighting.error) return { health: 'failing', daysLeft };
  const lifetimeMs = validFrom ? expiresAt.getTime() - validFrom.getTime() : 90 * DAY_MS;
  return { health: leftMs < lifetimeMs * CERTIFICATE_WARNING_SHARE ? 'expiring' : 'valid', daysLeft };
}

const NOTHING = { validFrom: null, expiresAt: null, issuer: null };

function dateOf(text: string): Date | null {
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

function issuerOf(certificate: PeerCertificate): string | null {
  const issuer = certificate.issuer as unknown as Record<string, string | string[] | undefined> | undefined;
  const name = issuer?.CN ?? issuer?.O;
  return (Array.isArray(name) ? name[0] : name) ?? null;
}

/** A probe of the edge at `address` (`host:port`, IPv6 in brackets). */
export function createCertificateProbe(address: string, options: { timeoutMs?: number } = {}): CertificateProbe {
  const url = new URL(`tls://${address}`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || 443);
  return (domain) =>
    new Promise((resolve) => {
      const socket = connect({ host, port, servername: domain, rejectUnauthorized: false, timeout: options.timeoutMs ?? 10_000 });
      const finish = (sighting: CertificateSighting) => {
        socket.destroy();
        resolve(sighting);
      };
      socket.once('secureConnect', () => {
        const certificate = socket.getPeerCertificate();
        if (!certificate || Object.keys(certificate).length === 0)
          return finish({ ...NOTHING, error: 'The edge presented no certificate.' });
        const mismatch = checkServerIdentity(domain, certificate);
        finish({
          validFrom: dateOf(certificate.valid_from),
          expiresAt: dateOf(certificate.valid_to),
          issuer: issuerOf(certificate),
          error: mismatch ? `The edge presents a certificate for another name: ${mismatch.message}` : null,
        });
      });
      socket.once('timeout', () => finish({ ...NOTHING, error: `The TLS edge at ${address} did not answer in time.` }));
      socket.once('error', (error: NodeJS.ErrnoException) =>
        finish({
          ...NOTHING,
          error:
            error.code === 'ECONNREFUSED'
              ? `Nothing answers at the TLS edge ${address}: is the edge running?`
              : `The TLS edge gave no certificate for this domain (${error.code ?? error.message}): check the edge's log.`,
        }),
      );
    });
}
