import type { Db, TenantRow } from '../db/index.js';
import { hashOdooPassword } from '../odoo/index.js';
import { changeTenantState, recordTenantEvent, updateTenant } from '../tenants/index.js';
import { loadProvisioningContext, type PlacementContext } from './context.js';
import { loadTenant, type ProvisioningDependencies } from './dependencies.js';
import { removeTenantResources } from './resources.js';
import { createCrashInjection, runSteps, type StepJournal } from './runner.js';
import { PLACED_STEPS, PROVISIONING_STEPS, placementStep, templateStep } from './steps/index.js';

/**
 * The tenant's row as the journal of its provisioning: `provisioning_step` is the last step
 * finished (so the steps before it are too), and each step done goes on the timeline.
 */
function tenantStepJournal(db: Db, tenant: TenantRow): StepJournal {
  const order: readonly string[] = PROVISIONING_STEPS;
  const finishedUpTo = tenant.provisioning_step ? order.indexOf(tenant.provisioning_step) : -1;
  return {
    finishedBefore: (step) => {
      const index = order.indexOf(step);
      return index >= 0 && index <= finishedUpTo;
    },
    async record(step, elapsedMs) {
      await updateTenant(tenant.id, { provisioning_step: step }, db);
      await recordTenantEvent(db, tenant.id, {
        type: 'step',
        step,
        message: `${step.replace('_', ' ')} done in ${Math.round(elapsedMs)} ms`,
      });
    },
  };
}

/**
 * One attempt at provisioning a tenant: its template (waiting while it is built), placement,
 * then the context loaded once, then the placed steps; steps an earlier attempt finished are kept when their end state holds.
 */
export async function provision(deps: ProvisioningDependencies, tenantId: string): Promise<void> {
  const { db } = deps;
  const tenant = await loadTenant(db, tenantId);
  if (tenant?.state !== 'provisioning') return; // done already, or deleted meanwhile
  if (!tenant.admin_password_check_encrypted) throw new Error('The admin password is gone: delete this tenant and create it again.');
  const adminPassword = deps.secretBox.decrypt(tenant.admin_password_check_encrypted);
  // PBKDF2 (~0.3-0.5 s on the thread pool) from the start: the identity step waits for it.
  const passwordHash = hashOdooPassword(adminPassword);
  passwordHash.catch(() => undefined); // awaited by the identity step; a failure shows there
  if (!tenant.provision_started_at) {
    await updateTenant(tenant.id, { provision_started_at: new Date() }, db);
  }
  const journal = tenantStepJournal(db, tenant);
  const crashPoint = createCrashInjection(deps.crashAfterStep, deps.logger);

  const placement: PlacementContext = { deps, tenant, plan: await deps.plans.get(tenant.plan_code) };
  await runSteps([templateStep, placementStep], placement, journal, crashPoint);
  const serverId = placement.tenant.server_id;
  if (!serverId) throw new Error('Placement chose no database server.'); // its end-state check has failed already
  const placed = { ...placement, tenant: { ...placement.tenant, server_id: serverId } };
  const loaded = await loadProvisioningContext(placed, { password: adminPassword, passwordHash }, crashPoint);
  // One kept admin connection, and one per database, for all the steps: each new connection costs
  // a backend start and a password handshake, more than most of the statements (the steps' own
  // sessions nest in this one). The steps use them one at a time.
  const context = await loaded.ops.session(async (ops) => {
    const inSession = { ...loaded, ops };
    await runSteps(PLACED_STEPS, inSession, journal, crashPoint);
    return inSession;
  });
  // The spare this tenant took is replaced now that it is done, not while it was being made.
  if (context.source.kind === 'spare') await deps.spares.requestRefill(serverId);

  await changeTenantState(db, tenant.id, 'provisioning_succeeded', { reason: 'database ready' });
  await changeTenantState(db, tenant.id, 'start_succeeded', {
    reason: 'admin login checked',
    extra: { admin_password_check_encrypted: null, provision_finished_at: new Date(), job_id: null },
  });
  if (tenant.restore_id) await deps.archives?.settle(tenant.restore_id, { state: 'succeeded' });
}

/** After the last failed attempt: nothing half-made is left, and a retry starts over. */
export async function undoProvisioning(deps: ProvisioningDependencies, tenant: TenantRow): Promise<void> {
  const { db } = deps;
  await removeTenantResources(deps, (await loadTenant(db, tenant.id)) ?? tenant).catch((error: unknown) =>
    deps.logger.error({ err: error, tenant: tenant.name }, 'cleanup after failed provisioning failed'),
  );
  await updateTenant(tenant.id, { server_id: null, provisioning_step: null, spare_database: null }, db);
  // A spare it took is replaced (a successful provisioning asks at its end).
  if (tenant.server_id && tenant.spare_database) await deps.spares.requestRefill(tenant.server_id).catch(() => undefined);
  if (tenant.restore_id)
    await deps.archives?.settle(tenant.restore_id, {
      state: 'failed',
      reason: 'the tenant could not be made from the archive (see its timeline)',
    });
}
