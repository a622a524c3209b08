import { z } from 'zod';
import type { RestoreRow } from '../db/index.js';
import { IN_PLACE_STEPS } from './in-place-steps.js';

export const RESTORE_KINDS = ['in_place', 'new_tenant', 'import'] as const;
export const RESTORE_STATES = ['running', 'succeeded', 'failed'] as const;

/** One restore as the API answers it; `steps` and `step` make the progress bar. */
export const restoreViewSchema = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    kind: z.enum(RESTORE_KINDS),
    backupId: z.string().nullable(),
    state: z.enum(RESTORE_STATES),
    step: z.string().nullable().describe('The last step finished'),
    steps: z.array(z.string()).describe('Every step of this kind of restore, in order'),
    safetyBackupId: z.string().nullable().describe('The backup of the data as it was before an in-place restore'),
    failureReason: z.string().nullable(),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .meta({ id: 'Restore' });
export type RestoreView = z.infer<typeof restoreViewSchema>;

/** Customers are told what happened to their data, not the platform's internals. */
const CUSTOMER_FAILURE = {
  unchanged: 'The restore could not be completed and your data was not changed. The platform operators have been alerted.',
  swapped: 'The restore could not be completed. The platform operators have been alerted and will contact you.',
};

export function stepsOf(kind: RestoreRow['kind'], provisioningSteps: readonly string[]): string[] {
  return kind === 'in_place' ? IN_PLACE_STEPS.map((step) => step.name) : [...provisioningSteps];
}

export function toRestoreView(row: RestoreRow, role: 'customer' | 'operator', provisioningSteps: readonly string[]): RestoreView {
  const failure =
    row.failure_reason === null
      ? null
      : role === 'operator'
        ? row.failure_reason
        : row.swapped_at
          ? CUSTOMER_FAILURE.swapped
          : CUSTOMER_FAILURE.unchanged;
  return {
    id: row.id,
    tenantId: row.tenant_id,
    kind: row.kind,
    backupId: row.backup_id,
    state: row.state,
    step: row.step,
    steps: stepsOf(row.kind, provisioningSteps),
    safetyBackupId: row.safety_backup_id,
    failureReason: failure,
    startedAt: row.started_at.toISOString(),
    finishedAt: row.finished_at ? row.finished_at.toISOString() : null,
  };
}
