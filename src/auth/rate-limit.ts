import { sql } from 'kysely';
import type { Db } from '../db/index.js';

/**
 * A sliding-window counter kept in PostgreSQL, so every control-plane replica sees the same
 * count. `hit` records an attempt and says whether it is within the limit.
 */
export function createRateLimiter(deps: { db: Db }, options: { limit: number; windowSeconds: number }) {
  const { db } = deps;
  return {
    async hit(bucket: string): Promise<{ allowed: boolean; retryAfterSeconds: number }> {
      return db.transaction().execute(async (trx) => {
        // Serialise hits on one bucket so concurrent requests cannot all slip under the limit.
        await sql`SELECT pg_advisory_xact_lock(hashtextextended(${bucket}, 0))`.execute(trx);
        const recent = await trx
          .selectFrom('rate_limit_hits')
          .select([sql<number>`count(*)::int`.as('count'), sql<Date>`min(hit_at)`.as('oldest')])
          .where('bucket', '=', bucket)
          .where('hit_at', '>', sql<Date>`now() - make_interval(secs => ${options.windowSeconds})`)
          .executeTakeFirstOrThrow();
        if (recent.count >= options.limit) {
          const oldest = recent.oldest ? new Date(recent.oldest).getTime() : Date.now();
          const retryAfterSeconds = Math.max(1, Math.ceil((oldest + options.windowSeconds * 1000 - Date.now()) / 1000));
          return { allowed: false, retryAfterSeconds };
        }
        await trx.insertInto('rate_limit_hits').values({ bucket }).execute();
        return { allowed: true, retryAfterSeconds: 0 };
      });
    },
    /** Drops hits older than the window; run periodically. */
    async prune(): Promise<number> {
      const result = await db
        .deleteFrom('rate_limit_hits')
        .where('hit_at', '<', sql<Date>`now() - make_interval(secs => ${options.windowSeconds})`)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
