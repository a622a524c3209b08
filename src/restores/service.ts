import { randomUUID } from 'node:crypto';
import { mkdir, rename } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Principal } from '../auth/index.js';
import { pathExists } from '../backups/index.js';
import type { BackupRow, TenantRow } from '../db/index.js';
import { ConflictError, NotFoundError } from '../errors/index.js';
import type { JobQueue } from '../jobs/index.js';
import { changeTenantState, type TenantService } from '../tenants/index.js';
import type { RestoreDependencies } from './context.js';
import { type ImportUploadDependencies, receiveImportUpload, uploadFileOf, uploadOf, uploadSeries } from './imports.js';
import { archiveFileOf, runInPlaceRestore } from './run.js';
import { requireSameSeries } from './series.js';
import { insertRestore, restoreById, restoresOfTenant, updateRestore } from './store.js';

export interface RestoreServiceDependencies extends RestoreDependencies {
  jobs: JobQueue;
  imports: ImportUploadDependencies;
  tenants: Pick<TenantService, 'createFromArchive'>;
}

function requireVerified(tenant: TenantRow, backup: BackupRow): void {
  if (backup.tenant_id !== tenant.id) throw new NotFoundError('Backup');
  if (backup.state !== 'verified')
    throw new ConflictError(`Backup ${backup.id} is ${backup.state}: only a verified backup can be restored.`, { field: 'id' });
}

export type RestoreService = ReturnType<typeof createRestoreService>;

export function createRestoreService(deps: RestoreServiceDependencies) {
  const { db } = deps;

  return {
    /**
     * Restores a verified backup over its own tenant. In one transaction the tenant becomes
     * `restoring` (the gateway shows the maintenance page; 409 naming the state when it is not
     * running or stopped), the restore is recorded and its job queued: all of them, or none.
     */
    async inPlace(tenant: TenantRow, backup: BackupRow, actorUserId: string | null) {
      requireVerified(tenant, backup);
      requireSameSeries({ version: backup.odoo_version, what: `Backup ${backup.id}` }, { name: tenant.name, series: tenant.odoo_series });
      return db.transaction().execute(async (trx) => {
        await changeTenantState(trx, tenant.id, 'restore', {
          actorUserId,
          reason: `restore of the backup of ${backup.started_at.toISOString()} requested`,
        });
        const restore = await insertRestore(
          {
            tenant_id: tenant.id,
            kind: 'in_place',
            backup_id: backup.id,
            previous_state: tenant.state,
            record_counts: backup.record_counts ? JSON.stringify(backup.record_counts) : null,
            filestore_files: backup.filestore_files,
            created_by: actorUserId,
          },
          trx,
        );
        const jobId = await deps.jobs.send('restore', { restoreId: restore.id }, { transaction: trx });
        await updateRestore(restore.id, { job_id: jobId }, trx);
        return { restore: { ...restore, job_id: jobId }, jobId };
      });
    },

    /**
     * Restores a verified backup into a new tenant of the same account and plan: a new name, a
     * new identity (database uuid and secret, base URL) and the admin password the caller chose;
     * the source tenant is not touched. The new tenant is provisioned from the archive (checked
     * like any new tenant: name, password policy, the plan's room).
     */
    async intoNewTenant(principal: Principal, source: TenantRow, backup: BackupRow, input: { name: string; adminPassword: string }) {
      requireVerified(source, backup);
      const restoreId = randomUUID();
      const archiveSeries = backup.odoo_version ?? source.odoo_series;
      const created = await deps.tenants.createFromArchive(
        principal,
        {
          name: input.name,
          accountId: source.account_id,
          plan: source.plan_code,
          template: source.template_code,
          adminEmail: source.admin_email,
          adminLogin: source.admin_login,
          adminPassword: input.adminPassword,
          ...(archiveSeries ? { archiveSeries } : {}),
        },
        restoreId,
        async (trx, tenant) => {
          await insertRestore(
            {
              id: restoreId,
              tenant_id: tenant.id,
              kind: 'new_tenant',
              backup_id: backup.id,
              record_counts: backup.record_counts ? JSON.stringify(backup.record_counts) : null,
              filestore_files: backup.filestore_files,
              created_by: principal.userId,
            },
            trx,
          );
        },
        `restored from the backup of ${source.name} of ${backup.started_at.toISOString()}`,
      );
      const restore = await restoreById(restoreId, db);
      if (!restore) throw new Error('the restore was not recorded with its tenant');
      return { restore, tenantName: created.tenant.name, jobId: created.jobId ?? '' };
    },

    /** Receives an uploaded Odoo zip (streamed, checked): its token makes a tenant with `importTenant`. */
    upload: (body: Readable, userId: string) => receiveImportUpload(deps.imports, body, userId),

    /**
     * A new tenant made from an uploaded Odoo zip: identity reset like a clone (new database uuid
     * and secret, base URL), the admin login and password given here; placed on a server where
     * `template` is ready. The upload becomes the restore's archive in the tenant's transaction.
     */
    async importTenant(
      principal: Principal,
      input: {
        uploadToken: string;
        name: string;
        plan: string;
        template: string;
        adminEmail: string;
        adminPassword: string;
        accountId?: string | undefined;
      },
    ) {
      const uploadId = uploadOf(deps.imports, input.uploadToken, principal.userId);
      const upload = uploadFileOf(deps.imports, uploadId);
      if (!(await pathExists(upload)))
        throw new NotFoundError('The uploaded archive (it was used already or removed; upload it again)', { field: 'uploadToken' });
      const restoreId = randomUUID();
      const archive = archiveFileOf(deps, restoreId);
      const archiveSeries = await uploadSeries(upload);
      let moved = false;
      try {
        const created = await deps.tenants.createFromArchive(
          principal,
          {
            name: input.name,
            accountId: input.accountId,
            plan: input.plan,
            template: input.template,
            adminEmail: input.adminEmail,
            adminLogin: input.adminEmail,
            adminPassword: input.adminPassword,
            ...(archiveSeries ? { archiveSeries } : {}),
          },
          restoreId,
          async (trx, tenant) => {
            await insertRestore({ id: restoreId, tenant_id: tenant.id, kind: 'import', created_by: principal.userId }, trx);
            await mkdir(deps.scratchDir, { recursive: true, mode: 0o700 });
            await rename(upload, archive);
            moved = true;
          },
          'imported from an uploaded Odoo backup',
        );
        const restore = await restoreById(restoreId, db);
        if (!restore) throw new Error('the import was not recorded with its tenant');
        return { restore, tenantName: created.tenant.name, jobId: created.jobId ?? '' };
      } catch (error) {
        if (moved) await rename(archive, upload).catch(() => undefined); // the transaction did not commit: keep the upload
        throw error;
      }
    },

    /** One restore of this tenant (another tenant's answers 404, like a missing one). */
    async ofTenant(tenant: TenantRow, restoreId: string) {
      const restore = await restoreById(restoreId, db);
      if (!restore || restore.tenant_id !== tenant.id) throw new NotFoundError('Restore');
      return restore;
    },

    list: (tenant: TenantRow) => restoresOfTenant(tenant.id, db),

    async registerJobs(work: boolean): Promise<void> {
      await deps.jobs.define('restore', async ({ restoreId }, attempt) => runInPlaceRestore(deps, restoreId, attempt), work);
    },
  };
}
