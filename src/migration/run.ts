import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Db, MigrationRow } from '../db/index.js';
import { JOB_CATALOG, type JobAttempt } from '../jobs/index.js';
import { createCrashInjection, runSteps, type Step, type StepJournal } from '../provisioning/index.js';
import { changeTenantState, recordTenantEvent, tenantById, updateTenant } from '../tenants/index.js';
import { type MigrationContext, type MigrationDependencies, movesDatabase } from './context.js';
import { MIGRATION_STEP_NAMES, MIGRATION_STEPS, MigrationRefused, putAdminHashBack } from './steps.js';
import { keptSourceOn, migrationById, settleMigration, sourcesDue, updateMigration } from './store.js';

/** PostgreSQL's limit on names. */
const MAX_IDENTIFIER_BYTES = 63;

/** The name the backup is loaded under on the target: the migration's id in it, so another's leftover is never taken for ours. */
export function sideDatabaseName(databaseName: string, migrationId: string): string {
  const suffix = `_mg${migrationId.replaceAll('-', '').slice(0, 8)}`;
  let prefix = databaseName;
  while (Buffer.byteLength(prefix) + Buffer.byteLength(suffix) > MAX_IDENTIFIER_BYTES) prefix = prefix.slice(0, -1);
  return `${prefix}${suffix}`;
}

const archiveFileOf = (deps: Pick<MigrationDependencies, 'scratchDir'>, migrationId: string) => join(deps.scratchDir, `${migrationId}.zip`);

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function migrationJournal(db: Db, migration: MigrationRow, context: Pick<MigrationContext, 'parts'>): StepJournal {
  const finishedUpTo = migration.step ? MIGRATION_STEP_NAMES.indexOf(migration.step) : -1;
  return {
    finishedBefore: (step) => {
      const index = MIGRATION_STEP_NAMES.indexOf(step);
      return index >= 0 && index <= finishedUpTo;
    },
    async record(step, elapsedMs) {
      const parts = context.parts.splice(0);
      if (step === 'finish') return; // recorded with the outcome, in finish's own transaction
      const detail = parts.length > 0 ? ` (${parts.join(', ')})` : '';
      // One commit, not two: each is a WAL flush inside the tenant's maintenance window.
      await db.transaction().execute(async (trx) => {
        await updateMigration(migration.id, { step }, trx);
        await recordTenantEvent(trx, migration.tenant_id, {
          type: 'info',
          message: `migration: ${step} done in ${Math.round(elapsedMs)} ms${detail}`,
        });
      });
    },
  };
}

/**
 * The tenant is where it should be and answers: in one transaction the migration is recorded
 * as succeeded with its downtime (the maintenance page was shown from the request until now),
 * the source's drop is scheduled after the grace period, and the tenant returns to where it was.
 * A running tenant goes straight back to running: the verification served it from the target.
 */
const finishStep: Step<MigrationContext> = {
  name: 'finish',
  async run({ deps, migration, tenant }) {
    const previous = await deps.db.transaction().execute(async (trx) => {
      if ((await migrationById(migration.id, trx))?.state !== 'running') return undefined;
      const now = new Date();
      const downtimeMs = now.getTime() - (migration.maintenance_started_at ?? migration.started_at).getTime();
      const moved = movesDatabase(migration);
      await settleMigration(
        migration.id,
        { state: 'succeeded' },
        {
          step: 'finish',
          maintenance_ended_at: now,
          downtime_ms: downtimeMs,
          source_drop_after: moved ? new Date(now.getTime() + deps.sourceGraceMs) : null,
          admin_hash_encrypted: null,
        },
        trx,
      );
      const server = await deps.servers.get(migration.target_server_id ?? '').catch(() => undefined);
      await recordTenantEvent(trx, tenant.id, {
        type: 'info',
        message:
          `migration ${migration.id} finished: database on ${server?.name ?? migration.target_server_id}, ${migration.target_process_strategy} Odoo processes, plan ${migration.target_plan}; ` +
          `the maintenance page was shown for ${seconds(downtimeMs)}` +
          (moved ? `; the old database is kept until ${new Date(now.getTime() + deps.sourceGraceMs).toISOString()}` : ''),
        actorUserId: migration.created_by,
      });
      const updated = await changeTenantState(trx, tenant.id, 'migration_finished', {
        reason: `moved (${seconds(downtimeMs)} of maintenance)`,
      });
      if (updated.state === 'starting')
        await changeTenantState(trx, tenant.id, 'start_succeeded', { reason: 'Odoo serves it from its new place' });
      return migration.previous_state;
    });
    // A stopped tenant stays stopped: the verification served it only to log in.
    if (previous && previous !== 'running') await deps.runtimes.for(tenant).unserve(tenant.id);
  },
};

