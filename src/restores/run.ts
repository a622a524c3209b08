import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Db, RestoreRow } from '../db/index.js';
import { JOB_CATALOG, type JobAttempt } from '../jobs/index.js';
import { filestorePath, removeFilestore } from '../odoo/index.js';
import { createCrashInjection, runSteps, type StepJournal } from '../provisioning/index.js';
import { changeTenantState, recordTenantEvent, tenantById } from '../tenants/index.js';
import { type InPlaceContext, type RestoreDependencies, restoreNames } from './context.js';
import { IN_PLACE_STEPS, RestoreRefused } from './in-place-steps.js';
import { restoreById, settleRestore, updateRestore } from './store.js';

/** The restore's row as the journal of its steps: `step` is the last one finished. */
function restoreJournal(db: Db, restore: RestoreRow, order: readonly string[]): StepJournal {
  const finishedUpTo = restore.step ? order.indexOf(restore.step) : -1;
  return {
    finishedBefore: (step) => {
      const index = order.indexOf(step);
      return index >= 0 && index <= finishedUpTo;
    },
    async record(step, elapsedMs) {
      await updateRestore(restore.id, { step }, db);
      await recordTenantEvent(db, restore.tenant_id, {
        type: 'info',
        message: `restore: ${step.replace('_', ' ')} done in ${Math.round(elapsedMs)} ms`,
      });
    },
  };
}

export function archiveFileOf(deps: Pick<RestoreDependencies, 'scratchDir'>, restoreId: string): string {
  return join(deps.scratchDir, `${restoreId}.zip`);
}

async function loadInPlaceContext(
  deps: RestoreDependencies,
  restore: RestoreRow,
  crashPoint: (point: string) => void,
): Promise<InPlaceContext> {
  const tenant = await tenantById(restore.tenant_id, deps.db);
  if (!tenant?.server_id) throw new RestoreRefused('the tenant has no database any more');
  const backup = restore.backup_id ? await deps.backups.byId(restore.backup_id) : undefined;
  if (backup?.state !== 'verified') throw new RestoreRefused('the backup to restore is no longer there');
  const [ops, adminUrl] = await Promise.all([deps.servers.operations(tenant.server_id), deps.servers.adminUrl(tenant.server_id)]);
  return {
    deps,
    restore,
    tenant: { ...tenant, server_id: tenant.server_id },
    backup,
    ops,
    adminUrl,
    names: restoreNames(tenant.database_name, restore.id),
    archiveFile: archiveFileOf(deps, restore.id),
    crashPoint,
  };
}

/** Runs `fn` with the tenant's database server awake (a hibernated dedicated one is woken and kept awake). */
async function awake<T>(deps: RestoreDependencies, tenantId: string, fn: () => Promise<T>): Promise<T> {
  const serverId = (await tenantById(tenantId, deps.db))?.server_id;
  return serverId ? deps.servers.whileAwake(serverId, fn) : fn();
}

/**
 * One attempt of a restore in place. A failure is retried (the steps resume from the journal)
 * unless the restore was refused for what it restores; after the last attempt the restore fails
 * cleanly (failRestore).
 */
export async function runInPlaceRestore(deps: RestoreDependencies, restoreId: string, attempt: JobAttempt): Promise<void> {
  const restore = await restoreById(restoreId, deps.db);
  if (restore?.state !== 'running' || restore.kind !== 'in_place') return;
  const crashPoint = createCrashInjection(deps.crashAt, deps.logger);
  try {
    await awake(deps, restore.tenant_id, async () => {
      const context = await loadInPlaceContext(deps, restore, crashPoint);
      const order = IN_PLACE_STEPS.map((step) => step.name);
      await runSteps(IN_PLACE_STEPS, context, restoreJournal(deps.db, restore, order), (step) => crashPoint(`restore:${step}`));
    });
  } catch (caught) {
    const error = caught instanceof Error ? caught : new Error(String(caught));
    deps.logger.warn({ err: error, restoreId, attempt: attempt.retryCount }, 'restore attempt failed');
    if (!(error instanceof RestoreRefused) && attempt.retryCount < JOB_CATALOG.restore.retryLimit) {
      await recordTenantEvent(deps.db, restore.tenant_id, {
        type: 'error',
        message: `restore attempt ${attempt.retryCount + 1} failed, retrying: ${error.message.slice(0, 1000)}`,
      });
      throw error;
    }
    await failInPlaceRestore(deps, restoreId, error.message.slice(0, 2000));
  }
}

/**
 * The end of a restore that cannot go on. Before the swap nothing of the tenant was replaced:
 * the side copies go and the tenant returns to where it was, its data untouched. After the swap
 * (only the clean-up can fail there) the tenant goes to `error` for an operator, with the
 * previous database kept under its side name.
 */
export async function failInPlaceRestore(deps: RestoreDependencies, restoreId: string, reason: string): Promise<void> {
  const restore = await restoreById(restoreId, deps.db);
  if (restore?.state !== 'running') return;
  const tenant = await tenantById(restore.tenant_id, deps.db);
  const names = tenant ? restoreNames(tenant.database_name, restore.id) : undefined;
  if (!restore.swapped_at && tenant?.server_id && names) {
    const ops = await deps.servers.operations(tenant.server_id);
    await deps.servers.whileAwake(tenant.server_id, () => ops.dropDatabase(names.side)).catch(() => undefined);
    await removeFilestore(deps.odooDataDir, names.side).catch(() => undefined);
  }
  await rm(archiveFileOf(deps, restore.id), { force: true });
  await deps.db.transaction().execute(async (trx) => {
    if (!(await settleRestore(restore.id, { state: 'failed', reason }, trx))) return;
    if (!tenant) return;
    if (restore.swapped_at) {
      await recordTenantEvent(trx, tenant.id, {
        type: 'error',
        message: `Restore ${restore.id} failed after the restored data was put in place: ${reason}. The previous database is kept as ${names?.previous} (filestore ${filestorePath(deps.odooDataDir, names?.previous ?? '')}).`,
      });
      await changeTenantState(trx, tenant.id, 'operation_failed', { reason: `restore failed: ${reason}` }).catch(() => undefined);
      return;
    }
    await recordTenantEvent(trx, tenant.id, {
      type: 'error',
      message: `Restore ${restore.id} failed: ${reason}. The tenant's data was not changed.`,
    });
    if (tenant.state !== 'restoring') return; // deleted meanwhile
    const updated = await changeTenantState(trx, tenant.id, 'restore_finished', { reason: 'restore failed; data unchanged' });
    if (updated.state === 'starting') await deps.operations.enqueue(tenant.id, 'start', trx);
  });
  deps.logger.error({ restoreId, tenant: tenant?.name, reason }, 'restore failed');
}
