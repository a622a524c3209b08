import { randomUUID } from 'node:crypto';
import type { Config } from '../config/index.js';
import type { Db, Role, UserRow } from '../db/index.js';
import { AuthenticationError, ConflictError, ForbiddenError, NotFoundError, RateLimitError, ValidationError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import { emailVerificationMail, type Mailer, passwordResetMail } from '../notifications/index.js';
import { createApiKeyStore } from './api-keys.js';
import { checkPasswordPolicy, hashPassword, needsRehash, timingDecoyHash, verifyPassword } from './passwords.js';
import type { Principal } from './principal.js';
import { createRateLimiter } from './rate-limit.js';
import { type AccessTokenSigner, digestToken, generateOpaqueToken } from './tokens.js';
import { findUserByEmail as findUserByEmailIn, type PublicUser, type TokenPair, toPublicUser } from './users.js';

/** Users who only sign in through an external issuer have no password: this never verifies. */
const NO_PASSWORD = '!external-identity';

type AuthConfig = Pick<
  Config,
  'refreshTokenTtlDays' | 'sessionTtlDays' | 'loginRateLimitPerMinute' | 'passwordResetTtlMinutes' | 'publicUrl'
>;

export type AuthService = ReturnType<typeof createAuthService>;

export function createAuthService(deps: { db: Db; config: AuthConfig; signer: AccessTokenSigner; mailer: Mailer; logger: Logger }) {
  const { db, config, signer, mailer, logger } = deps;
  const loginLimiter = createRateLimiter({ db }, { limit: config.loginRateLimitPerMinute, windowSeconds: 60 });
  const day = 24 * 3600 * 1000;

  function assertPasswordPolicy(password: string, email?: string, field = 'password'): void {
    const issues = checkPasswordPolicy(password, { email }, field);
    if (issues.length > 0) throw new ValidationError(issues.map((i) => i.message).join(' '), { issues });
  }

  const findUserByEmail = (email: string) => findUserByEmailIn(db, email);

  async function issueTokenPair(user: UserRow, familyId: string = randomUUID()): Promise<TokenPair> {
    const refreshToken = generateOpaqueToken('rt');
    await db
      .insertInto('refresh_tokens')
      .values({
        user_id: user.id,
        family_id: familyId,
        token_hash: digestToken(refreshToken),
        expires_at: new Date(Date.now() + config.refreshTokenTtlDays * day),
      })
      .execute();
    const accessToken = await signer.sign({ userId: user.id, role: user.role, accountId: user.account_id });
    return { accessToken, refreshToken, expiresIn: signer.ttlSeconds, tokenType: 'Bearer' };
  }

  async function createOneTimeToken(userId: string, purpose: 'password_reset' | 'email_verification', ttlMs: number) {
    const token = generateOpaqueToken('ot');
    await db
      .insertInto('one_time_tokens')
      .values({ user_id: userId, purpose, token_hash: digestToken(token), expires_at: new Date(Date.now() + ttlMs) })
      .execute();
    return token;
  }

  /** Marks a one-time token used and returns its user, or throws when it is unknown, used or expired. */
  async function consumeOneTimeToken(token: string, purpose: 'password_reset' | 'email_verification'): Promise<string> {
    const row = await db
      .updateTable('one_time_tokens')
      .set({ used_at: new Date() })
      .where('token_hash', '=', digestToken(token))
      .where('purpose', '=', purpose)
      .where('used_at', 'is', null)
      .where('expires_at', '>', new Date())
      .returning('user_id')
      .executeTakeFirst();
    if (!row) throw new ValidationError('This link is invalid, expired or was already used; ask for a new one.', { field: 'token' });
    return row.user_id;
  }

  async function sendVerificationMail(user: Pick<UserRow, 'id' | 'email' | 'name'>): Promise<void> {
    const token = await createOneTimeToken(user.id, 'email_verification', 7 * day);
    const link = `${config.publicUrl}/verify-email?token=${encodeURIComponent(token)}`;
    await mailer.send(emailVerificationMail({ to: user.email, name: user.name, link })).catch((error: unknown) => {
      // Registration must not fail because the mail server is down; the user can ask again.
      logger.error({ err: error, userId: user.id }, 'could not send the verification mail');
    });
  }

  async function revokeAllSessions(userId: string): Promise<void> {
    const now = new Date();
    await db.updateTable('refresh_tokens').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
    await db.updateTable('sessions').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
  }

  async function loadActiveUser(userId: string): Promise<UserRow> {
    const user = await db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
    if (!user || user.disabled_at) throw new AuthenticationError('Your credentials are no longer valid; log in again.');
    return user;
  }

  function toPrincipal(user: UserRow, via: Principal['via'], apiKeyId?: string): Principal {
    return { userId: user.id, email: user.email, role: user.role, accountId: user.account_id, via, ...(apiKeyId ? { apiKeyId } : {}) };
  }

  return {
    async register(input: { email: string; password: string; name: string; organization: string }) {
      assertPasswordPolicy(input.password, input.email);
      if (await findUserByEmail(input.email)) {
        throw new ConflictError('An account with this email already exists; log in or reset your password.', { field: 'email' });
      }
      const passwordHash = await hashPassword(input.password);
      const { user, account } = await db.transaction().execute(async (trx) => {
        const account = await trx.insertInto('accounts').values({ name: input.organization }).returningAll().executeTakeFirstOrThrow();
        const user = await trx
          .insertInto('users')
          .values({ account_id: account.id, email: input.email, name: input.name, password_hash: passwordHash, role: 'customer' })
          .returningAll()
          .executeTakeFirstOrThrow()
          .catch((error: { code?: string }) => {
            if (error.code === '23505') throw new ConflictError('An account with this email already exists.', { field: 'email' });
            throw error;
          });
        return { user, account };
      });
      await sendVerificationMail(user);
      return { user: toPublicUser(user), account: { id: account.id, name: account.name, createdAt: account.created_at.toISOString() } };
    },

    async createOperator(input: { email: string; password: string; name: string }): Promise<PublicUser> {
      assertPasswordPolicy(input.password, input.email);
      if (await findUserByEmail(input.email))
        throw new ConflictError(`A user with email ${input.email} already exists.`, { field: 'email' });
      const user = await db
        .insertInto('users')
        .values({
          account_id: null,
          email: input.email,
          name: input.name,
          password_hash: await hashPassword(input.password),
          role: 'operator',
          email_verified_at: new Date(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toPublicUser(user);
    },

    /**
     * The first factor: a rate-limited password check. The caller decides whether a second factor
     * is due before `issueTokens` (identity/), so a password alone never yields tokens for a user
     * with TOTP.
     */
    async checkPassword(input: { email: string; password: string; ip: string }): Promise<PublicUser> {
      const bucket = `login:${input.ip}:${input.email.toLowerCase()}`;
      const { allowed, retryAfterSeconds } = await loginLimiter.hit(bucket);
      if (!allowed) {
        throw new RateLimitError(`Too many login attempts; try again in ${retryAfterSeconds} s or reset your password.`, retryAfterSeconds);
      }
      const user = await findUserByEmail(input.email);
      const passwordMatches = await verifyPassword(input.password, user?.password_hash ?? timingDecoyHash);
      if (!user || !passwordMatches || user.disabled_at) {
        throw new AuthenticationError('Wrong email or password.');
      }
      if (needsRehash(user.password_hash)) {
        await db
          .updateTable('users')
          .set({ password_hash: await hashPassword(input.password) })
          .where('id', '=', user.id)
          .execute();
      }
      return toPublicUser(user);
    },

    /** Starts a login (a new refresh token family) for a user whose factors were all checked. */
    async issueTokens(userId: string): Promise<TokenPair> {
      return issueTokenPair(await loadActiveUser(userId));
    },

    /** The caller as a principal, for credentials checked elsewhere (an external issuer's token). */
    async principalFor(userId: string, via: Principal['via']): Promise<Principal> {
      return toPrincipal(await loadActiveUser(userId), via);
    },

    findUserByEmail: async (email: string) => {
      const user = await findUserByEmail(email);
      return user && !user.disabled_at ? toPublicUser(user) : undefined;
    },

    /**
     * A user first seen through an external issuer (just-in-time sign-up): no password, email
     * verified by the issuer; customers get their own account, like a registration.
     */
    async createExternalUser(input: { email: string; name: string; role: Role; organization: string }): Promise<PublicUser> {
      return db.transaction().execute(async (trx) => {
        const account =
          input.role === 'customer'
            ? await trx.insertInto('accounts').values({ name: input.organization }).returningAll().executeTakeFirstOrThrow()
            : null;
        const user = await trx
          .insertInto('users')
          .values({
            account_id: account?.id ?? null,
            email: input.email,
            name: input.name,
            password_hash: NO_PASSWORD,
            role: input.role,
            email_verified_at: new Date(),
          })
          .returningAll()
          .executeTakeFirstOrThrow()
          .catch((error: { code?: string }) => {
            if (error.code === '23505') throw new ConflictError('A user with this email already exists.', { field: 'email' });
            throw error;
          });
        return toPublicUser(user);
      });
    },

    /** Rotates a refresh token. Presenting one that was already rotated revokes its whole family. */
    async refresh(refreshToken: string): Promise<TokenPair> {
      const tokenHash = digestToken(refreshToken);
      const rotated = await db
        .updateTable('refresh_tokens')
        .set({ used_at: new Date() })
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', new Date())
        .returning(['user_id', 'family_id'])
        .executeTakeFirst();
      if (!rotated) {
        const known = await db
          .selectFrom('refresh_tokens')
          .select(['family_id', 'used_at', 'user_id'])
          .where('token_hash', '=', tokenHash)
          .executeTakeFirst();
        if (known?.used_at) {
          await db
            .updateTable('refresh_tokens')
            .set({ revoked_at: new Date() })
            .where('family_id', '=', known.family_id)
            .where('revoked_at', 'is', null)
            .execute();
          logger.warn({ userId: known.user_id, familyId: known.family_id }, 'refresh token reuse detected: token family revoked');
          throw new AuthenticationError(
            'This refresh token was already used; for safety all sessions from that login were ended. Log in again.',
          );
        }
        throw new AuthenticationError('Invalid or expired refresh token; log in again.');
      }
      const user = await loadActiveUser(rotated.user_id);
      return issueTokenPair(user, rotated.family_id);
    },

    async logout(input: { refreshToken?: string | undefined; sessionToken?: string | undefined }): Promise<void> {
      const now = new Date();
      if (input.refreshToken) {
        const row = await db
          .selectFrom('refresh_tokens')
          .select('family_id')
          .where('token_hash', '=', digestToken(input.refreshToken))
          .executeTakeFirst();
        if (row)
          await db
            .updateTable('refresh_tokens')
            .set({ revoked_at: now })
            .where('family_id', '=', row.family_id)
            .where('revoked_at', 'is', null)
            .execute();
      }
      if (input.sessionToken) {
        await db.updateTable('sessions').set({ revoked_at: now }).where('token_hash', '=', digestToken(input.sessionToken)).execute();
      }
    },

    async createSession(userId: string): Promise<{ token: string; expiresAt: Date }> {
      const token = generateOpaqueToken('ss');
      const expiresAt = new Date(Date.now() + config.sessionTtlDays * day);
      await db
        .insertInto('sessions')
        .values({ user_id: userId, token_hash: digestToken(token), expires_at: expiresAt })
        .execute();
      return { token, expiresAt };
    },

    /** Resolves the caller from a bearer credential (access token or API key) or a session cookie. */
    async authenticate(input: { bearer?: string | undefined; sessionToken?: string | undefined }): Promise<Principal | undefined> {
      if (input.bearer?.startsWith('sk_')) {
        const key = await db
          .selectFrom('api_keys')
          .select(['id', 'user_id', 'last_used_at'])
          .where('key_hash', '=', digestToken(input.bearer))
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        if (!key) throw new AuthenticationError('Invalid or revoked API key.');
        // Record use at most once a minute: a script hammering the API should not write every call.
        if (!key.last_used_at || Date.now() - key.last_used_at.getTime() > 60_000) {
          await db.updateTable('api_keys').set({ last_used_at: new Date() }).where('id', '=', key.id).execute();
        }
        return toPrincipal(await loadActiveUser(key.user_id), 'api_key', key.id);
      }
      if (input.bearer) {
        const claims = await signer.verify(input.bearer);
        if (!claims) throw new AuthenticationError('Invalid or expired access token; refresh it or log in again.');
        const user = await loadActiveUser(claims.userId);
        // A password change ends every session, including access tokens issued before it.
        if (user.password_changed_at.getTime() > claims.issuedAtMs) {
          throw new AuthenticationError('Your password changed since this token was issued; log in again.');
        }
        return toPrincipal(user, 'access_token');
      }
      if (input.sessionToken) {
        const session = await db
          .selectFrom('sessions')
          .select('user_id')
          .where('token_hash', '=', digestToken(input.sessionToken))
          .where('revoked_at', 'is', null)
          .where('expires_at', '>', new Date())
          .executeTakeFirst();
        if (!session) return undefined; // a stale cookie is the same as no cookie
        return toPrincipal(await loadActiveUser(session.user_id), 'session');
      }
      return undefined;
    },

    async getUser(userId: string): Promise<PublicUser> {
      const user = await db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
      if (!user) throw new NotFoundError('User');
      return toPublicUser(user);
    },

    /** Always succeeds from the caller's view, so the endpoint does not reveal who has an account. */
    async requestPasswordReset(email: string): Promise<void> {
      const user = await findUserByEmail(email);
      if (!user || user.disabled_at) {
        logger.info('password reset asked for an unknown or disabled email');
        return;
      }
      const token = await createOneTimeToken(user.id, 'password_reset', config.passwordResetTtlMinutes * 60_000);
      const link = `${config.publicUrl}/reset-password?token=${encodeURIComponent(token)}`;
      await mailer.send(passwordResetMail({ to: user.email, name: user.name, link, validMinutes: config.passwordResetTtlMinutes }));
    },

    async resetPassword(input: { token: string; password: string }): Promise<void> {
      // Check the new password before using up the token, so a refused password can be retried.
      const pending = await db
        .selectFrom('one_time_tokens')
        .innerJoin('users', 'users.id', 'one_time_tokens.user_id')
        .select('users.email')
        .where('token_hash', '=', digestToken(input.token))
        .executeTakeFirst();
      if (pending) assertPasswordPolicy(input.password, pending.email);
      const userId = await consumeOneTimeToken(input.token, 'password_reset');
      await loadActiveUser(userId);
      await db
        .updateTable('users')
        .set({ password_hash: await hashPassword(input.password), password_changed_at: new Date() })
        .where('id', '=', userId)
        .execute();
      await revokeAllSessions(userId);
    },

    async verifyEmail(token: string): Promise<void> {
      const userId = await consumeOneTimeToken(token, 'email_verification');
      await db
        .updateTable('users')
        .set({ email_verified_at: new Date() })
        .where('id', '=', userId)
        .where('email_verified_at', 'is', null)
        .execute();
    },

    async resendVerification(userId: string): Promise<void> {
      const user = await loadActiveUser(userId);
      if (user.email_verified_at) throw new ConflictError('Your email address is already verified.');
      await sendVerificationMail(user);
    },

    ...createApiKeyStore(db),

    /** Prunes rate-limit counters older than their window. */
    pruneRateLimits: () => loginLimiter.prune(),

    assertOperator(principal: Principal): void {
      if (principal.role !== 'operator') throw new ForbiddenError('Only operators may do this.');
    },
  };
}
