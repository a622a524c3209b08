/**
 * The live plan change of a billed tenant: what the `billing-plan-change` job does once billing
 * has decided a tenant's plan (an upgrade paid for, a trial's change, a paid first invoice, a
 * scheduled downgrade at the end of its period). The job was queued in the transaction of that
 * decision; this runs the same live plan change an operator's change-plan runs (new limits at
 * once; a migration when the plan's database or process strategy differs), through ports the
 * composition gives, so billing does not reach into tenants or migrations itself.
 *
 * Idempotent: a tenant already on the plan, or already moving to it, is left alone, so a retry
 * after a crash (between starting the change and finishing the job) starts nothing twice.
 */
import { ConflictError } from '../errors/index.js';

export interface BilledTenant {
  id: string;
  name: string;
  account_id: string;
  state: string;
  plan_code: string;
  server_id: string | null;
}

export interface PlanChangePorts {
  tenant(tenantId: string): Promise<BilledTenant | undefined>;
  /** Whether a migration of the tenant to `plan` is queued or running. */
  movingTo(tenantId: string, plan: string): Promise<boolean>;
  /** The live plan change (migration/service.ts changePlan): the migration started, if one was needed. */
  changePlan(tenant: BilledTenant, plan: string): Promise<{ migrationId: string | null }>;
  /** A tenant with no database yet (awaiting payment): only its plan code changes (its lifecycle's change_plan). */
  setPlanOfUnplaced(tenantId: string, plan: string, reason: string): Promise<boolean>;
  /** A line on the tenant's timeline. */
  note(tenantId: string, message: string): Promise<void>;
  audit(entry: { accountId: string; tenantId: string; outcome: 'success' | 'failure'; details: Record<string, unknown> }): Promise<void>;
}

/** States in which the tenant will never serve again under this subscription: nothing to change. */
const GONE = new Set(['scheduled_for_deletion', 'terminated', 'deleted']);

export async function applyBilledPlan(
  ports: PlanChangePorts,
  job: { tenantId: string; plan: string; subscriptionId: string },
): Promise<string> {
  const tenant = await ports.tenant(job.tenantId);
  if (!tenant || GONE.has(tenant.state)) return `tenant ${tenant?.state ?? 'gone'}: nothing to change`;
  if (tenant.plan_code === job.plan) return `already on plan ${job.plan}`;
  if (await ports.movingTo(tenant.id, job.plan)) return `already moving to plan ${job.plan}`;
  const reason = `billing: plan ${tenant.plan_code} -> ${job.plan} (subscription ${job.subscriptionId})`;
  const details = { from: tenant.plan_code, to: job.plan, subscriptionId: job.subscriptionId, trigger: 'plan_change' };
  if (!tenant.server_id) {
    // Not placed yet: a thrown error retries once it is (provisioning places it).
    if (!(await ports.setPlanOfUnplaced(tenant.id, job.plan, reason)))
      throw new Error(`tenant ${tenant.name} is ${tenant.state}: its plan changes once it is placed`);
    await ports.audit({ accountId: tenant.account_id, tenantId: tenant.id, outcome: 'success', details });
    return `plan ${job.plan} set`;
  }
  try {
    const { migrationId } = await ports.changePlan(tenant, job.plan);
    await ports.audit({ accountId: tenant.account_id, tenantId: tenant.id, outcome: 'success', details: { ...details, migrationId } });
    return migrationId ? `migration ${migrationId} started` : `limits of plan ${job.plan} applied`;
  } catch (error) {
    const refusals = error instanceof ConflictError ? error.details?.refusals : undefined;
    if (!refusals) throw error; // the tenant is busy (another move, a restore): retried later
    // Usage grew past the plan's limits since the change was asked for: an operator decides.
    await ports.note(
      tenant.id,
      `${reason} not applied: ${error instanceof Error ? error.message : String(error)} The subscription is billed for ${job.plan}; ` +
        'free the resources and an operator can run the change again (docs/operations/billing.md).',
    );
    await ports.audit({ accountId: tenant.account_id, tenantId: tenant.id, outcome: 'failure', details: { ...details, refusals } });
    return 'refused: the tenant does not fit the plan';
  }
}
