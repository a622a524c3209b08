import { z } from 'zod';
import type { BackupRow } from '../db/index.js';

export const BACKUP_TRIGGERS = [
  'schedule',
  'on_demand',
  'before_restore',
  'before_plan_change',
  'before_migration',
  'before_delete',
] as const;
export const BACKUP_STATES = ['running', 'verified', 'failed'] as const;

/** One backup as the API answers it. Operators also get where it is stored and the failure as it happened. */
export const backupViewSchema = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    tenantName: z.string(),
    trigger: z.enum(BACKUP_TRIGGERS),
    state: z.enum(BACKUP_STATES),
    failureReason: z.string().nullable(),
    odooVersion: z.string().nullable(),
    pgVersion: z.string().nullable(),
    archiveBytes: z.number().nullable(),
    dumpBytes: z.number().nullable(),
    filestoreBytes: z.number().nullable(),
    filestoreFiles: z.number().nullable(),
    sha256: z.string().nullable(),
    durationMs: z.number().nullable(),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
    verifiedAt: z.string().nullable(),
    keepUntil: z.string().nullable(),
    testRestore: z
      .object({ state: z.enum(['passed', 'failed']), reason: z.string().nullable(), at: z.string() })
      .nullable()
      .describe('The latest test restore of this archive into a scratch database'),
    storageLocation: z.string().optional().describe('Operators only: where the archive is stored'),
  })
  .meta({ id: 'Backup' });
export type BackupView = z.infer<typeof backupViewSchema>;

/** What a customer reads instead of an internal failure text (operators get the original). */
const CUSTOMER_FAILURE = 'This backup could not be completed. The platform operators have been alerted; no action is needed from you.';

const iso = (date: Date | null) => (date ? date.toISOString() : null);

export function toBackupView(row: BackupRow, role: 'customer' | 'operator'): BackupView {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    tenantName: row.tenant_name,
    trigger: row.trigger,
    state: row.state,
    failureReason: row.failure_reason === null ? null : role === 'operator' ? row.failure_reason : CUSTOMER_FAILURE,
    odooVersion: row.odoo_version,
    pgVersion: row.pg_version,
    archiveBytes: row.archive_bytes,
    dumpBytes: row.dump_bytes,
    filestoreBytes: row.filestore_bytes,
    filestoreFiles: row.filestore_files,
    sha256: row.sha256,
    durationMs: row.duration_ms,
    startedAt: row.started_at.toISOString(),
    finishedAt: iso(row.finished_at),
    verifiedAt: iso(row.verified_at),
    keepUntil: iso(row.keep_until),
    testRestore:
      row.test_restore_state && row.test_restored_at
        ? {
            state: row.test_restore_state,
            reason: row.test_restore_reason === null || role === 'operator' ? row.test_restore_reason : CUSTOMER_FAILURE,
            at: row.test_restored_at.toISOString(),
          }
        : null,
    ...(role === 'operator' ? { storageLocation: row.storage_location } : {}),
  };
}
