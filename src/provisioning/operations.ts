import type { Transaction } from 'kysely';
import type { Database, TenantRow } from '../db/index.js';
import { JOB_CATALOG, type JobAttempt, type JobPayload, type QueueName, type TenantOperation } from '../jobs/index.js';
import { changeTenantState, recordTenantEvent, updateTenant } from '../tenants/index.js';
import { type ArchiveLoader, loadTenant, type ProvisioningDependencies } from './dependencies.js';
import { provision, undoProvisioning } from './provision.js';
import { removeTenantResources } from './resources.js';
import { runAttempt } from './runner.js';
import { loadServeSpec } from './serve-spec.js';
import { deactivateExcessUsers, tenantUsage } from './usage.js';

export const TENANT_OPS_QUEUE = 'tenant-ops' satisfies QueueName;
export type TenantOperationJob = JobPayload<typeof TENANT_OPS_QUEUE>;

/** What one tenant operation does, and whether a failure is retried and cleaned up after. */
interface OperationDefinition {
  run: (tenant: TenantRow) => Promise<void>;
  /** Retried up to the queue's limit (JOB_CATALOG); otherwise the first failure is final. */
  retried?: boolean;
  /** Removes what the failed attempts made, after the last one. */
  cleanUp?: (tenant: TenantRow) => Promise<void>;
}

export type TenantOperations = ReturnType<typeof createTenantOperations>;

export function createTenantOperations(deps: ProvisioningDependencies) {
  const { db, logger } = deps;

  async function serve(tenant: TenantRow): Promise<void> {
    const start = async () => deps.runtimes.for(tenant).serve(await loadServeSpec(deps, tenant));
    // A hibernated dedicated server is woken first and kept awake until Odoo is served (from then on
    // the served tenant keeps it awake).
    await (tenant.server_id ? deps.servers.whileAwake(tenant.server_id, start) : start());
  }

  const operations: Record<TenantOperation, OperationDefinition> = {
    provision: {
      run: (tenant) => provision(deps, tenant.id),
      retried: true,
      // Leave nothing half-made: the tenant goes to `error` with no database, role or process.
      cleanUp: (tenant) => undoProvisioning(deps, tenant),
    },
    start: {
      async run(tenant) {
        if (tenant.state !== 'starting') return;
        await serve(tenant);
        await changeTenantState(db, tenant.id, 'start_succeeded', { reason: 'Odoo is serving' });
      },
    },
    restart: {
      async run(tenant) {
        if (tenant.state !== 'starting') return;
        await deps.runtimes.for(tenant).unserve(tenant.id);
        await serve(tenant);
        await changeTenantState(db, tenant.id, 'start_succeeded', { reason: 'restarted' });
      },
    },
    stop: {
      async run(tenant) {
        if (tenant.state !== 'stopping') return;
        await deps.runtimes.for(tenant).unserve(tenant.id);
        await changeTenantState(db, tenant.id, 'stop_succeeded', { reason: 'Odoo stopped' });
      },
    },
    unserve: {
      async run(tenant) {
        await deps.runtimes.for(tenant).unserve(tenant.id);
      },
    },
    deprovision: {
      async run(tenant) {
        if (tenant.state !== 'deleted') return;
        // Dropping its database and role needs its server up, even a hibernated one.
        const remove = () => removeTenantResources(deps, tenant);
        await (tenant.server_id ? deps.servers.whileAwake(tenant.server_id, remove) : remove());
        await updateTenant(
          tenant.id,
          { deleted_at: new Date(), admin_password_check_encrypted: null, pending_admin_password_hash: null },
          db,
        );
        await recordTenantEvent(db, tenant.id, { type: 'info', message: 'database, role, filestore and processes removed' });
      },
    },
  };

  async function runOperation(job: TenantOperationJob, attempt: JobAttempt): Promise<void> {
    const tenant = await loadTenant(db, job.tenantId);
    if (!tenant) return;
    const { run, retried, cleanUp } = operations[job.operation];
    await runAttempt(
      () => run(tenant),
      { retryCount: attempt.retryCount, retryLimit: retried ? JOB_CATALOG[TENANT_OPS_QUEUE].retryLimit : 0 },
      {
        retrying: async (error) => {
          await recordTenantEvent(db, tenant.id, {
            type: 'error',
            message: `attempt ${attempt.retryCount + 1} failed, retrying: ${error.message}`,
          });
        },
        cleanUp: cleanUp && (() => cleanUp(tenant)),
        failed: async (error) => {
          const message = error.message.slice(0, 2000);
          await recordTenantEvent(db, tenant.id, { type: 'error', message });
          await changeTenantState(db, tenant.id, 'operation_failed', { reason: message }).catch((refused: unknown) =>
            logger.warn({ err: refused, tenant: tenant.name }, 'could not mark the tenant as failed'),
          );
        },
        logger,
        logContext: { tenant: tenant.name, operation: job.operation },
      },
    );
  }

  return {
    async registerJobs(work: boolean): Promise<void> {
      await deps.jobs.define(TENANT_OPS_QUEUE, runOperation, work);
    },

    /** Queues an operation (in the caller's transaction, if any); one tenant's operations run in order. */
    async enqueue(tenantId: string, operation: TenantOperation, trx?: Transaction<Database>): Promise<string> {
      const jobId = await deps.jobs.send(TENANT_OPS_QUEUE, { tenantId, operation }, { key: tenantId, transaction: trx });
      await updateTenant(tenantId, { job_id: jobId }, trx ?? db);
      return jobId;
    },

    usage: (tenantId: string) => tenantUsage(deps, tenantId),
    deactivateExcessUsers: (tenantId: string, limit: number) => deactivateExcessUsers(deps, tenantId, limit),

    /** Tenants made from backup zips are filled by this loader (restores/, composed after provisioning). */
    fillFromArchives(loader: ArchiveLoader): void {
      deps.archives = loader;
    },
  };
}
