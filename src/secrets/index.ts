import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

export { redactCredentials } from './redact.js';

/**
 * Authenticated encryption (AES-256-GCM) for secrets stored in the database, such as database
 * server admin URLs. Ciphertexts name the key they were made with, so keys can be rotated:
 * encrypt always uses the current key, decrypt accepts the current and the previous ones, and
 * `needsRotation` tells which stored values should be re-encrypted.
 *
 * Format: `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url parts).
 */
export interface SecretBox {
  encrypt(plaintext: string): string;
  decrypt(sealed: string): string;
  needsRotation(sealed: string): boolean;
  /** Derives a purpose-bound key from the current secret (e.g. for signing tokens). */
  deriveKey(purpose: string): Buffer;
}

interface Key {
  id: string;
  material: Buffer;
}

function toKey(secret: string): Key {
  const material = Buffer.from(hkdfSync('sha256', secret, 'saas-platform', 'secret-box-v1', 32));
  const id = createHash('sha256').update(material).digest('hex').slice(0, 8);
  return { id, material };
}

export function createSecretBox(currentSecret: string, previousSecrets: string[] = []): SecretBox {
  const current = toKey(currentSecret);
  const keys = new Map<string, Key>([current, ...previousSecrets.map(toKey)].map((k) => [k.id, k]));

  return {
    encrypt(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current.material, iv);
      cipher.setAAD(Buffer.from(current.id));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return ['v1', current.id, iv.toString('base64url'), tag.toString('base64url'), ciphertext.toString('base64url')].join('.');
    },
    decrypt(sealed) {
      const [version, keyId, iv, tag, ciphertext] = sealed.split('.');
      if (version !== 'v1' || !keyId || !iv || !tag || ciphertext === undefined) {
        throw new Error('Not an encrypted secret (expected v1 format).');
      }
      const key = keys.get(keyId);
      if (!key) throw new Error(`Secret was encrypted with unknown key ${keyId}; add the old key to SECRET_KEY_PREVIOUS.`);
      const decipher = createDecipheriv('aes-256-gcm', key.material, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(keyId));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    },
    needsRotation(sealed) {
      return sealed.split('.')[1] !== current.id;
    },
    deriveKey(purpose) {
      return Buffer.from(hkdfSync('sha256', currentSecret, 'saas-platform', `purpose:${purpose}`, 32));
    },
  };
}
