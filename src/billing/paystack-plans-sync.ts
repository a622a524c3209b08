import type { Db } from '../db/index.js';
import type { Plan } from '../plans/index.js';
import type { PaystackPlanApi } from './gateways/paystack.js';
import { type PaystackPlanSpec, syncPaystackPlans } from './gateways/paystack-plans.js';

/**
 * The plan sync with its codes kept in `billing_paystack_plans` (migration 0034). Run at start on
 * replicas with workers (billing-wiring.ts) and by tests; idempotent (gateways/paystack-plans.ts).
 */
export function runPaystackPlanSync(deps: { db: Db; api: PaystackPlanApi; clock: () => Date }, plans: readonly Plan[]) {
  const { db, api, clock } = deps;
  return syncPaystackPlans(plans, {
    getPlan: api.getPlan,
    listPlans: api.listPlans,
    createPlan: api.createPlan,
    updatePlan: api.updatePlan,
    async storedCode(plan, interval) {
      const row = await db
        .selectFrom('billing_paystack_plans')
        .select('paystack_code')
        .where('plan', '=', plan)
        .where('interval', '=', interval)
        .executeTakeFirst();
      return row?.paystack_code ?? null;
    },
    async storeCode(spec: PaystackPlanSpec, code: string) {
      const row = {
        plan: spec.plan,
        interval: spec.interval,
        paystack_code: code,
        amount_minor: spec.amount,
        currency: spec.currency,
        synced_at: clock(),
      };
      await db
        .insertInto('billing_paystack_plans')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['plan', 'interval']).doUpdateSet({
            paystack_code: code,
            amount_minor: spec.amount,
            currency: spec.currency,
            synced_at: row.synced_at,
          }),
        )
        .execute();
    },
  });
}

/** Which of our plan prices a Paystack plan code is; null for a plan that is not ours. */
export async function ourPaystackPlan(db: Db, paystackCode: string): Promise<{ plan: string; interval: string } | null> {
  const row = await db
    .selectFrom('billing_paystack_plans')
    .select(['plan', 'interval'])
    .where('paystack_code', '=', paystackCode)
    .executeTakeFirst();
  return row ?? null;
}
