import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, type JWTPayload, errors as joseErrors, jwtVerify } from 'jose';
import type { IssuerConfig } from '../config/index.js';
import { AppError, AuthenticationError, UnavailableError } from '../errors/index.js';

/** What OIDC discovery tells us about an issuer (only the parts we use). */
export interface ProviderMetadata {
  issuer: string;
  jwks_uri: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  code_challenge_methods_supported?: string[];
}

/** A token was refused; `reason` goes to the audit log, `message` to the caller. */
export class ExternalTokenError extends AuthenticationError {
  readonly reason: string;
  readonly issuerName: string | undefined;
  constructor(message: string, reason: string, issuerName?: string) {
    super(message);
    this.reason = reason;
    this.issuerName = issuerName;
  }
}

/** The `iss` of a JWT without checking anything (to pick the issuer whose keys must check it). */
export function unverifiedIssuer(token: string): string | undefined {
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

const FETCH_TIMEOUT_MS = 5_000;

/**
 * Verifies bearer tokens of the configured issuers with jose: the signature with the issuer's
 * keys (a JWKS fetched once and cached, fetched again when a token names a key id it does not
 * hold, i.e. a key rotated at the provider, at most once per `jwksCooldownSeconds`), `iss`, `aud`,
 * `exp`, `nbf` with the clock tolerance, and the algorithm from the issuer's own list only: an
 * asymmetric issuer never accepts HS256 (no HS/RS confusion) and `none` is never accepted.
 */
export function createExternalTokenVerifier(issuers: IssuerConfig[]) {
  const byIssuer = new Map(issuers.map((i) => [i.issuer, i]));
  const metadata = new Map<string, Promise<ProviderMetadata>>();
  const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

  function discover(issuer: IssuerConfig): Promise<ProviderMetadata> {
    let pending = metadata.get(issuer.name);
    if (!pending) {
      const url = `${issuer.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
      pending = fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })
        .then(async (response) => {
          if (!response.ok) throw new Error(`${url} answered ${response.status}`);
          const document = (await response.json()) as ProviderMetadata;
          // OIDC Discovery 4.3: the document must name the issuer it was fetched for.
          if (document.issuer !== issuer.issuer) throw new Error(`${url} names issuer ${document.issuer}`);
          return document;
        })
        .catch((error: unknown) => {
          metadata.delete(issuer.name); // try again on the next token, the provider may be back
          throw new UnavailableError(
            `The identity provider "${issuer.name}" cannot be reached (${(error as Error).message}); try again shortly.`,
          );
        });
      metadata.set(issuer.name, pending);
    }
    return pending;
  }

  async function keySet(issuer: IssuerConfig) {
    let set = keySets.get(issuer.name);
    if (!set) {
      const jwksUrl = issuer.jwksUrl ?? (await discover(issuer)).jwks_uri;
      set = createRemoteJWKSet(new URL(jwksUrl), {
        cooldownDuration: issuer.jwksCooldownSeconds * 1000,
        cacheMaxAge: 10 * 60_000,
        timeoutDuration: FETCH_TIMEOUT_MS,
      });
      keySets.set(issuer.name, set);
    }
    return set;
  }

  async function verifyWith(issuer: IssuerConfig, token: string, audience: string[], extra: { nonce?: string } = {}): Promise<JWTPayload> {
    const refuse = (reason: string, message: string) => new ExternalTokenError(message, reason, issuer.name);
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw refuse('malformed', 'The bearer token is not a valid JWT.');
    }
    if (!alg || !issuer.algorithms.includes(alg)) {
      throw refuse('algorithm', `Tokens of ${issuer.name} must be signed with ${issuer.algorithms.join(', ')}, not ${alg ?? 'nothing'}.`);
    }
    const options = {
      issuer: issuer.issuer,
      audience,
      algorithms: issuer.algorithms,
      clockTolerance: issuer.clockToleranceSeconds,
      requiredClaims: ['exp', 'sub'],
    };
    try {
      const { payload } = issuer.hs256Secret
        ? await jwtVerify(token, new TextEncoder().encode(issuer.hs256Secret), options)
        : await jwtVerify(token, await keySet(issuer), options);
      if (extra.nonce !== undefined && payload.nonce !== extra.nonce)
        throw refuse('nonce', 'The sign-in answer does not match this browser; start again.');
      return payload;
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw refuse('expired', 'The token has expired; sign in again.');
      if (error instanceof joseErrors.JWKSNoMatchingKey)
        throw refuse('unknown_key', 'The token is signed with a key the provider does not publish.');
      if (error instanceof joseErrors.JWTClaimValidationFailed) {
        const reason = error.claim === 'nbf' ? 'not_yet_valid' : error.claim === 'aud' ? 'audience' : `claim_${error.claim}`;
        throw refuse(reason, `The token was refused: ${error.message}.`);
      }
      if (error instanceof AppError) throw error;
      if (error instanceof joseErrors.JOSEError && !(error instanceof joseErrors.JWKSTimeout) && error.code !== 'ERR_JOSE_GENERIC') {
        throw refuse('signature', 'The token signature is not valid.');
      }
      // The JWKS could not be fetched (timeout, network, not JSON): not the token's fault.
      throw new UnavailableError(`The keys of identity provider "${issuer.name}" cannot be fetched; try again shortly.`, { cause: error });
    }
  }

  return {
    issuerFor: (iss: string | undefined) => (iss === undefined ? undefined : byIssuer.get(iss)),
    issuerNamed: (name: string) => issuers.find((i) => i.name === name),
    discover,
    /** A bearer token: checked against the issuer its `iss` names, with that issuer's audience. */
    async verifyBearer(token: string): Promise<{ issuer: IssuerConfig; payload: JWTPayload }> {
      const iss = unverifiedIssuer(token);
      const issuer = iss === undefined ? undefined : byIssuer.get(iss);
      if (!issuer) throw new ExternalTokenError('The token comes from an issuer this platform does not accept.', 'unknown_issuer');
      return { issuer, payload: await verifyWith(issuer, token, issuer.audience) };
    },
    /** An ID token from the code flow: its audience is our client id, its nonce the one we sent. */
    async verifyIdToken(issuer: IssuerConfig, token: string, clientId: string, nonce: string): Promise<JWTPayload> {
      return verifyWith(issuer, token, [clientId], { nonce });
    },
  };
}

export type ExternalTokenVerifier = ReturnType<typeof createExternalTokenVerifier>;
