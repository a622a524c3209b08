import { z } from 'zod';
import type { LoginOutcome } from '../../identity/index.js';
import type { FastifyReply } from '../route.js';
import { userSchema } from '../schemas.js';
import { type ApiDependencies, SESSION_COOKIE } from '../server.js';

const tokensAnswer = z
  .object({
    accessToken: z.string(),
    refreshToken: z.string(),
    expiresIn: z.number().describe('access token lifetime in seconds'),
    tokenType: z.literal('Bearer'),
    user: userSchema,
    recoveryCodes: z.array(z.string()).optional().describe('after setting up two-factor authentication at login: shown only once'),
  })
  .meta({ id: 'LoginTokens' });

const challengeAnswer = z
  .object({
    secondFactor: z
      .enum(['totp', 'enrol'])
      .describe('`totp`: send a code; `enrol`: set up an authenticator first (POST /auth/login/enrol)'),
    challenge: z.string().describe('send it to /auth/login/second-factor with the code'),
    expiresIn: z.number().describe('seconds the challenge stays valid'),
    user: userSchema,
  })
  .meta({ id: 'LoginChallenge' });

/** A login answers tokens, or the challenge of the second factor. */
export const loginAnswerSchema = z.union([tokensAnswer, challengeAnswer]).meta({ id: 'LoginAnswer' });

/** Sends a login outcome: the session cookie too when the dashboard asked for it. */
export function loginAnswerer(deps: Pick<ApiDependencies, 'auth' | 'config' | 'metrics'>) {
  return async (outcome: LoginOutcome, reply: FastifyReply, setCookie: boolean) => {
    if (outcome.kind === 'challenge') {
      const { secondFactor, challenge, expiresIn, user } = outcome;
      return { secondFactor, challenge, expiresIn, user };
    }
    deps.metrics.authEvents.inc({ event: 'login' });
    if (setCookie) await setSessionCookie(deps, reply, outcome.user.id);
    return { ...outcome.tokens, user: outcome.user, ...(outcome.recoveryCodes ? { recoveryCodes: outcome.recoveryCodes } : {}) };
  };
}

export async function setSessionCookie(deps: Pick<ApiDependencies, 'auth' | 'config'>, reply: FastifyReply, userId: string): Promise<void> {
  const session = await deps.auth.createSession(userId);
  reply.setCookie(SESSION_COOKIE, session.token, {
    path: '/',
    httpOnly: true,
    sameSite: 'strict',
    secure: deps.config.publicUrl.startsWith('https:'),
    expires: session.expiresAt,
  });
}
