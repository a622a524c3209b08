import type { Kysely, Transaction } from 'kysely';
import { z } from 'zod';
import type { Database, Db } from '../db/index.js';

export interface AuditEntry {
  actorType: 'user' | 'api_key' | 'anonymous' | 'system';
  actorUserId?: string | null;
  actorLabel?: string | null;
  accountId?: string | null;
  action: string;
  targetType?: string | null;
  targetId?: string | null;
  outcome: 'success' | 'failure';
  statusCode?: number | null;
  requestId?: string | null;
  ip?: string | null;
  details?: Record<string, unknown> | null;
}

/** One entry of the audit trail as the API answers it (declared once: the list below builds it). */
export const auditEntryViewSchema = z
  .object({
    id: z.number(),
    at: z.string(),
    actorType: z.enum(['user', 'api_key', 'anonymous', 'system']),
    actorUserId: z.string().nullable(),
    actorLabel: z.string().nullable(),
    accountId: z.string().nullable(),
    action: z.string(),
    targetType: z.string().nullable(),
    targetId: z.string().nullable(),
    outcome: z.enum(['success', 'failure']),
    statusCode: z.number().nullable(),
    requestId: z.string().nullable(),
    ip: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).nullable(),
  })
  .meta({ id: 'AuditEntry' });
export type AuditEntryView = z.infer<typeof auditEntryViewSchema>;

export interface AuditQuery {
  accountId?: string | undefined;
  actorUserId?: string | undefined;
  action?: string | undefined;
  before?: number | undefined;
  limit: number;
}

export type AuditLog = ReturnType<typeof createAuditLog>;

/** The audit trail of every state-changing call: who did what to which target, when, and how it ended. */
export function createAuditLog(deps: { db: Db }) {
  const { db } = deps;
  return {
    /** `executor`: a caller's transaction, so the entry commits with what it records. */
    async record(entry: AuditEntry, executor: Kysely<Database> | Transaction<Database> = db): Promise<void> {
      await executor
        .insertInto('audit_log')
        .values({
          actor_type: entry.actorType,
          actor_user_id: entry.actorUserId ?? null,
          actor_label: entry.actorLabel ?? null,
          account_id: entry.accountId ?? null,
          action: entry.action,
          target_type: entry.targetType ?? null,
          target_id: entry.targetId ?? null,
          outcome: entry.outcome,
          status_code: entry.statusCode ?? null,
          request_id: entry.requestId ?? null,
          ip: entry.ip ?? null,
          details: entry.details ? JSON.stringify(entry.details) : null,
        })
        .execute();
    },

    /**
     * Newest first; `before` is the id of the last entry of the previous page. With
     * `hideOperators` (a customer's view), what operators did to the account shows as done by
     * "operator": the platform's staff, their accounts and addresses are not the customer's business.
     */
    async list(query: AuditQuery, options: { hideOperators?: boolean } = {}): Promise<AuditEntryView[]> {
      let q = db
        .selectFrom('audit_log')
        .leftJoin('users as actor', 'actor.id', 'audit_log.actor_user_id')
        .selectAll('audit_log')
        .select('actor.role as actorRole')
        .orderBy('audit_log.id', 'desc')
        .limit(query.limit);
      if (query.accountId) q = q.where('audit_log.account_id', '=', query.accountId);
      if (query.actorUserId) q = q.where('audit_log.actor_user_id', '=', query.actorUserId);
      if (query.action) q = q.where('audit_log.action', '=', query.action);
      if (query.before) q = q.where('audit_log.id', '<', String(query.before));
      const rows = await q.execute();
      return rows.map((row) => {
        const hidden = options.hideOperators === true && row.actorRole === 'operator';
        return {
          id: Number(row.id),
          at: row.at.toISOString(),
          actorType: row.actor_type,
          actorUserId: hidden ? null : row.actor_user_id,
          actorLabel: hidden ? 'operator' : row.actor_label,
          accountId: row.account_id,
          action: row.action,
          targetType: row.target_type,
          targetId: row.target_id,
          outcome: row.outcome,
          statusCode: row.status_code,
          requestId: row.request_id,
          ip: hidden ? null : row.ip,
          details: row.details,
        };
      });
    },
  };
}
