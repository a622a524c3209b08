import { type AuthService, digestToken, generateOpaqueToken, type PublicUser, type TokenPair } from '../auth/index.js';
import type { Db } from '../db/index.js';
import { AuthenticationError, ConflictError } from '../errors/index.js';
import type { SecondFactorStore, TotpEnrolmentStart } from './second-factor.js';

/** A login whose first factor passed and whose second is due. */
export interface LoginChallenge {
  kind: 'challenge';
  /** `totp`: enter a code (or a recovery code); `enrol`: set up an authenticator first (operators, when required). */
  secondFactor: 'totp' | 'enrol';
  challenge: string;
  expiresIn: number;
  user: PublicUser;
}

export type LoginOutcome = { kind: 'tokens'; user: PublicUser; tokens: TokenPair; recoveryCodes?: string[] } | LoginChallenge;

const CHALLENGE_TTL_SECONDS = 300;

/**
 * The login sequence: a first factor (password, or an external issuer's sign-in), then, for users
 * with TOTP or operators who must have it, a short-lived challenge (`mf_...`, stored hashed in
 * `login_challenges`) that only a right code turns into tokens.
 */
export function createLoginFlow(deps: { db: Db; auth: AuthService; secondFactor: SecondFactorStore; requireOperator2fa: boolean }) {
  const { db, auth, secondFactor, requireOperator2fa } = deps;

  async function pendingChallenge(challenge: string) {
    const row = await db
      .selectFrom('login_challenges')
      .selectAll()
      .where('token_hash', '=', digestToken(challenge))
      .where('used_at', 'is', null)
      .where('expires_at', '>', new Date())
      .executeTakeFirst();
    if (!row) throw new AuthenticationError('This login step has expired or was already completed; log in again.');
    return { row, user: await auth.getUser(row.user_id) };
  }

  async function closeChallenge(id: string): Promise<void> {
    const closed = await db
      .updateTable('login_challenges')
      .set({ used_at: new Date() })
      .where('id', '=', id)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    if (Number(closed.numUpdatedRows) !== 1) throw new AuthenticationError('This login step was already completed; log in again.');
  }

  return {
    /** After the first factor: tokens at once, or the challenge of the second factor. */
    async afterFirstFactor(user: PublicUser, method: string): Promise<LoginOutcome> {
      const enrolled = await secondFactor.isEnrolled(user.id);
      const mustEnrol = !enrolled && user.role === 'operator' && requireOperator2fa;
      if (!enrolled && !mustEnrol) return { kind: 'tokens', user, tokens: await auth.issueTokens(user.id) };
      const challenge = generateOpaqueToken('mf');
      await db
        .insertInto('login_challenges')
        .values({
          user_id: user.id,
          token_hash: digestToken(challenge),
          kind: enrolled ? 'verify' : 'enrol',
          method,
          expires_at: new Date(Date.now() + CHALLENGE_TTL_SECONDS * 1000),
        })
        .execute();
      return { kind: 'challenge', secondFactor: enrolled ? 'totp' : 'enrol', challenge, expiresIn: CHALLENGE_TTL_SECONDS, user };
    },

    /** An operator who must enrol gets the secret through the challenge (they have no session yet). */
    async enrolThroughChallenge(challenge: string): Promise<TotpEnrolmentStart> {
      const { row, user } = await pendingChallenge(challenge);
      if (row.kind !== 'enrol') throw new ConflictError('Two-factor authentication is already set up: enter a code instead.');
      return secondFactor.startEnrolment(user);
    },

    /** The second factor: a TOTP code or a recovery code (or, for `enrol`, the first code of the new authenticator). */
    async completeChallenge(input: { challenge: string; code: string; ip: string }): Promise<LoginOutcome & { kind: 'tokens' }> {
      const { row, user } = await pendingChallenge(input.challenge);
      let recoveryCodes: string[] | undefined;
      if (row.kind === 'enrol') ({ recoveryCodes } = await secondFactor.confirmEnrolment(user, input.code, input.ip));
      else await secondFactor.verify(user, input.code, { ip: input.ip, purpose: `login:${row.method}` });
      await closeChallenge(row.id);
      return { kind: 'tokens', user, tokens: await auth.issueTokens(user.id), ...(recoveryCodes ? { recoveryCodes } : {}) };
    },

    /** Challenges past their expiry are useless: pruned with the rate-limit counters. */
    async prune(): Promise<void> {
      await db
        .deleteFrom('login_challenges')
        .where('expires_at', '<', new Date(Date.now() - 3600_000))
        .execute();
    },
  };
}

export type LoginFlow = ReturnType<typeof createLoginFlow>;
