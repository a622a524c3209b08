import { z } from 'zod';
import type { MigrationRow } from '../db/index.js';
import { MIGRATION_STEP_NAMES } from './steps.js';

export const MIGRATION_STATES = ['running', 'succeeded', 'rolled_back', 'failed'] as const;

/** One migration as the API answers it; `steps` and `step` make the progress bar. */
export const migrationViewSchema = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    trigger: z.enum(['operator', 'drain', 'plan_change']),
    state: z.enum(MIGRATION_STATES),
    step: z.string().nullable().describe('The last step finished'),
    steps: z.array(z.string()).describe('Every step of a migration, in order'),
    from: z.object({ serverId: z.string(), processStrategy: z.string(), plan: z.string() }),
    to: z.object({ serverId: z.string().nullable(), databaseStrategy: z.string(), processStrategy: z.string(), plan: z.string() }),
    backupId: z.string().nullable(),
    estimatedDowntimeMs: z.number().nullable(),
    downtimeMs: z.number().nullable().describe('How long the tenant answered the maintenance page'),
    sourceDropAfter: z.string().nullable().describe('When the database kept on the source server is dropped'),
    sourceDroppedAt: z.string().nullable(),
    failureReason: z.string().nullable(),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .meta({ id: 'Migration' });
export type MigrationView = z.infer<typeof migrationViewSchema>;

/** What a migration or plan change would do, without doing it. */
export const migrationPlanSchema = z
  .object({
    tenant: z.string(),
    movesDatabase: z.boolean(),
    changesProcess: z.boolean(),
    changesPlan: z.boolean(),
    databaseBytes: z.number(),
    filestoreBytes: z.number(),
    estimatedDowntimeMs: z.number(),
    actions: z.array(z.string()).describe('What will happen, in order'),
  })
  .meta({ id: 'MigrationPlan' });
export type MigrationPlanView = z.infer<typeof migrationPlanSchema>;

const CUSTOMER_FAILURE =
  'The move could not be completed; your instance is served from where it was, its data unchanged. The platform operators have been alerted.';

export function toMigrationView(row: MigrationRow, role: 'customer' | 'operator' = 'operator'): MigrationView {
  const iso = (date: Date | null) => (date ? date.toISOString() : null);
  return {
    id: row.id,
    tenantId: row.tenant_id,
    trigger: row.trigger,
    state: row.state,
    step: row.step,
    steps: MIGRATION_STEP_NAMES,
    from: { serverId: row.source_server_id, processStrategy: row.source_process_strategy, plan: row.source_plan },
    to: {
      serverId: row.target_server_id,
      databaseStrategy: row.target_database_strategy,
      processStrategy: row.target_process_strategy,
      plan: row.target_plan,
    },
    backupId: row.backup_id,
    estimatedDowntimeMs: row.estimated_downtime_ms,
    downtimeMs: row.downtime_ms,
    sourceDropAfter: iso(row.source_drop_after),
    sourceDroppedAt: iso(row.source_dropped_at),
    failureReason: row.failure_reason === null ? null : role === 'operator' ? row.failure_reason : CUSTOMER_FAILURE,
    startedAt: row.started_at.toISOString(),
    finishedAt: iso(row.finished_at),
  };
}
