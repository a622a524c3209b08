import type { JWTPayload } from 'jose';
import type { IssuerConfig } from '../config/index.js';

/** Who a verified token says its bearer is, read through the issuer's claim mapping (pure). */
export interface ExternalIdentity {
  issuer: string;
  subject: string;
  email: string | undefined;
  emailVerified: boolean;
  name: string | undefined;
  /** The role claim asks for operator rights and the email is in an operator domain. */
  operator: boolean;
  /** The issuer says a second factor was used for this token (`amr`, Supabase's `aal2`). */
  multiFactor: boolean;
}

/** Reads `a.b.c` from a claims object; undefined when any step is missing. */
export function claimAt(payload: Record<string, unknown>, path: string): unknown {
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

export function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1).toLowerCase();
}

const MULTI_FACTOR_METHODS = new Set(['mfa', 'otp', 'totp', 'hwk', 'swk', 'sc']);

export function mapClaims(issuer: IssuerConfig, payload: JWTPayload): ExternalIdentity {
  const claims = payload as Record<string, unknown>;
  const email = text(claimAt(claims, issuer.claims.email))?.toLowerCase();
  const verifiedClaim = claimAt(claims, issuer.claims.emailVerified);
  const emailVerified = email !== undefined && (issuer.trustEmail || verifiedClaim === true || verifiedClaim === 'true');
  const roleValue = issuer.claims.role ? claimAt(claims, issuer.claims.role) : undefined;
  const roles = [roleValue].flat().filter((r): r is string => typeof r === 'string');
  const asksOperator = roles.some((r) => issuer.operatorRoles.includes(r));
  // Operator rights need all three: the role, a verified address and one of the operator domains.
  const operator = asksOperator && emailVerified && email !== undefined && issuer.operatorEmailDomains.includes(emailDomain(email));
  const amr = Array.isArray(claims.amr) ? claims.amr : [];
  const multiFactor =
    claims.aal === 'aal2' ||
    amr.some((entry) => {
      const method = typeof entry === 'string' ? entry : (entry as { method?: unknown } | null)?.method;
      return typeof method === 'string' && MULTI_FACTOR_METHODS.has(method);
    });
  return {
    issuer: issuer.name,
    subject: String(payload.sub),
    email,
    emailVerified,
    name: text(claimAt(claims, issuer.claims.name)),
    operator,
    multiFactor,
  };
}
