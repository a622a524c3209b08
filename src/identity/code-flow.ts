import { createHash, randomBytes } from 'node:crypto';
import type { IssuerConfig } from '../config/index.js';
import { NotFoundError, UnavailableError, ValidationError } from '../errors/index.js';
import type { SecretBox } from '../secrets/index.js';
import type { ExternalTokenVerifier } from './external-tokens.js';

/** What the browser carries between "Sign in with ..." and the callback (sealed: it holds the PKCE verifier). */
interface FlowState {
  issuer: string;
  state: string;
  nonce: string;
  verifier: string;
  next: string;
  expiresAt: number;
}

const FLOW_TTL_MS = 10 * 60_000;
const random = () => randomBytes(32).toString('base64url');

/** Only our own pages: `/instances`, never `//evil.example` or `https://...`. */
export function safeNextPath(next: string | undefined): string {
  return next?.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') ? next : '/';
}

/**
 * The authorization code flow with PKCE (RFC 7636, S256) for the dashboard, by hand on top of
 * discovery and jose: the state, nonce and code verifier travel in a cookie sealed with the secret
 * box (AES-GCM: neither readable nor forgeable), so no table is needed for flows that never finish.
 */
export function createCodeFlow(deps: { verifier: ExternalTokenVerifier; secretBox: SecretBox; publicUrl: string }) {
  const { verifier, secretBox, publicUrl } = deps;

  function codeFlowIssuer(name: string): IssuerConfig & { codeFlow: NonNullable<IssuerConfig['codeFlow']> } {
    const issuer = verifier.issuerNamed(name);
    if (!issuer?.codeFlow) throw new NotFoundError(`Sign-in provider "${name}"`, { field: 'issuer' });
    return issuer as IssuerConfig & { codeFlow: NonNullable<IssuerConfig['codeFlow']> };
  }

  const redirectUri = (name: string) => `${publicUrl.replace(/\/+$/, '')}/api/v1/auth/oidc/${name}/callback`;

  return {
    redirectUri,

    async start(name: string, next: string | undefined): Promise<{ location: string; sealedState: string }> {
      const issuer = codeFlowIssuer(name);
      const metadata = await verifier.discover(issuer);
      if (!metadata.authorization_endpoint || !metadata.token_endpoint) {
        throw new UnavailableError(
          `${issuer.displayName} does not publish an authorization endpoint; ask the operator to check its issuer URL.`,
        );
      }
      if (!metadata.code_challenge_methods_supported?.includes('S256')) {
        throw new UnavailableError(`${issuer.displayName} does not support PKCE (S256), which sign-in here requires.`);
      }
      const flow: FlowState = {
        issuer: name,
        state: random(),
        nonce: random(),
        verifier: random(),
        next: safeNextPath(next),
        expiresAt: Date.now() + FLOW_TTL_MS,
      };
      const location = new URL(metadata.authorization_endpoint);
      location.search = new URLSearchParams({
        response_type: 'code',
        client_id: issuer.codeFlow.clientId,
        redirect_uri: redirectUri(name),
        scope: issuer.codeFlow.scopes,
        state: flow.state,
        nonce: flow.nonce,
        code_challenge: createHash('sha256').update(flow.verifier).digest('base64url'),
        code_challenge_method: 'S256',
      }).toString();
      return { location: location.toString(), sealedState: secretBox.encrypt(JSON.stringify(flow)) };
    },

    /** Checks the callback against the sealed state, exchanges the code and verifies the ID token. */
    async finish(name: string, input: { code?: string; state?: string; error?: string; errorDescription?: string; sealedState?: string }) {
      const issuer = codeFlowIssuer(name);
      let flow: FlowState | undefined;
      try {
        flow = input.sealedState ? (JSON.parse(secretBox.decrypt(input.sealedState)) as FlowState) : undefined;
      } catch {
        flow = undefined;
      }
      if (!flow || flow.issuer !== name || flow.expiresAt < Date.now() || !input.state || flow.state !== input.state) {
        throw new ValidationError('This sign-in was not started from this browser or took too long; start again.', { field: 'state' });
      }
      if (input.error) {
        throw new ValidationError(`${issuer.displayName} did not sign you in: ${input.errorDescription ?? input.error}.`, {
          field: 'error',
        });
      }
      if (!input.code) throw new ValidationError(`${issuer.displayName} sent no authorization code; start again.`, { field: 'code' });
      const metadata = await verifier.discover(issuer);
      const body = new URLSearchParams({
        grant_type: 'authorization_code',
        code: input.code,
        redirect_uri: redirectUri(name),
        code_verifier: flow.verifier,
        client_id: issuer.codeFlow.clientId,
      });
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
      if (issuer.codeFlow.clientSecret) {
        const id = encodeURIComponent(issuer.codeFlow.clientId);
        const secret = encodeURIComponent(issuer.codeFlow.clientSecret);
        headers.authorization = `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
      }
      const response = await fetch(metadata.token_endpoint ?? '', {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(10_000),
      }).catch((error: unknown) => {
        throw new UnavailableError(`${issuer.displayName} cannot be reached (${(error as Error).message}); try again shortly.`);
      });
      const tokens = (await response.json().catch(() => ({}))) as { id_token?: string; error?: string; error_description?: string };
      if (!response.ok || !tokens.id_token) {
        throw new ValidationError(
          `${issuer.displayName} refused the sign-in: ${tokens.error_description ?? tokens.error ?? response.status}; start again.`,
          {
            field: 'code',
          },
        );
      }
      const payload = await verifier.verifyIdToken(issuer, tokens.id_token, issuer.codeFlow.clientId, flow.nonce);
      return { issuer, payload, next: flow.next };
    },
  };
}

export type CodeFlow = ReturnType<typeof createCodeFlow>;
