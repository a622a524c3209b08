import type { Db } from '../db/index.js';

/** Links between platform users and their identities at external issuers (table `user_identities`). */
export function createIdentityLinks(db: Db) {
  return {
    async find(issuer: string, subject: string) {
      return db.selectFrom('user_identities').selectAll().where('issuer', '=', issuer).where('subject', '=', subject).executeTakeFirst();
    },
    async touch(id: string, email: string | undefined): Promise<void> {
      await db
        .updateTable('user_identities')
        .set({ last_used_at: new Date(), ...(email ? { email } : {}) })
        .where('id', '=', id)
        .execute();
    },
    /** Idempotent: a second sign-in racing the first finds the link made by the other. */
    async link(input: { userId: string; issuer: string; subject: string; email: string | undefined }): Promise<void> {
      await db
        .insertInto('user_identities')
        .values({
          user_id: input.userId,
          issuer: input.issuer,
          subject: input.subject,
          email: input.email ?? null,
          last_used_at: new Date(),
        })
        .onConflict((oc) => oc.columns(['issuer', 'subject']).doNothing())
        .execute();
    },
    async listFor(userId: string) {
      const rows = await db.selectFrom('user_identities').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
      return rows.map((row) => ({
        id: row.id,
        issuer: row.issuer,
        email: row.email,
        createdAt: row.created_at.toISOString(),
        lastUsedAt: row.last_used_at?.toISOString() ?? null,
      }));
    },
    /** Removes one of the user's own links; answers the removed link, or undefined. */
    async unlink(userId: string, id: string) {
      return db
        .deleteFrom('user_identities')
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .returning(['issuer', 'subject'])
        .executeTakeFirst();
    },
  };
}

export type IdentityLinks = ReturnType<typeof createIdentityLinks>;
