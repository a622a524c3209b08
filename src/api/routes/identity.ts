import { z } from 'zod';
import { AppError, NotFoundError } from '../../errors/index.js';
import { safeNextPath } from '../../identity/index.js';
import { type Api, principalOf, routeOptions } from '../route.js';
import { uuidParam } from '../schemas.js';
import type { ApiDependencies } from '../server.js';
import { loginAnswerer, loginAnswerSchema, setSessionCookie } from './login-answer.js';

/** Carries the sealed state of a code flow from "Sign in with ..." to the callback. */
const FLOW_COOKIE = 'saas_oidc_flow';
const FLOW_COOKIE_PATH = '/api/v1/auth/oidc';

const codeSchema = z
  .string()
  .trim()
  .min(6, 'must be the 6-digit code from your authenticator app or a recovery code')
  .max(40, 'must be at most 40 characters');
const challengeSchema = z.string().min(10).max(200);
const issuerParams = z.object({ issuer: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'must be an issuer name') }).strict();
const enrolmentSchema = z
  .object({ secret: z.string().describe('base32 secret for the authenticator app'), otpauthUri: z.string() })
  .meta({ id: 'TotpEnrolment' });
const recoveryCodesSchema = z
  .object({ recoveryCodes: z.array(z.string()).describe('each works once; shown only in this answer') })
  .meta({ id: 'RecoveryCodes' });

