import { randomBytes, scrypt as scryptCallback, timingSafeEqual } from 'node:crypto';
import type { FieldIssue } from '../errors/index.js';

/**
 * Platform user passwords: scrypt (memory-hard) through libuv's thread pool, so hashing never
 * blocks the event loop. The parameters are stored in the hash, so raising the cost later
 * only needs `needsRehash` on the next login.
 * Format: scrypt$<log2 N>$<r>$<p>$<salt b64url>$<key b64url>
 */
const DEFAULT_LOG_N = 14; // N = 16384, 16 MiB: ~23 ms on this project's 2-core machines
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

function scrypt(password: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    scryptCallback(password.normalize('NFKC'), salt, KEY_LENGTH, { N: 2 ** logN, r, p, maxmem: 256 * 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolvePromise(key),
    );
  });
}

export async function hashPassword(password: string, logN = DEFAULT_LOG_N): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, logN, R, P);
  return ['scrypt', logN, R, P, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, logN, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !logN || !r || !p || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await scrypt(password, Buffer.from(salt, 'base64url'), Number(logN), Number(r), Number(p));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export function needsRehash(stored: string, logN = DEFAULT_LOG_N): boolean {
  return stored.split('$')[1] !== String(logN);
}

/**
 * A hash of a random password, verified against when the email is unknown so that a login for
 * a missing user takes as long as one for an existing user (no account enumeration by timing).
 */
export const timingDecoyHash = await hashPassword(randomBytes(16).toString('hex'));

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

/**
 * The password policy: at least 8 characters with lower-case, upper-case letters and a digit
 * or symbol; not the email address. Returns every problem so a form can show them all at once.
 */
export function checkPasswordPolicy(password: string, context: { email?: string } = {}, field = 'password'): FieldIssue[] {
  const problems: string[] = [];
  if (password.length < PASSWORD_MIN_LENGTH) problems.push(`must be at least ${PASSWORD_MIN_LENGTH} characters long`);
  if (password.length > PASSWORD_MAX_LENGTH) problems.push(`must be at most ${PASSWORD_MAX_LENGTH} characters long`);
  if (!/\p{Ll}/u.test(password)) problems.push('must contain a lower-case letter');
  if (!/\p{Lu}/u.test(password)) problems.push('must contain an upper-case letter');
  if (!/[\p{N}\p{P}\p{S}]/u.test(password)) problems.push('must contain a digit or a symbol');
  const email = context.email?.toLowerCase();
  if (email && (password.toLowerCase() === email || password.toLowerCase() === email.split('@')[0])) {
    problems.push('must not be your email address');
  }
  return problems.map((message) => ({ field, message: `Password ${message}.` }));
}
