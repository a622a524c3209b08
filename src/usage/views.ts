import { z } from 'zod';
import type { UsageLimitStateRow, UsageRollupRow, UsageSampleRow } from '../db/index.js';
import { LIMIT_LEVELS, LIMIT_RESOURCES, percentOf } from './policy.js';

/** One point of a tenant's usage series: a raw sample, or the maxima of an hour or a day. */
export const usagePointSchema = z
  .object({
    at: z.string().describe('the sample round, or the start of the hour or day'),
    odooUsers: z.number().nullable(),
    databaseBytes: z.number().nullable(),
    filestoreBytes: z.number().nullable(),
    storageBytes: z.number().nullable().describe('database + filestore'),
    cpuSeconds: z.number().nullable(),
    memoryBytes: z.number().nullable(),
  })
  .meta({ id: 'UsagePoint' });
export type UsagePoint = z.infer<typeof usagePointSchema>;

/** Where a tenant stands against one limit of its plan, and what is enforced. */
export const limitStandingSchema = z
  .object({
    resource: z.enum(LIMIT_RESOURCES),
    level: z.enum(LIMIT_LEVELS),
    used: z.number(),
    limit: z.number(),
    percent: z.number(),
    since: z.string(),
    blockNewUsers: z.boolean().describe('new internal Odoo users are refused'),
    readOnly: z.boolean().describe('calls that write are refused'),
    updatedAt: z.string(),
  })
  .meta({ id: 'LimitStanding' });
export type LimitStandingView = z.infer<typeof limitStandingSchema>;

export const USAGE_STEPS = ['raw', 'hour', 'day'] as const;

export function toPoint(row: UsageSampleRow): UsagePoint {
  const storage = row.database_bytes === null ? null : row.database_bytes + (row.filestore_bytes ?? 0);
  return {
    at: row.slot.toISOString(),
    odooUsers: row.odoo_users,
    databaseBytes: row.database_bytes,
    filestoreBytes: row.filestore_bytes,
    storageBytes: storage,
    cpuSeconds: row.cpu_seconds,
    memoryBytes: row.memory_bytes,
  };
}

export function rollupToPoint(row: UsageRollupRow): UsagePoint {
  return {
    at: row.bucket.toISOString(),
    odooUsers: row.odoo_users_max,
    databaseBytes: row.database_bytes_max,
    filestoreBytes: row.filestore_bytes_max,
    storageBytes: row.storage_bytes_max,
    cpuSeconds: row.cpu_seconds_max,
    memoryBytes: row.memory_bytes_max,
  };
}

export function toStandingView(row: UsageLimitStateRow): LimitStandingView {
  return {
    resource: row.resource,
    level: row.level,
    used: row.used,
    limit: row.limit_value,
    percent: percentOf(row.used, row.limit_value),
    since: row.since.toISOString(),
    blockNewUsers: row.block_new_users,
    readOnly: row.read_only,
    updatedAt: row.updated_at.toISOString(),
  };
}
