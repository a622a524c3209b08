import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed download links: `<payload>.<signature>`, the payload naming the backup, who asked and
 * when the link stops working, signed with a key derived for this purpose only. The link is the
 * credential (a browser download carries no token), so it is short-lived and bound to one backup.
 */
export interface DownloadGrant {
  backupId: string;
  userId: string;
  /** Seconds since the epoch. */
  expiresAt: number;
}

export type LinkCheck = { ok: true; grant: DownloadGrant } | { ok: false; reason: 'malformed' | 'tampered' | 'expired' };

function sign(key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url');
}

export function signDownloadLink(key: Buffer, grant: DownloadGrant): string {
  const payload = Buffer.from(JSON.stringify({ b: grant.backupId, u: grant.userId, e: grant.expiresAt })).toString('base64url');
  return `${payload}.${sign(key, payload)}`;
}

export function checkDownloadLink(key: Buffer, token: string, now: Date): LinkCheck {
  const [payload, signature, extra] = token.split('.');
  if (!payload || !signature || extra !== undefined) return { ok: false, reason: 'malformed' };
  const expected = Buffer.from(sign(key, payload));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'tampered' };
  let decoded: { b?: unknown; u?: unknown; e?: unknown };
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (typeof decoded.b !== 'string' || typeof decoded.u !== 'string' || typeof decoded.e !== 'number')
    return { ok: false, reason: 'malformed' };
  if (decoded.e * 1000 <= now.getTime()) return { ok: false, reason: 'expired' };
  return { ok: true, grant: { backupId: decoded.b, userId: decoded.u, expiresAt: decoded.e } };
}