async function loadContext(
  deps: MigrationDependencies,
  migration: MigrationRow,
  crashPoint: (point: string) => void,
): Promise<MigrationContext> {
  const tenant = await tenantById(migration.tenant_id, deps.db);
  if (!tenant?.server_id) throw new MigrationRefused('the tenant has no database any more');
  const targetId = migration.target_server_id;
  return {
    deps,
    migration,
    tenant: { ...tenant, server_id: tenant.server_id },
    targetOps: targetId ? await deps.servers.operations(targetId) : undefined,
    targetAdminUrl: targetId ? await deps.servers.adminUrl(targetId) : undefined,
    archiveFile: archiveFileOf(deps, migration.id),
    sideName: sideDatabaseName(tenant.database_name, migration.id),
    crashPoint,
    parts: [],
  };
}

/**
 * One attempt of a migration. A failure is retried (the steps resume from the journal) unless
 * the migration was refused for what it moves (a failed backup, a copy that differs, a failed
 * admin login on the target); after that, or the last attempt, it rolls back to the source.
 */
export async function runMigration(deps: MigrationDependencies, migrationId: string, attempt: JobAttempt): Promise<void> {
  const migration = await migrationById(migrationId, deps.db);
  if (migration?.state !== 'running') return;
  const crashPoint = createCrashInjection(deps.crashAt, deps.logger);
  try {
    const context = await loadContext(deps, migration, crashPoint);
    await runSteps([...MIGRATION_STEPS, finishStep], context, migrationJournal(deps.db, migration, context), (step) =>
      crashPoint(`migration:${step}`),
    );
  } catch (caught) {
    const error = caught instanceof Error ? caught : new Error(String(caught));
    deps.logger.warn({ err: error, migrationId, attempt: attempt.retryCount }, 'migration attempt failed');
    if (!(error instanceof MigrationRefused) && attempt.retryCount < JOB_CATALOG.migration.retryLimit) {
      await recordTenantEvent(deps.db, migration.tenant_id, {
        type: 'error',
        message: `migration attempt ${attempt.retryCount + 1} failed, retrying: ${error.message.slice(0, 1000)}`,
      });
      throw error;
    }
    await rollBackMigration(deps, migrationId, error.message.slice(0, 2000));
  }
}

/**
 * The way back: Odoo stops serving from the target, the tenant's row points at the source again
 * (server, process strategy, plan; one transaction), the copy on the target is dropped, and the
 * tenant returns to where it was, served from its untouched source. Idempotent: a rollback
 * killed half-way is finished by the next attempt (the job's retries) or the next one.
 */
