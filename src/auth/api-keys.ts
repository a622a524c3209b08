import type { Db } from '../db/index.js';
import { NotFoundError } from '../errors/index.js';
import type { Principal } from './principal.js';
import { digestToken, generateOpaqueToken } from './tokens.js';

/** API keys (the `api_keys` table): shown once, stored as SHA-256. */
export function createApiKeyStore(db: Db) {
  return {
    async createApiKey(principal: Principal, name: string) {
      const key = generateOpaqueToken('sk');
      const row = await db
        .insertInto('api_keys')
        .values({ user_id: principal.userId, name, prefix: key.slice(0, 10), key_hash: digestToken(key) })
        .returningAll()
        .executeTakeFirstOrThrow();
      return { ...toPublicApiKey(row), key };
    },

    async listApiKeys(principal: Principal) {
      const rows = await db
        .selectFrom('api_keys')
        .selectAll()
        .where('user_id', '=', principal.userId)
        .where('revoked_at', 'is', null)
        .orderBy('created_at', 'desc')
        .execute();
      return rows.map(toPublicApiKey);
    },

    async revokeApiKey(principal: Principal, id: string): Promise<void> {
      const row = await db
        .selectFrom('api_keys')
        .select(['id', 'user_id'])
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      // Someone else's key is reported as missing, so its existence does not leak.
      if (!row || (row.user_id !== principal.userId && principal.role !== 'operator')) throw new NotFoundError('API key', { field: 'id' });
      await db.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', id).execute();
    },
  };
}

function toPublicApiKey(row: { id: string; name: string; prefix: string; created_at: Date; last_used_at: Date | null }) {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
  };
}
