/**
 * Odoo password hashes, computed in Node so a tenant's admin password can be written straight
 * into `res_users.password` when a template clone gets its identity.
 *
 * Odoo stores passlib `pbkdf2_sha512` hashes: `$pbkdf2-sha512$<rounds>$<salt>$<checksum>`, salt
 * (16 bytes) and checksum (64 bytes) in passlib's "adapted base64" (standard base64 with `.`
 * instead of `+` and no `=` padding). Odoo hashes with at least 600,000 rounds (`MIN_ROUNDS` in
 * `res_users.py`) and re-hashes a weaker stored hash at the login that verifies it (passlib's
 * `needs_update`), so fewer rounds would only move the cost to the first login. That is about a
 * third of a second of CPU, so the async `pbkdf2` runs it on libuv's thread pool, not the event loop.
 */
import { pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

export const ODOO_PBKDF2_DEFAULT_ROUNDS = 600_000;
const SALT_BYTES = 16;
const KEY_BYTES = 64;
const SCHEME_PREFIX = '$pbkdf2-sha512$';
/** passlib's own upper bound; also stops a corrupted hash from pinning a CPU for hours. */
const MAX_ROUNDS = 0xffffffff;

/** passlib `ab64_encode`. */
export function adaptedBase64Encode(bytes: Buffer): string {
  return bytes.toString('base64').replaceAll('+', '.').replace(/=+$/, '');
}

/** passlib `ab64_decode`; null when the text is not adapted base64. */
export function adaptedBase64Decode(text: string): Buffer | null {
  if (!/^[A-Za-z0-9./]*$/.test(text) || text.length % 4 === 1) return null;
  return Buffer.from(text.replaceAll('.', '+'), 'base64');
}

export interface OdooPasswordHashOptions {
  /** PBKDF2 iterations; below Odoo's 600,000 the first login re-hashes the password at 600,000. */
  rounds?: number;
  /** Fixed salt, only for reproducible test vectors: production hashes use a random one. */
  salt?: Buffer;
}

function assertRounds(rounds: number): void {
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > MAX_ROUNDS) {
    throw new RangeError(`PBKDF2 rounds must be an integer between 1 and ${MAX_ROUNDS}, got ${rounds}`);
  }
}

/** Hash `password` the way Odoo's `res.users` stores it. */
export async function hashOdooPassword(password: string, options: OdooPasswordHashOptions = {}): Promise<string> {
  const rounds = options.rounds ?? ODOO_PBKDF2_DEFAULT_ROUNDS;
  assertRounds(rounds);
  const salt = options.salt ?? randomBytes(SALT_BYTES);
  const checksum = await pbkdf2Async(Buffer.from(password, 'utf8'), salt, rounds, KEY_BYTES, 'sha512');
  return `${SCHEME_PREFIX}${rounds}$${adaptedBase64Encode(salt)}$${adaptedBase64Encode(checksum)}`;
}

export interface ParsedOdooPasswordHash {
  rounds: number;
  salt: Buffer;
  checksum: Buffer;
}

/** Split a stored hash into its parts; null for anything that is not a pbkdf2-sha512 hash. */
export function parseOdooPasswordHash(hash: string): ParsedOdooPasswordHash | null {
  if (!hash.startsWith(SCHEME_PREFIX)) return null;
  const parts = hash.slice(SCHEME_PREFIX.length).split('$');
  if (parts.length !== 3) return null;
  const [roundsText, saltText, checksumText] = parts as [string, string, string];
  if (!/^[1-9][0-9]{0,9}$/.test(roundsText)) return null;
  const rounds = Number(roundsText);
  if (rounds > MAX_ROUNDS) return null;
  const salt = adaptedBase64Decode(saltText);
  const checksum = adaptedBase64Decode(checksumText);
  if (!salt || !checksum || salt.length === 0 || checksum.length !== KEY_BYTES) return null;
  return { rounds, salt, checksum };
}

/**
 * True when `password` matches `hash`. Malformed hashes verify as false (never throw), and the
 * comparison is constant-time so response timing reveals nothing about the stored checksum.
 */
export async function verifyOdooPassword(password: string, hash: string): Promise<boolean> {
  const parsed = parseOdooPasswordHash(hash);
  if (!parsed) return false;
  const candidate = await pbkdf2Async(Buffer.from(password, 'utf8'), parsed.salt, parsed.rounds, KEY_BYTES, 'sha512');
  return timingSafeEqual(candidate, parsed.checksum);
}
