import { domainToUnicode } from 'node:url';
import { z } from 'zod';
import type { CustomDomainRow } from '../db/index.js';
import { judgeCertificate } from './certificate.js';
import { verificationRecordName } from './name.js';

export const DOMAIN_STATUSES = ['pending', 'verified', 'failing'] as const;

const recordSchema = z.object({
  type: z.enum(['CNAME', 'A', 'AAAA', 'TXT']),
  name: z.string(),
  value: z.string(),
  purpose: z.string(),
});

export const domainViewSchema = z
  .object({
    domain: z.string().describe('ASCII form (punycode for IDN), as DNS and certificates use it'),
    displayName: z.string().describe('Unicode form, for people'),
    tenant: z.string(),
    status: z.enum(DOMAIN_STATUSES).describe('pending: not served yet; verified: served; failing: served, but no longer points here'),
    primary: z.boolean().describe("Odoo's base URL and the tenant's subdomain lead here"),
    records: z
      .array(recordSchema)
      .describe('What to set at the DNS provider: the TXT record, and a CNAME (or, for an apex, the A/AAAA records)'),
    problems: z.array(z.string()).describe('What the last check found missing'),
    verifiedAt: z.iso.datetime().nullable(),
    lastCheckedAt: z.iso.datetime().nullable(),
    failingSince: z.iso.datetime().nullable(),
    certificate: z
      .object({
        health: z
          .enum(['unknown', 'valid', 'expiring', 'expired', 'failing'])
          .describe(
            'unknown: not checked yet (or not a routed domain); expiring: under a sixth of its lifetime left (15 of 90 days), renewals are failing',
          ),
        expiresAt: z.iso.datetime().nullable(),
        daysLeft: z.number().int().nullable(),
        issuer: z.string().nullable(),
        checkedAt: z.iso.datetime().nullable(),
        error: z.string().nullable().describe('Why there is no usable certificate, and where to look'),
      })
      .describe('What the TLS edge presents for the domain, as last checked'),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'CustomDomain' });

export type DomainView = z.infer<typeof domainViewSchema>;

function iso(date: Date | null): string | null {
  return date ? date.toISOString() : null;
}

export function toDomainView(
  row: CustomDomainRow,
  context: { tenantName: string; tenantHost: string; edgeAddresses: readonly string[] },
  now = new Date(),
): DomainView {
  const records: DomainView['records'] = [
    { type: 'TXT', name: verificationRecordName(row.domain), value: row.token, purpose: 'proves the domain is yours' },
    { type: 'CNAME', name: row.domain, value: context.tenantHost, purpose: 'sends visitors here' },
    ...context.edgeAddresses.map((address) => ({
      type: address.includes(':') ? ('AAAA' as const) : ('A' as const),
      name: row.domain,
      value: address,
      purpose: 'for an apex domain (which cannot have a CNAME): instead of the CNAME',
    })),
  ];
  return {
    domain: row.domain,
    displayName: domainToUnicode(row.domain) || row.domain,
    tenant: context.tenantName,
    status: row.status as DomainView['status'],
    primary: row.is_primary,
    records,
    problems: row.last_check_error ? row.last_check_error.split('\n') : [],
    verifiedAt: iso(row.verified_at),
    lastCheckedAt: iso(row.last_checked_at),
    failingSince: iso(row.failing_since),
    certificate: {
      ...judgeCertificate(
        {
          validFrom: row.certificate_valid_from,
          expiresAt: row.certificate_expires_at,
          error: row.certificate_error,
          checkedAt: row.certificate_checked_at,
        },
        now,
      ),
      expiresAt: iso(row.certificate_expires_at),
      issuer: row.certificate_issuer,
      checkedAt: iso(row.certificate_checked_at),
      error: row.certificate_error,
    },
    createdAt: row.created_at.toISOString(),
  };
}
