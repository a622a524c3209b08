import { sql } from 'kysely';
import type { Principal } from '../auth/index.js';
import { toPublicUser } from '../auth/index.js';
import type { Db } from '../db/index.js';
import { NotFoundError } from '../errors/index.js';

export type AccountService = ReturnType<typeof createAccountService>;

/** Customer organisations. A customer sees only its own account; operators see all. */
export function createAccountService(deps: { db: Db }) {
  const { db } = deps;

  function assertCanSee(principal: Principal, accountId: string): void {
    // Another account's id answers exactly like a missing one: no existence leak.
    if (principal.role !== 'operator' && principal.accountId !== accountId) throw new NotFoundError('Account', { field: 'id' });
  }

  return {
    async list(options: { search?: string | undefined; limit: number; offset: number }) {
      let query = db
        .selectFrom('accounts')
        .leftJoin('users', 'users.account_id', 'accounts.id')
        .select(['accounts.id', 'accounts.name', 'accounts.created_at', sql<number>`count(users.id)::int`.as('userCount')])
        .groupBy('accounts.id')
        .orderBy('accounts.created_at', 'desc')
        .limit(options.limit)
        .offset(options.offset);
      if (options.search) query = query.where('accounts.name', 'ilike', `%${options.search.replace(/[\\%_]/g, '\\$&')}%`);
      const rows = await query.execute();
      return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at.toISOString(), userCount: r.userCount }));
    },

    async get(principal: Principal, accountId: string) {
      assertCanSee(principal, accountId);
      const account = await db.selectFrom('accounts').selectAll().where('id', '=', accountId).executeTakeFirst();
      if (!account) throw new NotFoundError('Account', { field: 'id' });
      const users = await db.selectFrom('users').selectAll().where('account_id', '=', accountId).orderBy('created_at').execute();
      return { id: account.id, name: account.name, createdAt: account.created_at.toISOString(), users: users.map(toPublicUser) };
    },

    /** What billing prints on an invoice and where its mails go: the account's name and its customers' emails. */
    async billingContact(accountId: string): Promise<{ name: string; emails: string[] }> {
      const account = await db.selectFrom('accounts').select('name').where('id', '=', accountId).executeTakeFirst();
      const users = await db
        .selectFrom('users')
        .select('email')
        .where('account_id', '=', accountId)
        .where('role', '=', 'customer')
        .where('disabled_at', 'is', null)
        .orderBy('created_at')
        .execute();
      return { name: account?.name ?? 'Unknown account', emails: users.map((u) => u.email) };
    },

    /**
     * Who is mailed about an account's matters (its enabled users), or about the platform's own
     * (the operators) for `null`.
     */
    async contactsOf(accountId: string | null): Promise<Array<{ email: string; name: string }>> {
      let query = db.selectFrom('users').select(['email', 'name']).where('disabled_at', 'is', null).orderBy('created_at');
      query = accountId ? query.where('account_id', '=', accountId) : query.where('role', '=', 'operator');
      return query.execute();
    },

    async listUsers(options: { role?: 'customer' | 'operator' | undefined; limit: number; offset: number }) {
      let query = db.selectFrom('users').selectAll().orderBy('created_at', 'desc').limit(options.limit).offset(options.offset);
      if (options.role) query = query.where('role', '=', options.role);
      return (await query.execute()).map(toPublicUser);
    },
  };
}
