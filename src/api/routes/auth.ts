import { z } from 'zod';
import { type Api, principalOf, routeOptions } from '../route.js';
import { accountSummarySchema, displayName, emailSchema, passwordInputSchema, userSchema } from '../schemas.js';
import { type ApiDependencies, SESSION_COOKIE } from '../server.js';
import { loginAnswerer, loginAnswerSchema } from './login-answer.js';

const tokenPairSchema = z.object({
  accessToken: z.string(),
  refreshToken: z.string(),
  expiresIn: z.number().describe('access token lifetime in seconds'),
  tokenType: z.literal('Bearer'),
});

const opaqueToken = z.string().min(10).max(200);

export function registerAuthRoutes(api: Api, deps: Pick<ApiDependencies, 'auth' | 'identity' | 'config' | 'metrics'>): void {
  const { auth, identity } = deps;
  const tags = ['auth'];
  const answerLogin = loginAnswerer(deps);

  api.post(
    '/auth/register',
    routeOptions('public', {
      summary: 'Create a customer account and its first user',
      tags,
      body: z
        .object({ email: emailSchema, password: passwordInputSchema, name: displayName(100), organization: displayName(120) })
        .strict(),
      response: { 201: z.object({ user: userSchema, account: accountSummarySchema }) },
    }),
    async (request, reply) => {
      const result = await auth.register(request.body);
      request.auditTarget = { type: 'user', id: result.user.id, accountId: result.account.id };
      return reply.code(201).send(result);
    },
  );

  api.post(
    '/auth/login',
    routeOptions('public', {
      summary: 'Log in: returns an access token and a rotating refresh token, or the second factor to give',
      description:
        'With `setCookie: true` it also sets an HttpOnly session cookie for the dashboard. At most 5 attempts per minute per IP and email. ' +
        'Users with two-factor authentication (and operators when it is required) get a `challenge` instead of tokens: ' +
        'send it with a code to `/auth/login/second-factor`.',
      tags,
      body: z.object({ email: emailSchema, password: passwordInputSchema, setCookie: z.boolean().optional() }).strict(),
      response: { 200: loginAnswerSchema },
    }),
    async (request, reply) => {
      const outcome = await identity
        .login({ email: request.body.email, password: request.body.password, ip: request.ip })
        .catch((error: unknown) => {
          deps.metrics.authEvents.inc({ event: 'login_failed' });
          throw error;
        });
      request.auditTarget = { type: 'user', id: outcome.user.id, accountId: outcome.user.accountId };
      return answerLogin(outcome, reply, request.body.setCookie === true);
    },
  );

  api.post(
    '/auth/refresh',
    routeOptions('public', {
      summary: 'Exchange a refresh token for a new pair (the old one stops working)',
      description: 'Presenting a refresh token that was already exchanged revokes every token of that login.',
      tags,
      body: z.object({ refreshToken: opaqueToken }).strict(),
      response: { 200: tokenPairSchema },
    }),
    async (request) => auth.refresh(request.body.refreshToken),
  );

  api.post(
    '/auth/logout',
    routeOptions('public', {
      summary: 'End the session: revokes the refresh token family and the session cookie',
      tags,
      body: z.object({ refreshToken: opaqueToken.optional() }).strict().nullish(),
    }),
    async (request, reply) => {
      await auth.logout({ refreshToken: request.body?.refreshToken, sessionToken: request.cookies[SESSION_COOKIE] });
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send();
    },
  );

  api.post(
    '/auth/password-reset/request',
    routeOptions('public', {
      summary: 'Email a password reset link (answers the same whether or not the email is known)',
      tags,
      body: z.object({ email: emailSchema }).strict(),
    }),
    async (request, reply) => {
      await auth.requestPasswordReset(request.body.email);
      return reply.code(202).send({ status: 'If an account exists for this email, a reset link is on its way.' });
    },
  );

  api.post(
    '/auth/password-reset/confirm',
    routeOptions('public', {
      summary: 'Set a new password with the token from the reset mail; ends all sessions',
      tags,
      body: z.object({ token: opaqueToken, password: passwordInputSchema }).strict(),
    }),
    async (request, reply) => {
      await auth.resetPassword(request.body);
      return reply.code(204).send();
    },
  );

  api.post(
    '/auth/verify-email',
    routeOptions('public', {
      summary: 'Confirm an email address with the token from the welcome mail',
      tags,
      body: z.object({ token: opaqueToken }).strict(),
    }),
    async (request, reply) => {
      await auth.verifyEmail(request.body.token);
      return reply.code(204).send();
    },
  );

  api.post(
    '/auth/verify-email/resend',
    routeOptions('user', { summary: 'Send the email confirmation link again', tags }),
    async (request, reply) => {
      await auth.resendVerification(principalOf(request).userId);
      return reply.code(202).send({ status: 'sent' });
    },
  );

  api.get(
    '/me',
    routeOptions('user', {
      summary: 'The calling user and their account',
      tags,
      response: { 200: z.object({ user: userSchema, via: z.string() }).meta({ id: 'Me' }) },
    }),
    async (request) => {
      const principal = principalOf(request);
      return { user: await auth.getUser(principal.userId), via: principal.via };
    },
  );
}
