import type { Readable } from 'node:stream';
import type { Transaction } from 'kysely';
import type { BackupRow, BackupTrigger, Database, TenantRow } from '../db/index.js';
import { ConflictError, NotFoundError } from '../errors/index.js';
import type { DomainEventBus } from '../events/index.js';
import type { JobQueue } from '../jobs/index.js';
import { placedTenantsIn, tenantById } from '../tenants/index.js';
import { checkDownloadLink, signDownloadLink } from './links.js';
import { DEFAULT_RETENTION, type RetentionPolicy, retentionDecisions } from './retention.js';
import { type BackupRunDependencies, failBackup, runBackup } from './run.js';
import { type DailySchedule, latestDueSlot } from './schedule.js';
import {
  backupById,
  deleteBackupRecord,
  insertBackup,
  insertScheduledBackup,
  listBackups,
  type NewBackup,
  newestVerifiedBackups,
  setBackupJob,
  staleRunningBackups,
} from './store.js';
import { testRestoreBackup } from './test-restore.js';

export interface BackupServiceDependencies extends BackupRunDependencies {
  jobs: JobQueue;
  schedule: DailySchedule;
  /** Key of the download links (derived from the secret key for this purpose only). */
  linkKey: Buffer;
  linkTtlSeconds: number;
  /** Where a test restore downloads an archive to (removed after each). */
  scratchDir: string;
  /** Retention per plan code (plans' `backups` block); the default for plans without one. */
  retentionFor?: (planCode: string) => Promise<RetentionPolicy | undefined>;
}

/** Tenants whose database exists and may be backed up. */
const BACKED_UP_STATES = ['running', 'stopped', 'suspended', 'scheduled_for_deletion'] as const;

/** A terminated tenant's final backup is kept through its retention window (tenants/TERMINATED_RETENTION_MS). */
const FINAL_BACKUP_KEEP_MS = 30 * 86_400_000;

/** A `running` record older than the backup job's timeout plus its retries was abandoned. */
const ABANDONED_AFTER_MS = 3 * 6 * 60 * 60 * 1000 + 15 * 60 * 1000;

