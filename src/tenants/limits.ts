import type { Transaction } from 'kysely';
import type { Database, Db } from '../db/index.js';
import { ConflictError, NotFoundError, RateLimitError } from '../errors/index.js';
import { storedPlanLimits } from '../plans/index.js';
import type { TenantState } from './lifecycle.js';
import { creationsByCustomers, tenantsPerPlan } from './store.js';

/**
 * Per-account limits on tenants: how many one account may hold on a plan
 * (`limits.maxTenantsPerAccount`) and how many it may create per hour. Both are checked inside
 * the transaction that inserts (or reactivates) the tenant, after `lockAccountTenants`, so
 * concurrent requests of one account are counted one after the other and no race lets an extra
 * tenant in. Operators are exempt: callers skip these checks for them.
 */

/**
 * A tenant holds a place on its plan in every state but these two. A tenant scheduled for
 * deletion still holds it (the deletion can be cancelled within 12 h); a terminated one does not
 * (its data is only kept so it can be reactivated, and reactivating checks for room again).
 */
export const STATES_WITHOUT_A_PLACE: readonly TenantState[] = ['terminated', 'deleted'];

const HOUR_SECONDS = 3600;

type Transactional = Transaction<Database>;

/** Serialises the tenant-creating work of one account until the transaction ends. */
export async function lockAccountTenants(trx: Transactional, accountId: string): Promise<void> {
  // FOR NO KEY UPDATE conflicts with itself but not with the key-share locks that inserting rows
  // referencing the account take, so only the limit checks of one account queue behind each other.
  const account = await trx.selectFrom('accounts').select('id').where('id', '=', accountId).forNoKeyUpdate().executeTakeFirst();
  if (!account) throw new NotFoundError('Account', { field: 'accountId' });
}

/** How many tenants of the account hold a place on each plan. */
export async function placesHeld(db: Transactional | Db, accountId: string): Promise<Map<string, number>> {
  return tenantsPerPlan(accountId, STATES_WITHOUT_A_PLACE, db);
}

/** What the customer was doing when the limit refused it: decides the advice in the refusal. */
export type PlaceRequest = 'create' | 'duplicate' | 'reactivate';

/** The customer-facing refusal when the account already holds all its places on the plan. Pure. */
export function planLimitRefusal(
  plan: { name: string; maxTenantsPerAccount: number | null },
  held: number,
  request: PlaceRequest,
): string | undefined {
  const max = plan.maxTenantsPerAccount;
  if (max === null || held < max) return undefined;
  const [tenants, them] = held === 1 ? ['1 tenant', 'it'] : [`${held} tenants`, 'one of them'];
  const advice: Record<PlaceRequest, string> = {
    create: `Delete ${them} or choose another plan.`,
    duplicate: `A staging copy is a tenant on the same plan: delete ${them} first, or copy a tenant on a larger plan.`,
    reactivate: `Delete ${them} first, then reactivate this one.`,
  };
  return `Your account already has ${tenants} on the ${plan.name} plan, the most this plan allows. ${advice[request]}`;
}

/** 409 naming the plan when the account may not hold one more tenant on it. */
export async function requirePlanRoom(
  trx: Transactional,
  input: { accountId: string; planCode: string; request: PlaceRequest },
): Promise<void> {
  const plan = await trx
    .selectFrom('plans')
    .select(['code', 'name', 'limits'])
    .where('code', '=', input.planCode)
    .executeTakeFirstOrThrow();
  const { maxTenantsPerAccount } = storedPlanLimits(plan);
  if (maxTenantsPerAccount === null) return;
  const held = (await placesHeld(trx, input.accountId)).get(input.planCode) ?? 0;
  const refusal = planLimitRefusal({ name: plan.name, maxTenantsPerAccount }, held, input.request);
  if (refusal) throw new ConflictError(refusal, { field: 'plan' });
}

/**
 * 429 when the account created `perHour` tenants in the last hour (staging copies and tenants
 * deleted since included; those made by operators not). The count is of tenants really created,
 * so a refused request does not use up the allowance.
 */
export async function requireCreationAllowance(trx: Transactional, input: { accountId: string; perHour: number }): Promise<void> {
  if (input.perHour === 0) return;
  const recent = await creationsByCustomers(input.accountId, HOUR_SECONDS, trx);
  if (recent.count < input.perHour) return;
  const retryAfter = Math.max(1, recent.retryAfter);
  throw new RateLimitError(
    `Your account has created ${recent.count} tenants in the last hour, the most allowed; try again in ${retryAfter} s.`,
    retryAfter,
  );
}
