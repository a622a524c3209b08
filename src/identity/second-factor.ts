import { digestToken, type PublicUser, type RateLimiter } from '../auth/index.js';
import type { Db } from '../db/index.js';
import { AppError, ConflictError, RateLimitError, ValidationError } from '../errors/index.js';
import type { SecretBox } from '../secrets/index.js';
import type { IdentityAuditor } from './events.js';
import { looksLikeTotp, matchTotp, newRecoveryCodes, newTotpSecret, normaliseRecoveryCode, totpUri } from './totp.js';

export interface TotpEnrolmentStart {
  secret: string;
  otpauthUri: string;
}

/**
 * TOTP enrolments and recovery codes (tables `totp_enrolments`, `recovery_codes`). The secret is
 * sealed with the platform's secret box; recovery codes are kept as SHA-256 digests and used up
 * atomically. Every code attempt, right or wrong, counts against a per-user limit, so guessing
 * six digits is not a matter of speed.
 */
export function createSecondFactorStore(deps: { db: Db; secretBox: SecretBox; limiter: RateLimiter; record: IdentityAuditor }) {
  const { db, secretBox, limiter, record } = deps;

  async function enrolment(userId: string) {
    return db.selectFrom('totp_enrolments').selectAll().where('user_id', '=', userId).executeTakeFirst();
  }

  async function issueRecoveryCodes(userId: string): Promise<string[]> {
    const codes = newRecoveryCodes();
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
      await trx
        .insertInto('recovery_codes')
        .values(codes.map((code) => ({ user_id: userId, code_hash: digestToken(normaliseRecoveryCode(code)) })))
        .execute();
    });
    return codes;
  }

  /** True when the user has a confirmed TOTP enrolment. */
  async function isEnrolled(userId: string): Promise<boolean> {
    return (await enrolment(userId))?.confirmed_at != null;
  }

  /**
   * Checks a TOTP code or a recovery code of a user. A TOTP code is accepted once: its time step
   * must be newer than the last accepted one (updated in the same statement, so two requests
   * cannot both use it). Throws AuthenticationError naming the `code` field when wrong.
   */
  async function verify(
    user: PublicUser,
    code: string,
    context: { ip?: string | undefined; purpose: string },
  ): Promise<'totp' | 'recovery_code'> {
    const { allowed, retryAfterSeconds } = await limiter.hit(`2fa:${user.id}`);
    if (!allowed) {
      throw new RateLimitError(`Too many code attempts; try again in ${retryAfterSeconds} s.`, retryAfterSeconds);
    }
    const row = await enrolment(user.id);
    if (row?.confirmed_at && looksLikeTotp(code)) {
      const step = matchTotp(secretBox.decrypt(row.secret_encrypted), code);
      if (step !== undefined) {
        const updated = await db
          .updateTable('totp_enrolments')
          .set({ last_used_step: step })
          .where('user_id', '=', user.id)
          .where('last_used_step', '<', step)
          .executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 1) {
          await record({ action: 'identity.2fa_used', user, ip: context.ip, details: { method: 'totp', purpose: context.purpose } });
          return 'totp';
        }
      }
    } else if (!looksLikeTotp(code)) {
      const used = await db
        .updateTable('recovery_codes')
        .set({ used_at: new Date() })
        .where('user_id', '=', user.id)
        .where('code_hash', '=', digestToken(normaliseRecoveryCode(code)))
        .where('used_at', 'is', null)
        .returning('id')
        .executeTakeFirst();
      if (used) {
        const left = await db
          .selectFrom('recovery_codes')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('user_id', '=', user.id)
          .where('used_at', 'is', null)
          .executeTakeFirstOrThrow();
        await record({
          action: 'identity.recovery_code_used',
          user,
          ip: context.ip,
          details: { purpose: context.purpose, left: Number(left.n) },
        });
        return 'recovery_code';
      }
    }
    await record({ action: 'identity.2fa_failed', user, outcome: 'failure', ip: context.ip, details: { purpose: context.purpose } });
    throw new AppError(
      'authentication',
      'That code is not right (or was already used): enter the current code from your authenticator app, or a recovery code.',
      { field: 'code' },
    );
  }

  return {
    isEnrolled,
    verify,

    /** A new secret, not yet in force: `confirmEnrolment` with a first code switches it on. */
    async startEnrolment(user: PublicUser): Promise<TotpEnrolmentStart> {
      if (await isEnrolled(user.id)) {
        throw new ConflictError('Two-factor authentication is already on; remove it first to use another device.');
      }
      const secret = newTotpSecret();
      const sealed = secretBox.encrypt(secret);
      await db
        .insertInto('totp_enrolments')
        .values({ user_id: user.id, secret_encrypted: sealed })
        .onConflict((oc) => oc.column('user_id').doUpdateSet({ secret_encrypted: sealed, created_at: new Date(), last_used_step: 0 }))
        .execute();
      return { secret, otpauthUri: totpUri(secret, user.email) };
    },

    /** Switches TOTP on once the user proves their app has the secret; answers the recovery codes (shown once). */
    async confirmEnrolment(user: PublicUser, code: string, ip?: string): Promise<{ recoveryCodes: string[] }> {
      const { allowed, retryAfterSeconds } = await limiter.hit(`2fa:${user.id}`);
      if (!allowed) throw new RateLimitError(`Too many code attempts; try again in ${retryAfterSeconds} s.`, retryAfterSeconds);
      const row = await enrolment(user.id);
      if (!row) throw new ConflictError('Start the set-up first: no authenticator secret is waiting for confirmation.');
      if (row.confirmed_at) throw new ConflictError('Two-factor authentication is already on.');
      const step = matchTotp(secretBox.decrypt(row.secret_encrypted), code);
      if (step === undefined) {
        throw new ValidationError('That code does not match: check the time on your phone and enter the current code.', { field: 'code' });
      }
      await db
        .updateTable('totp_enrolments')
        .set({ confirmed_at: new Date(), last_used_step: step })
        .where('user_id', '=', user.id)
        .execute();
      const recoveryCodes = await issueRecoveryCodes(user.id);
      await record({ action: 'identity.2fa_enrolled', user, ip, details: { method: 'totp' } });
      return { recoveryCodes };
    },

    async remove(user: PublicUser, code: string, ip?: string): Promise<void> {
      if (!(await isEnrolled(user.id))) throw new ConflictError('Two-factor authentication is not on.');
      await verify(user, code, { ip, purpose: 'remove_2fa' });
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('totp_enrolments').where('user_id', '=', user.id).execute();
        await trx.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
      });
      await record({ action: 'identity.2fa_removed', user, ip });
    },

    async regenerateRecoveryCodes(user: PublicUser, code: string, ip?: string): Promise<{ recoveryCodes: string[] }> {
      if (!(await isEnrolled(user.id))) throw new ConflictError('Turn two-factor authentication on first.');
      await verify(user, code, { ip, purpose: 'recovery_codes' });
      const recoveryCodes = await issueRecoveryCodes(user.id);
      await record({ action: 'identity.recovery_codes_regenerated', user, ip });
      return { recoveryCodes };
    },

    async status(userId: string): Promise<{ enabled: boolean; recoveryCodesLeft: number }> {
      const enabled = await isEnrolled(userId);
      const left = await db
        .selectFrom('recovery_codes')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .executeTakeFirstOrThrow();
      return { enabled, recoveryCodesLeft: enabled ? Number(left.n) : 0 };
    },
  };
}

export type SecondFactorStore = ReturnType<typeof createSecondFactorStore>;
