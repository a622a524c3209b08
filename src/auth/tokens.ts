import { createHash, randomBytes } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Role } from '../db/index.js';

/** Opaque tokens carry a prefix that says what they are (and lets secret scanners spot them). */
/** `mf`: a login waiting for its second factor. */
export type OpaqueTokenKind = 'rt' | 'ss' | 'sk' | 'ot' | 'mf';

export function generateOpaqueToken(kind: OpaqueTokenKind): string {
  return `${kind}_${randomBytes(32).toString('base64url')}`;
}

/** Opaque tokens are stored as SHA-256 digests: they are random, so a slow hash adds nothing. */
export function digestToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

export interface AccessTokenClaims {
  userId: string;
  role: Role;
  accountId: string | null;
  /** Milliseconds since epoch when the token was issued (JWT's `iat` only has seconds). */
  issuedAtMs: number;
}

/** The `iss` of the platform's own access tokens; any other issuer is an external provider's. */
export const PLATFORM_TOKEN_ISSUER = 'saas-platform';

export function createAccessTokenSigner(key: Uint8Array, ttlSeconds: number) {
  const issuer = PLATFORM_TOKEN_ISSUER;
  return {
    ttlSeconds,
    async sign(claims: Omit<AccessTokenClaims, 'issuedAtMs'>): Promise<string> {
      return new SignJWT({ role: claims.role, acc: claims.accountId, iat_ms: Date.now() })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(claims.userId)
        .setIssuer(issuer)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(key);
    },
    /** Returns the claims, or undefined when the token is invalid or expired. */
    async verify(token: string): Promise<AccessTokenClaims | undefined> {
      try {
        const { payload } = await jwtVerify(token, key, { issuer, algorithms: ['HS256'] });
        if (typeof payload.sub !== 'string' || (payload.role !== 'customer' && payload.role !== 'operator')) return undefined;
        return {
          userId: payload.sub,
          role: payload.role,
          accountId: typeof payload.acc === 'string' ? payload.acc : null,
          issuedAtMs: typeof payload.iat_ms === 'number' ? payload.iat_ms : (payload.iat ?? 0) * 1000,
        };
      } catch (error) {
        if (error instanceof joseErrors.JOSEError) return undefined;
        throw error;
      }
    },
  };
}

export type AccessTokenSigner = ReturnType<typeof createAccessTokenSigner>;
