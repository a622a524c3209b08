/**
 * Our plan catalog as Paystack plans (`/plan`), so that a Paystack subscription or invoice event
 * can be told apart: on one of our plans (and which), or someone else's on the same Paystack
 * account. The platform still renews and charges itself (docs/operations/billing.md, "Paystack
 * subscriptions: why the platform does not let Paystack renew"); these plans carry no
 * subscriptions of ours.
 *
 * The sync is idempotent and safe to interrupt: each plan price is looked up by its stored code,
 * else by its name among Paystack's plans (a sync killed between Paystack's answer and our record
 * finds the plan it made instead of making another), then created or updated only where it
 * differs, and its code stored.
 */
import type { Plan } from '../../plans/index.js';
import { money, taxOn } from '../money.js';

/** One of our prices as a Paystack plan: what we ask Paystack to hold. */
export interface PaystackPlanSpec {
  plan: string;
  interval: 'month' | 'year';
  /** Unique among our plans and readable in Paystack's dashboard. */
  name: string;
  /** What one period costs with tax (our base renewal invoice's total; usage is billed apart). */
  amount: number;
  currency: string;
  paystackInterval: 'monthly' | 'annually';
}

/** A plan as Paystack's `/plan` answers it (the fields we read). */
export interface PaystackPlan {
  id?: number;
  name: string;
  plan_code: string;
  amount: number;
  interval: string;
  currency: string;
}

/** The Paystack plans our catalog asks for: every paid price of every plan still offered. Pure. */
export function paystackPlanSpecs(plans: readonly Plan[]): PaystackPlanSpec[] {
  const specs: PaystackPlanSpec[] = [];
  for (const plan of plans) {
    if (plan.archived) continue;
    for (const price of plan.prices) {
      if (price.amountCents <= 0) continue;
      const net = money(price.amountCents, price.currency);
      const tax = taxOn(net, price.taxRateBasisPoints ?? 0);
      specs.push({
        plan: plan.code,
        interval: price.interval,
        name: `odoo-saas ${plan.code} ${price.interval}ly`,
        amount: price.amountCents + tax.amountMinor,
        currency: price.currency,
        paystackInterval: price.interval === 'month' ? 'monthly' : 'annually',
      });
    }
  }
  return specs;
}

/** What has to change at Paystack for a spec, given the plan found there (null: none yet). Pure. */
export function planChange(spec: PaystackPlanSpec, found: PaystackPlan | null): 'create' | 'update' | 'none' {
  if (!found) return 'create';
  return found.amount === spec.amount && found.currency.toUpperCase() === spec.currency && found.interval === spec.paystackInterval
    ? 'none'
    : 'update';
}

/** The Paystack calls the sync makes (the gateway's client), and where codes are kept. */
export interface PaystackPlanPorts {
  getPlan(code: string): Promise<PaystackPlan | null>;
  listPlans(): Promise<PaystackPlan[]>;
  createPlan(spec: PaystackPlanSpec): Promise<PaystackPlan>;
  updatePlan(code: string, spec: PaystackPlanSpec): Promise<void>;
  storedCode(plan: string, interval: string): Promise<string | null>;
  storeCode(spec: PaystackPlanSpec, code: string): Promise<void>;
}

/** Brings Paystack's plans in line with the catalog; answers what it did per plan price. */
export async function syncPaystackPlans(
  plans: readonly Plan[],
  ports: PaystackPlanPorts,
): Promise<Array<{ plan: string; interval: string; code: string; change: 'create' | 'update' | 'none' }>> {
  const done: Array<{ plan: string; interval: string; code: string; change: 'create' | 'update' | 'none' }> = [];
  let listed: PaystackPlan[] | null = null;
  for (const spec of paystackPlanSpecs(plans)) {
    const stored = await ports.storedCode(spec.plan, spec.interval);
    let found = stored ? await ports.getPlan(stored) : null;
    if (!found) {
      listed ??= await ports.listPlans();
      found = listed.find((p) => p.name === spec.name) ?? null;
    }
    const change = planChange(spec, found);
    let code = found?.plan_code ?? '';
    if (change === 'create') code = (await ports.createPlan(spec)).plan_code;
    else if (change === 'update') await ports.updatePlan(code, spec);
    if (code !== stored || change !== 'none') await ports.storeCode(spec, code);
    done.push({ plan: spec.plan, interval: spec.interval, code, change });
  }
  return done;
}