export async function rollBackMigration(deps: MigrationDependencies, migrationId: string, reason: string): Promise<void> {
  const migration = await migrationById(migrationId, deps.db);
  if (migration?.state !== 'running') return;
  const tenant = await tenantById(migration.tenant_id, deps.db);
  // Before its maintenance step the tenant kept serving from the source: it is left alone.
  const inMaintenance = tenant?.state === 'migrating';
  if (tenant) {
    if (inMaintenance) await deps.runtimes.for(tenant).unserve(tenant.id);
    if (migration.switched_at) {
      await updateTenant(
        tenant.id,
        {
          server_id: migration.source_server_id,
          process_strategy: migration.source_process_strategy,
          plan_code: migration.source_plan,
          updated_at: new Date(),
        },
        deps.db,
      );
    }
    const targetId = migration.target_server_id;
    const target = targetId ? await deps.servers.get(targetId).catch(() => undefined) : undefined;
    if (targetId && target) {
      const ops = await deps.servers.operations(targetId);
      if (movesDatabase(migration)) {
        const side = sideDatabaseName(tenant.database_name, migration.id);
        const stepIndex = migration.step ? MIGRATION_STEP_NAMES.indexOf(migration.step) : -1;
        const renamed =
          stepIndex >= MIGRATION_STEP_NAMES.indexOf('check') || (migration.step === 'load' && !(await ops.databaseExists(side)));
        await ops.dropDatabase(side);
        if (renamed) await ops.dropDatabase(tenant.database_name);
        const kept = await keptSourceOn(tenant.id, targetId, deps.db);
        if (target.kind === 'dedicated' && target.tenantCount === 0 && !kept) await deps.servers.destroyDedicated(targetId);
      } else {
        // The same database: the admin's real password hash goes back if the verification replaced it.
        await putAdminHashBack({ deps, tenant: { ...tenant, server_id: targetId }, migration, targetOps: ops });
      }
    }
  }
  await rm(archiveFileOf(deps, migration.id), { force: true });
  await deps.db.transaction().execute(async (trx) => {
    const now = new Date();
    const downtimeMs =
      inMaintenance && migration.maintenance_started_at ? now.getTime() - migration.maintenance_started_at.getTime() : null;
    const settled = await settleMigration(
      migration.id,
      { state: 'rolled_back', reason },
      { maintenance_ended_at: downtimeMs === null ? null : now, downtime_ms: downtimeMs, admin_hash_encrypted: null },
      trx,
    );
    if (!settled || !tenant) return;
    await recordTenantEvent(trx, tenant.id, {
      type: 'error',
      message:
        `Migration ${migration.id} was rolled back: ${reason}. The tenant is served from where it was, its data unchanged` +
        (downtimeMs === null ? ' (it was not interrupted).' : ` (maintenance page for ${seconds(downtimeMs)}).`),
    });
    if (!inMaintenance) return; // not interrupted yet, or deleted meanwhile
    const updated = await changeTenantState(trx, tenant.id, 'migration_finished', { reason: 'migration rolled back; data unchanged' });
    if (updated.state === 'starting') await deps.operations.enqueue(tenant.id, 'start', trx);
  });
  deps.logger.error({ migrationId, tenant: tenant?.name, reason }, 'migration rolled back');
}

/**
 * Drops the source databases kept after migrations whose grace period is over (and the tenant's
 * role there, and a dedicated server left empty). A tenant that moved back to that server in the
 * meantime is live there: its database is not touched. Idempotent.
 */
export async function dropDueSources(deps: MigrationDependencies, now = new Date()): Promise<number> {
  let dropped = 0;
  for (const migration of await sourcesDue(now, deps.db)) {
    const tenant = await tenantById(migration.tenant_id, deps.db);
    const server = await deps.servers.get(migration.source_server_id).catch(() => undefined);
    if (tenant && server && tenant.server_id !== migration.source_server_id) {
      // A dedicated source may have been put to sleep while the tenant was hibernated there.
      await deps.servers.whileAwake(server.id, async () => {
        const ops = await deps.servers.operations(server.id);
        await ops.dropDatabase(tenant.database_name);
        await ops.dropRole(tenant.role_name).catch(() => undefined); // still owning something elsewhere: kept
      });
      if (server.kind === 'dedicated' && server.tenantCount === 0) await deps.servers.destroyDedicated(server.id);
    }
    await updateMigration(migration.id, { source_dropped_at: now }, deps.db);
    if (tenant)
      await recordTenantEvent(deps.db, tenant.id, {
        type: 'info',
        message: `the database kept on ${server?.name ?? migration.source_server_id} after migration ${migration.id} was dropped (grace period over)`,
      });
    dropped++;
  }
  return dropped;
}
