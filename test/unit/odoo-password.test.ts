import { describe, expect, it } from 'vitest';
import {
  adaptedBase64Decode,
  adaptedBase64Encode,
  hashOdooPassword,
  ODOO_PBKDF2_DEFAULT_ROUNDS,
  parseOdooPasswordHash,
  verifyOdooPassword,
} from '../../src/odoo/index.js';

/*
 * Reference vectors computed independently with Python's standard library (what passlib uses):
 *   python3 -c "import hashlib,base64
 *   ab=lambda b: base64.b64encode(b).decode().replace('+','.').rstrip('=')
 *   dk=hashlib.pbkdf2_hmac('sha512', PASSWORD.encode(), SALT, ROUNDS, 64)
 *   print('\$pbkdf2-sha512\$%d\$%s\$%s' % (ROUNDS, ab(SALT), ab(dk)))"
 */
const VECTOR_ASCII = {
  password: 'correct horse battery staple',
  salt: Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]), // bytes(range(16))
  rounds: 1000,
  hash: '$pbkdf2-sha512$1000$AAECAwQFBgcICQoLDA0ODw$A6AmFIti7CKlYdoPiV9jf1d9llp37o27Wms8Zx8fwMJGCOigJzAthOW3Pg.XF5PnNiYnsQsIz1N5NtynrEm78w',
};
// Non-ASCII password (UTF-8 encoded) and a salt whose base64 contains '+' (written as '.').
const VECTOR_UTF8 = {
  password: 'pässwörd',
  salt: Buffer.concat([Buffer.from([0xfb, 0xff, 0xfe]), Buffer.alloc(13)]), // b'\xfb\xff\xfe' + bytes(13)
  rounds: 25,
  hash: '$pbkdf2-sha512$25$.//.AAAAAAAAAAAAAAAAAA$.OXS86KUulSU2qdpWW3ja27.iOJhByEOOvjz9KeF8HM3i.jDLrqEG.w8q9r.D7HqKVW6kR/ZWv7XURz18o4odA',
};

describe('Odoo pbkdf2-sha512 password hashes', () => {
  it('produces exactly the reference hash for a fixed salt', async () => {
    for (const vector of [VECTOR_ASCII, VECTOR_UTF8]) {
      expect(await hashOdooPassword(vector.password, { rounds: vector.rounds, salt: vector.salt })).toBe(vector.hash);
    }
  });

  it('verifies the reference hashes and rejects wrong passwords', async () => {
    expect(await verifyOdooPassword(VECTOR_ASCII.password, VECTOR_ASCII.hash)).toBe(true);
    expect(await verifyOdooPassword(VECTOR_UTF8.password, VECTOR_UTF8.hash)).toBe(true);
    expect(await verifyOdooPassword('correct horse battery stapl', VECTOR_ASCII.hash)).toBe(false);
    expect(await verifyOdooPassword('passwörd', VECTOR_UTF8.hash)).toBe(false);
  });

  it('uses 600000 rounds and a random 16-byte salt by default, and round-trips', async () => {
    const hash = await hashOdooPassword('S3cure-admin!');
    expect(hash).toMatch(/^\$pbkdf2-sha512\$600000\$[A-Za-z0-9./]{22}\$[A-Za-z0-9./]{86}$/);
    const parsed = parseOdooPasswordHash(hash);
    expect(parsed?.rounds).toBe(ODOO_PBKDF2_DEFAULT_ROUNDS);
    expect(parsed?.salt.length).toBe(16);
    expect(parsed?.checksum.length).toBe(64);
    expect(await verifyOdooPassword('S3cure-admin!', hash)).toBe(true);
    expect(await verifyOdooPassword('s3cure-admin!', hash)).toBe(false);
    expect(await hashOdooPassword('S3cure-admin!', { rounds: 1 })).not.toBe(await hashOdooPassword('S3cure-admin!', { rounds: 1 }));
  });

  it('does not block the event loop while hashing', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    await hashOdooPassword('x', { rounds: 200_000 });
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(0);
  });

  it('treats malformed hashes as non-matching instead of throwing', async () => {
    const malformed = [
      '',
      'admin',
      '$pbkdf2-sha256$1000$AAECAwQFBgcICQoLDA0ODw$A6Am',
      '$pbkdf2-sha512$0$AAECAwQFBgcICQoLDA0ODw$A6Am',
      '$pbkdf2-sha512$abc$AAECAwQFBgcICQoLDA0ODw$A6Am',
      '$pbkdf2-sha512$99999999999$AAECAwQFBgcICQoLDA0ODw$A6Am',
      '$pbkdf2-sha512$1000$AAEC+wQF$A6Am',
      '$pbkdf2-sha512$1000$AAECAwQFBgcICQoLDA0ODw$short',
      `${VECTOR_ASCII.hash}$extra`,
    ];
    for (const hash of malformed) {
      expect(await verifyOdooPassword('anything', hash)).toBe(false);
    }
  });

  it('refuses nonsense round counts when hashing', async () => {
    await expect(hashOdooPassword('x', { rounds: 0 })).rejects.toThrow(RangeError);
    await expect(hashOdooPassword('x', { rounds: 1.5 })).rejects.toThrow(RangeError);
  });

  it("encodes passlib's adapted base64", () => {
    expect(adaptedBase64Encode(Buffer.from([0xfb, 0xff, 0xfe]))).toBe('.//.');
    expect(adaptedBase64Encode(Buffer.from([0xfb, 0xff]))).toBe('./8');
    expect(adaptedBase64Decode('.//.')).toEqual(Buffer.from([0xfb, 0xff, 0xfe]));
    expect(adaptedBase64Decode('./8')).toEqual(Buffer.from([0xfb, 0xff]));
    expect(adaptedBase64Decode('a+b=')).toBeNull();
  });
});