function storageKey(tenant: TenantRow, at: Date, id: string): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${tenant.name}/${tenant.name}_${stamp}_${id.slice(0, 8)}.zip`;
}

export type BackupService = ReturnType<typeof createBackupService>;

export function createBackupService(deps: BackupServiceDependencies) {
  const { db } = deps;

  /** The record and its job in one transaction: both exist, or neither. */
  async function request(
    tenant: TenantRow,
    trigger: BackupTrigger,
    options: {
      actorUserId?: string | null;
      keepUntil?: Date;
      scheduledFor?: Date;
      transaction?: Transaction<Database>;
      /** False: the record only, for a caller that runs the backup itself (`run`) as a step of its own job. */
      queued?: boolean;
    } = {},
  ): Promise<{ backup: BackupRow; jobId: string } | undefined> {
    if (
      !tenant.server_id ||
      !(BACKED_UP_STATES as readonly string[]).concat('terminated', 'restoring', 'migrating').includes(tenant.state)
    ) {
      throw new ConflictError(
        `Tenant ${tenant.name} is ${tenant.state.replaceAll('_', ' ')}: it can be backed up once it is running or stopped.`,
      );
    }
    const work = async (trx: Transaction<Database>) => {
      const id = crypto.randomUUID();
      const now = new Date();
      const values: NewBackup = {
        id,
        tenant_id: tenant.id,
        tenant_name: tenant.name,
        trigger,
        database_name: tenant.database_name,
        storage_kind: deps.storage.kind,
        storage_key: storageKey(tenant, now, id),
        storage_location: deps.storage.describe(storageKey(tenant, now, id)),
        scheduled_for: options.scheduledFor ?? null,
        keep_until: options.keepUntil ?? null,
        created_by: options.actorUserId ?? null,
      };
      const backup = options.scheduledFor ? await insertScheduledBackup(values, trx) : await insertBackup(values, trx);
      if (!backup) return undefined;
      if (options.queued === false) return { backup, jobId: '' };
      const jobId = await deps.jobs.send('backup', { backupId: backup.id }, { transaction: trx });
      await setBackupJob(backup.id, jobId, trx);
      return { backup: { ...backup, job_id: jobId }, jobId };
    };
    return options.transaction ? work(options.transaction) : db.transaction().execute(work);
  }

  /** Daily backups owed now, and `running` records whose attempts are long gone. */
  async function runSchedule(now = new Date()): Promise<{ queued: number; abandoned: number }> {
    // Against the real clock: `now` picks the slots (tests move it), records carry real times.
    let abandoned = 0;
    for (const backup of await staleRunningBackups(new Date(Date.now() - ABANDONED_AFTER_MS), db)) {
      await failBackup(deps, backup, 'the backup job stopped without finishing (its worker died and its retries ran out)', null);
      abandoned++;
    }
    let queued = 0;
    for (const tenant of await placedTenantsIn(BACKED_UP_STATES, db)) {
      const scheduledFor = latestDueSlot(tenant.id, now, deps.schedule);
      // A tenant created after today's slot gets its first daily backup at tomorrow's.
      if (scheduledFor.getTime() < tenant.created_at.getTime()) continue;
      if (await request(tenant, 'schedule', { scheduledFor })) queued++;
    }
    return { queued, abandoned };
  }

  /** Retention: storage first, then the record, so a crash in between leaves a record to retry. */
  async function purge(now = new Date()): Promise<{ deleted: number }> {
    let deleted = 0;
    const all = await listBackups({ limit: 1_000_000 }, db);
    const byTenant = new Map<string, BackupRow[]>();
    for (const backup of all) byTenant.set(backup.tenant_id, [...(byTenant.get(backup.tenant_id) ?? []), backup]);
    for (const [tenantId, backups] of byTenant) {
      const tenant = await tenantById(tenantId, db);
      const policy = (tenant && (await deps.retentionFor?.(tenant.plan_code))) ?? DEFAULT_RETENTION;
      const decisions = retentionDecisions(
        backups.map((b) => ({ id: b.id, trigger: b.trigger, state: b.state, startedAt: b.started_at, keepUntil: b.keep_until })),
        policy,
        now,
      );
      for (const decision of decisions) {
        if (decision.keep) continue;
        const backup = backups.find((b) => b.id === decision.id) as BackupRow;
        await deps.storage.delete(backup.storage_key);
        await deleteBackupRecord(backup.id, db);
        deleted++;
      }
    }
    if (deleted > 0) deps.logger.info({ deleted }, 'backup retention purge');
    return { deleted };
  }

  /** The weekly job: each tenant's newest verified backup, one after another. */
  async function testRestoreAll(): Promise<{ passed: number; failed: number }> {
    let passed = 0;
    let failed = 0;
    for (const backup of await newestVerifiedBackups(db)) {
      if (await testRestoreBackup(deps, backup.id)) passed++;
      else failed++;
    }
    return { passed, failed };
  }

  return {
    request,
    runSchedule,
    purge,
    run: (backupId: string) => runBackup(deps, backupId),
    testRestore: (backupId: string) => testRestoreBackup(deps, backupId),
    testRestoreAll,
    list: (filter: Parameters<typeof listBackups>[0]) => listBackups(filter, db),
    byId: (backupId: string) => backupById(backupId, db),
    /** Where the archives are (restores fetch them from it). */
    storage: deps.storage,
    installedOdooSeries: deps.installedOdooSeries,

    /** One backup of this tenant (another tenant's answers 404, like a missing one). */
    async ofTenant(tenant: TenantRow, backupId: string): Promise<BackupRow> {
      const backup = await backupById(backupId, db);
      if (!backup || backup.tenant_id !== tenant.id) throw new NotFoundError('Backup not found.');
      return backup;
    },

    downloadLink(backup: BackupRow, userId: string, now = new Date()): { token: string; expiresAt: Date } {
      if (backup.state !== 'verified')
        throw new ConflictError(`Backup ${backup.id} is ${backup.state}: only verified backups can be downloaded.`);
      const expiresAt = Math.floor(now.getTime() / 1000) + deps.linkTtlSeconds;
      return { token: signDownloadLink(deps.linkKey, { backupId: backup.id, userId, expiresAt }), expiresAt: new Date(expiresAt * 1000) };
    },

    /** The archive a valid link names, streamed from storage; refusals say why in words. */
    async openDownload(token: string, now = new Date()): Promise<{ backup: BackupRow; userId: string; stream: Readable }> {
      const check = checkDownloadLink(deps.linkKey, token, now);
      if (!check.ok) {
        throw new NotFoundError(
          check.reason === 'expired'
            ? 'This download link has expired: ask for a new one from the backups page.'
            : 'This download link is not valid: ask for a new one from the backups page.',
        );
      }
      const backup = await backupById(check.grant.backupId, db);
      if (backup?.state !== 'verified') throw new NotFoundError('This backup no longer exists.');
      return { backup, userId: check.grant.userId, stream: await deps.storage.get(backup.storage_key) };
    },

    async registerJobs(work: boolean, events?: Pick<DomainEventBus, 'subscribeDurable'>): Promise<void> {
      await deps.jobs.define('backup', async ({ backupId }) => runBackup(deps, backupId), work);
      await deps.jobs.define('backup-schedule', async () => void (await runSchedule()), work);
      await deps.jobs.define('backup-purge', async () => void (await purge()), work);
      await deps.jobs.define(
        'backup-test-restore',
        async () => {
          const result = await testRestoreAll();
          deps.logger.info(result, 'weekly backup test restores');
        },
        work,
      );
      // A terminated tenant keeps a final backup through its 30-day retention window.
      if (work && events) {
        await events.subscribeDurable('backups-final-on-terminate', async (event) => {
          if (event.type !== 'tenant.state_changed' || event.payload.toState !== 'terminated') return;
          const tenant = await tenantById(event.payload.tenantId, db);
          // Reactivated before this delivery: nothing is to be kept for a termination undone (and
          // a tenant starting again cannot be backed up yet, which only retried here until it ran).
          if (!tenant?.server_id || tenant.state !== 'terminated') return;
          const already = await listBackups({ tenantId: tenant.id, limit: 20 }, db);
          if (already.some((b) => b.trigger === 'before_delete' && b.state !== 'failed')) return; // delivered again
          await request(tenant, 'before_delete', { keepUntil: new Date(Date.now() + FINAL_BACKUP_KEEP_MS) });
        });
      }
    },
  };
}
