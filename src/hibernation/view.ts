import { z } from 'zod';
import type { TenantHibernationRow } from '../db/index.js';

export const hibernationViewSchema = z
  .object({
    /** The plan's idle minutes before hibernation; null: this tenant never hibernates. */
    afterIdleMinutes: z.number().nullable(),
    state: z.enum(['awake', 'hibernated']),
    hibernatedAt: z.string().nullable(),
    /** When a hibernated tenant is woken to run its crons. */
    cronWakeAt: z.string().nullable(),
    lastRequestAt: z.string().nullable(),
    lastWokenAt: z.string().nullable(),
    /** From the first request (or the due cron) to Odoo answering, in milliseconds. */
    lastWakeMs: z.number().nullable(),
    lastWakeReason: z.enum(['request', 'cron']).nullable(),
    /** The last wake failed (the tenant's timeline says why). */
    lastWakeFailed: z.boolean(),
    /** The plan's idle minutes before the tenant's dedicated PostgreSQL server sleeps too; null: never. */
    databaseServerAfterIdleMinutes: z.number().nullable(),
    /** Set while its dedicated PostgreSQL server is stopped (the next request starts it, then Odoo). */
    databaseServerHibernatedAt: z.string().nullable(),
  })
  .meta({ id: 'TenantHibernation' });

export type HibernationView = z.infer<typeof hibernationViewSchema>;

const iso = (date: Date | null | undefined) => date?.toISOString() ?? null;

export function toHibernationView(
  row: TenantHibernationRow | undefined,
  afterIdleMinutes: number | null,
  databaseServer: { afterIdleMinutes: number | null; hibernatedAt: Date | null } = { afterIdleMinutes: null, hibernatedAt: null },
): HibernationView {
  return {
    afterIdleMinutes,
    state: row?.hibernated_at ? 'hibernated' : 'awake',
    hibernatedAt: iso(row?.hibernated_at),
    cronWakeAt: iso(row?.cron_wake_at),
    lastRequestAt: iso(row?.last_request_at),
    lastWokenAt: iso(row?.last_woken_at),
    lastWakeMs: row?.last_wake_ms ?? null,
    lastWakeReason: row?.last_wake_reason ?? null,
    lastWakeFailed: (row?.last_wake_error ?? null) !== null,
    databaseServerAfterIdleMinutes: databaseServer.afterIdleMinutes,
    databaseServerHibernatedAt: iso(databaseServer.hibernatedAt),
  };
}