export function registerIdentityRoutes(api: Api, deps: Pick<ApiDependencies, 'auth' | 'identity' | 'config' | 'metrics'>): void {
  const { identity } = deps;
  const tags = ['identity'];
  const answerLogin = loginAnswerer(deps);

  api.get(
    '/auth/providers',
    routeOptions('public', {
      summary: 'External identity providers the dashboard offers ("Sign in with ...")',
      tags,
      response: {
        200: z.array(z.object({ name: z.string(), displayName: z.string(), startUrl: z.string() }).meta({ id: 'SignInProvider' })),
      },
    }),
    async () => identity.providers(),
  );

  api.get(
    '/auth/oidc/:issuer/start',
    routeOptions('public', {
      summary: 'Start signing in with an external provider (authorization code flow with PKCE): redirects to it',
      tags,
      params: issuerParams,
      querystring: z.object({ next: z.string().max(500).optional() }).strict(),
    }),
    async (request, reply) => {
      const { location, sealedState } = await identity.startCodeFlow(request.params.issuer, request.query.next);
      // Lax, not Strict: the provider sends the browser back with a cross-site redirect.
      reply.setCookie(FLOW_COOKIE, sealedState, {
        path: FLOW_COOKIE_PATH,
        httpOnly: true,
        sameSite: 'lax',
        secure: deps.config.publicUrl.startsWith('https:'),
        maxAge: 600,
      });
      return reply.redirect(location, 302);
    },
  );

  api.get(
    '/auth/oidc/:issuer/callback',
    routeOptions('public', {
      summary: 'Where the provider sends the browser back: sets the session cookie and opens the dashboard',
      description: 'Errors and a due second factor are shown by the dashboard login page it redirects to.',
      tags,
      params: issuerParams,
      querystring: z
        .object({
          code: z.string().max(2000).optional(),
          state: z.string().max(500).optional(),
          error: z.string().max(200).optional(),
          error_description: z.string().max(1000).optional(),
          iss: z.string().max(500).optional(),
          session_state: z.string().max(500).optional(),
        })
        .strict(),
    }),
    async (request, reply) => {
      // An issuer that is not configured is a wrong address, not a failed sign-in.
      if (!identity.providers().some((p) => p.name === request.params.issuer)) {
        throw new NotFoundError(`Sign-in provider "${request.params.issuer}"`, { field: 'issuer' });
      }
      reply.clearCookie(FLOW_COOKIE, { path: FLOW_COOKIE_PATH });
      try {
        const { outcome, next } = await identity.finishCodeFlow(request.params.issuer, {
          code: request.query.code,
          state: request.query.state,
          error: request.query.error,
          errorDescription: request.query.error_description,
          sealedState: request.cookies[FLOW_COOKIE],
          ip: request.ip,
        });
        if (outcome.kind === 'challenge') {
          const query = new URLSearchParams({ challenge: outcome.challenge, secondFactor: outcome.secondFactor, next });
          return reply.redirect(`/login?${query}`, 302);
        }
        await setSessionCookie(deps, reply, outcome.user.id);
        deps.metrics.authEvents.inc({ event: 'login' });
        return reply.redirect(`/signed-in?${new URLSearchParams({ next: safeNextPath(next) })}`, 302);
      } catch (error) {
        // A browser navigation: the login page shows what went wrong instead of a JSON problem.
        if (!(error instanceof AppError)) throw error;
        return reply.redirect(`/login?${new URLSearchParams({ signInError: error.message })}`, 302);
      }
    },
  );

  api.post(
    '/auth/login/second-factor',
    routeOptions(
      'public',
      {
        summary: 'Finish a login with the code from the authenticator app (or a recovery code)',
        description: 'At most 5 code attempts per user in 5 minutes, right or wrong. A code is accepted once.',
        tags,
        body: z.object({ challenge: challengeSchema, code: codeSchema, setCookie: z.boolean().optional() }).strict(),
        response: { 200: loginAnswerSchema },
      },
      'identity.login_second_factor',
    ),
    async (request, reply) => {
      const outcome = await identity.completeChallenge({ challenge: request.body.challenge, code: request.body.code, ip: request.ip });
      request.auditTarget = { type: 'user', id: outcome.user.id, accountId: outcome.user.accountId };
      return answerLogin(outcome, reply, request.body.setCookie === true);
    },
  );

  api.post(
    '/auth/login/enrol',
    routeOptions(
      'public',
      {
        summary: 'Set up an authenticator during login (operators who must use two-factor and have not yet)',
        tags,
        body: z.object({ challenge: challengeSchema }).strict(),
        response: { 200: enrolmentSchema },
      },
      'identity.login_enrol',
    ),
    async (request) => identity.enrolThroughChallenge(request.body.challenge),
  );

  api.get(
    '/me/two-factor',
    routeOptions('user', {
      summary: 'Whether two-factor authentication is on, and how many recovery codes are left',
      tags,
      response: { 200: z.object({ enabled: z.boolean(), recoveryCodesLeft: z.number() }).meta({ id: 'TwoFactorStatus' }) },
    }),
    async (request) => identity.twoFactorStatus(principalOf(request)),
  );

  api.post(
    '/me/two-factor',
    routeOptions('user', {
      summary: 'Start setting up an authenticator app (TOTP): answers the secret',
      tags,
      response: { 200: enrolmentSchema },
    }),
    async (request) => identity.startEnrolment(principalOf(request)),
  );

  api.post(
    '/me/two-factor/confirm',
    routeOptions('user', {
      summary: 'Switch two-factor on with a first code; answers the recovery codes (shown once)',
      tags,
      body: z.object({ code: codeSchema }).strict(),
      response: { 200: recoveryCodesSchema },
    }),
    async (request) => identity.confirmEnrolment(principalOf(request), request.body.code, request.ip),
  );

  api.post(
    '/me/two-factor/remove',
    routeOptions('user', { summary: 'Switch two-factor off (needs a current code)', tags, body: z.object({ code: codeSchema }).strict() }),
    async (request, reply) => {
      await identity.removeTwoFactor(principalOf(request), request.body.code, request.ip);
      return reply.code(204).send();
    },
  );

  api.post(
    '/me/two-factor/recovery-codes',
    routeOptions('user', {
      summary: 'Replace the recovery codes (needs a current code); the old ones stop working',
      tags,
      body: z.object({ code: codeSchema }).strict(),
      response: { 200: recoveryCodesSchema },
    }),
    async (request) => identity.regenerateRecoveryCodes(principalOf(request), request.body.code, request.ip),
  );

  api.get(
    '/me/identities',
    routeOptions('user', {
      summary: 'Your sign-ins at external providers linked to this user',
      tags,
      response: {
        200: z.array(
          z
            .object({
              id: z.string(),
              issuer: z.string(),
              email: z.string().nullable(),
              createdAt: z.string(),
              lastUsedAt: z.string().nullable(),
            })
            .meta({ id: 'LinkedIdentity' }),
        ),
      },
    }),
    async (request) => identity.listIdentities(principalOf(request)),
  );

  api.delete(
    '/me/identities/:id',
    routeOptions('user', { summary: 'Unlink an external sign-in', tags, params: z.object({ id: uuidParam }).strict() }),
    async (request, reply) => {
      await identity.unlink(principalOf(request), request.params.id, request.ip);
      return reply.code(204).send();
    },
  );
}
