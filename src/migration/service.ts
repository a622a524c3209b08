import type { TenantRow } from '../db/index.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors/index.js';
import type { Plan } from '../plans/index.js';
import { connectionRoomProblem } from '../provisioning/index.js';
import {
  changeTenantState,
  placedTenantsIn,
  planChangeRefusals,
  recordTenantEvent,
  requireTransition,
  type TenantState,
} from '../tenants/index.js';
import type { MigrationDependencies } from './context.js';
import { type MigrationTarget, NothingToMigrate, type Placement, planMigration } from './plan.js';
import { dropDueSources, runMigration } from './run.js';
import { insertMigration, listMigrations, migrationById, updateMigration } from './store.js';
import type { MigrationPlanView } from './views.js';

export type MigrationService = ReturnType<typeof createMigrationService>;

type Placed = TenantRow & { server_id: string };

function placed(tenant: TenantRow): Placed {
  if (!tenant.server_id) throw new ConflictError(`Tenant ${tenant.name} has no database yet: nothing to move.`);
  return { ...tenant, server_id: tenant.server_id };
}

export function createMigrationService(deps: MigrationDependencies) {
  const { db } = deps;

  async function sourceOf(tenant: Placed): Promise<Placement> {
    const server = await deps.servers.get(tenant.server_id);
    return {
      serverId: tenant.server_id,
      databaseStrategy: server.kind === 'dedicated' ? 'dedicated' : 'shared',
      processStrategy: tenant.process_strategy,
      plan: tenant.plan_code,
    };
  }

  async function planFor(tenant: Placed, source: Placement, target: MigrationTarget): Promise<MigrationPlanView> {
    const usage = await deps.operations.usage(tenant.id);
    const sizes = { databaseBytes: usage.databaseBytes ?? 0, filestoreBytes: usage.filestoreBytes };
    try {
      return { tenant: tenant.name, ...sizes, ...planMigration(source, target, sizes) };
    } catch (error) {
      if (error instanceof NothingToMigrate)
        throw new ConflictError(`Tenant ${tenant.name} is already there: nothing to migrate.`, { field: 'toServerId' });
      throw error;
    }
  }

  /**
   * A named target must have connections left for the tenant before anything is made: a shared
   * server's max_connections must hold what the tenant's Odoo processes may open there
   * (runtimes/process/connection-budget.ts), counted without the tenant's current place. A
   * target left to the job (the roomiest shared server, a new managed one) is chosen with room
   * by its `target` step; a managed dedicated server is sized for its one tenant.
   */
  async function requireConnectionRoom(tenant: Placed, source: Placement, target: MigrationTarget, field: string): Promise<void> {
    if (!target.serverId) return;
    if (target.serverId === source.serverId && target.processStrategy === source.processStrategy) return;
    const server = await deps.servers.get(target.serverId);
    if (server.kind !== 'shared') return;
    const problem = await connectionRoomProblem(deps, server.id, target.processStrategy, tenant.id);
    if (problem)
      throw new ConflictError(
        `Database server ${server.name} has no connections left for ${tenant.name} (${target.processStrategy} Odoo processes): ${problem}. ` +
          "Move the tenant to another server, or raise that server's max_connections first (docs/operations/migration.md).",
        { field, details: { serverId: server.id, serverName: server.name, problem } },
      );
  }

  /**
   * Records the migration and queues its job, in one transaction. The tenant keeps serving until
   * the job reaches its `maintenance` step (a drain's queued tenants are not down while they
   * wait); a second migration of the same tenant is refused while one is queued or running.
   */
  async function start(
    tenant: Placed,
    source: Placement,
    target: MigrationTarget,
    estimatedDowntimeMs: number,
    trigger: 'operator' | 'drain' | 'plan_change',
    actorUserId: string | null,
  ) {
    requireTransition(tenant.state as TenantState, 'migrate');
    return db
      .transaction()
      .execute(async (trx) => {
        const row = await insertMigration(
          {
            tenant_id: tenant.id,
            trigger,
            previous_state: tenant.state,
            source_server_id: source.serverId,
            source_process_strategy: source.processStrategy,
            source_plan: source.plan,
            target_server_id: target.serverId ?? null,
            target_database_strategy: target.databaseStrategy,
            target_process_strategy: target.processStrategy,
            target_plan: target.plan,
            estimated_downtime_ms: estimatedDowntimeMs,
            created_by: actorUserId,
          },
          trx,
        );
        const jobId = await deps.jobs.send('migration', { migrationId: row.id }, { transaction: trx });
        await updateMigration(row.id, { job_id: jobId }, trx);
        await recordTenantEvent(trx, tenant.id, {
          type: 'info',
          message: `migration ${row.id} queued (${trigger.replace('_', ' ')}); estimated downtime ${(estimatedDowntimeMs / 1000).toFixed(1)} s`,
          actorUserId,
        });
        return { ...row, job_id: jobId };
      })
      .catch((error: { code?: string }) => {
        if (error.code === '23505')
          throw new ConflictError(`Tenant ${tenant.name} is already being moved: wait for that migration to end.`);
        throw error;
      });
  }

  /**
   * The plan a tenant may change to: it exists, is offered, and the tenant's usage fits its limits
   * (else a 409 naming the limit and by how much). Asked by billing before a downgrade is
   * scheduled, and by every live change.
   */
  async function requirePlanFits(tenant: TenantRow, planCode: string): Promise<Plan> {
    let plan: Plan;
    try {
      plan = await deps.plans.get(planCode);
    } catch {
      throw new ValidationError(`There is no plan ${planCode}.`, { field: 'plan' });
    }
    if (plan.archived) throw new ValidationError(`Plan ${planCode} is no longer offered.`, { field: 'plan' });
    const usage = await deps.operations.usage(tenant.id);
    const refusals = planChangeRefusals(plan, usage);
    if (refusals.length > 0)
      throw new ConflictError(`Plan ${planCode} is too small for ${tenant.name} now: ${refusals.map((r) => r.message).join('; ')}.`, {
        field: 'plan',
        details: { refusals },
      });
    return plan;
  }

  function requireMovable(tenant: TenantRow): void {
    if (!['running', 'stopped'].includes(tenant.state)) requireTransition(tenant.state as TenantState, 'migrate');
  }

  return {
    /**
     * Moves a tenant to another database server (`toServerId`) and/or process strategy. With
     * `dryRun` answers what would happen and the estimated downtime, changing nothing.
     */
    async migrateTenant(
      tenant: TenantRow,
      input: { toServerId?: string | undefined; processStrategy?: 'pool' | 'dedicated' | undefined; dryRun?: boolean | undefined },
      actorUserId: string | null,
      trigger: 'operator' | 'drain' = 'operator',
    ) {
      const current = placed(tenant);
      requireMovable(current);
      const source = await sourceOf(current);
      let target: MigrationTarget = {
        serverId: current.server_id,
        databaseStrategy: source.databaseStrategy,
        processStrategy: source.processStrategy,
        plan: source.plan,
      };
      if (input.toServerId) {
        const server = await deps.servers.get(input.toServerId).catch(() => {
          throw new NotFoundError('Database server', { field: 'toServerId' });
        });
        if (server.id !== current.server_id && server.status !== 'active')
          throw new ConflictError(`Database server ${server.name} is ${server.status}: tenants move only to active servers.`, {
            field: 'toServerId',
          });
        target = { ...target, serverId: server.id, databaseStrategy: server.kind === 'dedicated' ? 'dedicated' : 'shared' };
      }
      if (input.processStrategy) target = { ...target, processStrategy: input.processStrategy };
      const plan = await planFor(current, source, target);
      await requireConnectionRoom(current, source, target, input.toServerId ? 'toServerId' : 'processStrategy');
      if (input.dryRun) return { plan, migration: undefined };
      return { plan, migration: await start(current, source, target, plan.estimatedDowntimeMs, trigger, actorUserId) };
    },

    /**
     * Changes a tenant's plan. Limits apply at once; when the plan's database or process strategy
     * differs it is a migration (preceded by a verified backup). A downgrade the tenant's usage
     * does not fit is refused (409) naming the limit and by how much.
     */
    async changePlan(tenant: TenantRow, planCode: string, actorUserId: string | null, options: { dryRun?: boolean | undefined } = {}) {
      const current = placed(tenant);
      requireTransition(current.state as TenantState, 'change_plan');
      if (current.plan_code === planCode)
        throw new ConflictError(`Tenant ${tenant.name} is already on plan ${planCode}.`, { field: 'plan' });
      const plan = await requirePlanFits(current, planCode);
      const source = await sourceOf(current);
      const databaseStrategy = plan.placement.databaseStrategy === 'dedicated' ? 'dedicated' : 'shared';
      const target: MigrationTarget = {
        serverId: databaseStrategy === source.databaseStrategy ? current.server_id : undefined,
        databaseStrategy,
        processStrategy: plan.placement.processStrategy,
        plan: plan.code,
      };
      const planned = await planFor(current, source, target);
      await requireConnectionRoom(current, source, target, 'plan');
      if (options.dryRun) return { plan: planned, migration: undefined };
      if (!planned.movesDatabase && !planned.changesProcess) {
        // Same placement: the new limits are read from the plan from now on (users, storage), and a
        // runtime that can change a running Odoo's CPU/memory limits does so at once.
        await changeTenantState(db, current.id, 'change_plan', {
          actorUserId,
          reason: `plan ${current.plan_code} -> ${plan.code}`,
          extra: { plan_code: plan.code },
        });
        const { cpu, memoryMiB, storageGiB } = plan.limits;
        await deps.runtimes.for(current).updateLimits?.(current.id, { cpu, memoryMiB, storageGiB }, plan.code);
        return { plan: planned, migration: undefined };
      }
      if (!['running', 'stopped'].includes(current.state))
        throw new ConflictError(
          `Tenant ${tenant.name} is ${current.state.replaceAll('_', ' ')}: plan ${planCode} needs a move, which runs once it is running or stopped.`,
          { field: 'plan' },
        );
      return { plan: planned, migration: await start(current, source, target, planned.estimatedDowntimeMs, 'plan_change', actorUserId) };
    },

    requirePlanFits,

    /** Whether a migration of the tenant to `planCode` is queued or running (a plan change already under way). */
    async movingTo(tenantId: string, planCode: string): Promise<boolean> {
      return (await listMigrations(db, { tenantId })).some((row) => row.state === 'running' && row.target_plan === planCode);
    },

    /** Moves every tenant off a server (to the shared servers with the most room); the server is marked draining first. */
    async drain(serverId: string, actorUserId: string | null, dryRun = false) {
      const server = await deps.servers.get(serverId);
      const tenants = (await placedTenantsIn(['running', 'stopped'], db)).filter((tenant) => tenant.server_id === serverId);
      if (!dryRun) await deps.servers.update(serverId, { status: 'draining' });
      const results = [];
      for (const tenant of tenants) {
        const current = placed(tenant);
        const source = await sourceOf(current);
        const target: MigrationTarget = {
          serverId: undefined,
          databaseStrategy: 'shared',
          processStrategy: source.processStrategy,
          plan: source.plan,
        };
        const plan = await planFor(current, source, target);
        results.push({
          plan,
          migration: dryRun ? undefined : await start(current, source, target, plan.estimatedDowntimeMs, 'drain', actorUserId),
        });
      }
      return { server, results };
    },

    async get(id: string) {
      const row = await migrationById(id, db);
      if (!row) throw new NotFoundError('Migration', { field: 'id' });
      return row;
    },

    list: (filter: { tenantId?: string } = {}) => listMigrations(db, filter),
    dropDueSources: (now?: Date) => dropDueSources(deps, now),

    async registerJobs(work: boolean): Promise<void> {
      await deps.jobs.define('migration', async ({ migrationId }, attempt) => runMigration(deps, migrationId, attempt), work);
      await deps.jobs.define('migration-source-drop', async () => void (await dropDueSources(deps)), work);
    },
  };
}
