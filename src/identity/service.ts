import type { AuditLog } from '../audit/index.js';
import { type AuthService, createRateLimiter, PLATFORM_TOKEN_ISSUER, type Principal, type PublicUser } from '../auth/index.js';
import type { Config } from '../config/index.js';
import type { Db } from '../db/index.js';
import { AuthenticationError, ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors/index.js';
import type { SecretBox } from '../secrets/index.js';
import { mapClaims } from './claims.js';
import { createCodeFlow } from './code-flow.js';
import { identityAuditor } from './events.js';
import { createExternalSignIn } from './external-sign-in.js';
import { createExternalTokenVerifier, ExternalTokenError, unverifiedIssuer } from './external-tokens.js';
import { createIdentityLinks } from './links.js';
import { createLoginFlow, type LoginOutcome } from './login.js';
import { createSecondFactorStore } from './second-factor.js';

type IdentityConfig = Pick<Config, 'identityIssuers' | 'requireOperator2fa' | 'publicUrl'>;

/** Code attempts per user in a window of five minutes (every attempt counts, right or wrong). */
export const CODE_ATTEMPTS_PER_WINDOW = 5;

/**
 * Identity on top of `auth/`: the second factor (TOTP, recovery codes), the login sequence that
 * asks for it, external issuers' tokens (bearer tokens and the dashboard's code flow) and the
 * links between platform users and their external identities. Every event is audited.
 */
export function createIdentityService(deps: { db: Db; auth: AuthService; audit: AuditLog; secretBox: SecretBox; config: IdentityConfig }) {
  const { db, auth, secretBox, config } = deps;
  const record = identityAuditor(deps.audit);
  const limiter = createRateLimiter({ db }, { limit: CODE_ATTEMPTS_PER_WINDOW, windowSeconds: 300 });
  const secondFactor = createSecondFactorStore({ db, secretBox, limiter, record });
  const loginFlow = createLoginFlow({ db, auth, secondFactor, requireOperator2fa: config.requireOperator2fa });
  const verifier = createExternalTokenVerifier(config.identityIssuers);
  const links = createIdentityLinks(db);
  const resolveUser = createExternalSignIn({ auth, links, record });
  const codeFlow = createCodeFlow({ verifier, secretBox, publicUrl: config.publicUrl });

  async function refused(error: unknown, ip: string | undefined): Promise<never> {
    if (error instanceof ExternalTokenError) {
      await record({
        action: 'identity.token_refused',
        outcome: 'failure',
        ip,
        details: { issuer: error.issuerName ?? null, reason: error.reason },
      });
    }
    throw error;
  }

  /** Operators who must have a second factor and do not are refused, whatever the credential (API keys aside). */
  async function guardOperator(principal: Principal, multiFactor: boolean): Promise<void> {
    if (principal.role !== 'operator' || !config.requireOperator2fa || principal.via === 'api_key') return;
    if (principal.via === 'external_token') {
      if (!multiFactor) {
        throw new ForbiddenError(
          'Operator tokens from an identity provider must come from a sign-in with a second factor (amr/aal2); use the dashboard login or an API key.',
        );
      }
      return;
    }
    // 401, not 403: logging in again is the way out (the login sets up the authenticator), and the
    // dashboard answers a 401 with its login page.
    if (!(await secondFactor.isEnrolled(principal.userId))) {
      throw new AuthenticationError('Operators must use two-factor authentication here: log in again to set it up.');
    }
  }

  async function self(principal: Principal): Promise<PublicUser> {
    return auth.getUser(principal.userId);
  }

  return {
    providers: () =>
      config.identityIssuers
        .filter((i) => i.codeFlow)
        .map((i) => ({ name: i.name, displayName: i.displayName, startUrl: `/api/v1/auth/oidc/${i.name}/start` })),

    async login(input: { email: string; password: string; ip: string }): Promise<LoginOutcome> {
      const user = await auth.checkPassword(input);
      return loginFlow.afterFirstFactor(user, 'password');
    },
    completeChallenge: loginFlow.completeChallenge,
    enrolThroughChallenge: loginFlow.enrolThroughChallenge,

    /** The request's caller: platform credentials through `auth`, external issuers' JWTs here. */
    async authenticate(input: {
      bearer?: string | undefined;
      sessionToken?: string | undefined;
      ip?: string;
    }): Promise<Principal | undefined> {
      const iss = input.bearer && !input.bearer.startsWith('sk_') ? unverifiedIssuer(input.bearer) : undefined;
      if (input.bearer && iss !== undefined && iss !== PLATFORM_TOKEN_ISSUER) {
        const { issuer, payload } = await verifier.verifyBearer(input.bearer).catch((error: unknown) => refused(error, input.ip));
        const identity = mapClaims(issuer, payload);
        const user = await resolveUser(issuer, identity, input.ip);
        const principal = await auth.principalFor(user.id, 'external_token');
        await guardOperator(principal, identity.multiFactor);
        return principal;
      }
      const principal = await auth.authenticate(input);
      if (principal) await guardOperator(principal, false);
      return principal;
    },

    startCodeFlow: codeFlow.start,

    /** The callback of the code flow: the same outcome as a password login (tokens, or the second factor). */
    async finishCodeFlow(name: string, input: Parameters<typeof codeFlow.finish>[1] & { ip: string }) {
      const { issuer, payload, next } = await codeFlow.finish(name, input).catch((error: unknown) => refused(error, input.ip));
      const user = await resolveUser(issuer, mapClaims(issuer, payload), input.ip);
      return { outcome: await loginFlow.afterFirstFactor(user, `oidc:${name}`), next };
    },

    listIdentities: (principal: Principal) => links.listFor(principal.userId),

    async unlink(principal: Principal, id: string, ip?: string): Promise<void> {
      const removed = await links.unlink(principal.userId, id);
      if (!removed) throw new NotFoundError('Linked sign-in', { field: 'id' });
      await record({
        action: 'identity.unlinked',
        user: await self(principal),
        ip,
        details: { issuer: removed.issuer, subject: removed.subject },
      });
    },

    twoFactorStatus: (principal: Principal) => secondFactor.status(principal.userId),
    async startEnrolment(principal: Principal) {
      return secondFactor.startEnrolment(await self(principal));
    },
    async confirmEnrolment(principal: Principal, code: string, ip?: string) {
      return secondFactor.confirmEnrolment(await self(principal), code, ip);
    },
    async removeTwoFactor(principal: Principal, code: string, ip?: string) {
      const user = await self(principal);
      if (user.role === 'operator' && config.requireOperator2fa) {
        throw new ConflictError(
          'Operators must keep two-factor authentication on here (REQUIRE_OPERATOR_2FA); set up the new device instead.',
        );
      }
      return secondFactor.remove(user, code, ip);
    },
    async regenerateRecoveryCodes(principal: Principal, code: string, ip?: string) {
      return secondFactor.regenerateRecoveryCodes(await self(principal), code, ip);
    },

    /**
     * Sensitive steps (creating an API key) need a fresh second factor from users who have one:
     * a stolen session alone cannot mint a lasting credential.
     */
    async requireFreshSecondFactor(principal: Principal, code: string | undefined, purpose: string, ip?: string): Promise<void> {
      if (!(await secondFactor.isEnrolled(principal.userId))) return;
      if (!code) {
        throw new ValidationError('Enter the current code from your authenticator app (or a recovery code) to do this.', { field: 'code' });
      }
      await secondFactor.verify(await self(principal), code, { ip, purpose });
    },

    async prune(): Promise<void> {
      await limiter.prune();
      await loginFlow.prune();
    },
  };
}

export type IdentityService = ReturnType<typeof createIdentityService>;
