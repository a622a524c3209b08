import { sql, type Transaction } from 'kysely';
import type { Database, Db, TenantEventRow, TenantRow } from '../db/index.js';
import { NotFoundError } from '../errors/index.js';
import { requireTransition, type TenantAction, type TenantState, type TransitionContext } from './lifecycle.js';
import type { ProvisioningStep } from './provisioning-steps.js';
import type { TenantEventView } from './views.js';

/** Channels other replicas listen on (db/notifications.ts). */
export const TENANT_EVENTS_CHANNEL = 'tenant_events';

export function toEventView(row: TenantEventRow): TenantEventView {
  return {
    id: Number(row.id),
    at: row.at.toISOString(),
    type: row.type,
    fromState: row.from_state as TenantState | null,
    toState: row.to_state as TenantState | null,
    step: row.step as ProvisioningStep | null,
    message: row.message,
  };
}

type Executor = Db | Transaction<Database>;

/** Appends to a tenant's timeline and tells every replica (delivered when the transaction commits). */
export async function recordTenantEvent(
  db: Executor,
  tenantId: string,
  event: {
    type: TenantEventRow['type'];
    fromState?: string;
    toState?: string;
    step?: string;
    message?: string;
    actorUserId?: string | null;
  },
): Promise<TenantEventView> {
  const row = await db
    .insertInto('tenant_events')
    .values({
      tenant_id: tenantId,
      type: event.type,
      from_state: event.fromState ?? null,
      to_state: event.toState ?? null,
      step: event.step ?? null,
      message: event.message ?? null,
      actor_user_id: event.actorUserId ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  // State changes carry the new state, so gateways can switch routes before any reload query.
  const payload = { tenantId, eventId: Number(row.id), ...(event.type === 'state' && event.toState ? { state: event.toState } : {}) };
  await sql`SELECT pg_notify(${TENANT_EVENTS_CHANNEL}, ${JSON.stringify(payload)})`.execute(db);
  return toEventView(row);
}

/** What the lifecycle rules need to know about a tenant's history. */
export async function transitionContext(db: Executor, tenant: TenantRow, now = new Date()): Promise<TransitionContext> {
  const lastStateEvent = await db
    .selectFrom('tenant_events')
    .select('from_state')
    .where('tenant_id', '=', tenant.id)
    .where('type', '=', 'state')
    .where('to_state', '=', tenant.state)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return {
    now,
    createdAt: tenant.created_at,
    deletionScheduledAt: tenant.state === 'scheduled_for_deletion' ? tenant.state_changed_at : null,
    terminatedAt: tenant.terminated_at,
    previousState: (lastStateEvent?.from_state as TenantState | null | undefined) ?? null,
  };
}

/**
 * Moves a tenant through the lifecycle table, atomically: the row is locked, the transition
 * checked (a refusal is a 409 naming the current state), the state written and the event
 * recorded. `extra` columns are written in the same update.
 */
export async function changeTenantState(
  db: Db,
  tenantId: string,
  action: TenantAction,
  options: {
    actorUserId?: string | null;
    reason?: string;
    extra?: Partial<Record<keyof TenantRow, unknown>>;
    now?: Date;
    /** Further checks in the same transaction, once the transition is allowed (e.g. plan limits). */
    beforeChange?: (trx: Transaction<Database>, tenant: TenantRow) => Promise<void>;
  } = {},
): Promise<TenantRow> {
  return db.transaction().execute(async (trx) => {
    const tenant = await trx.selectFrom('tenants').selectAll().where('id', '=', tenantId).forUpdate().executeTakeFirst();
    if (!tenant) throw new NotFoundError('Tenant');
    // `now` is the caller's clock for the time-window rules (the lifecycle sweep passes its own).
    const now = options.now ?? new Date();
    const next = requireTransition(tenant.state as TenantState, action, await transitionContext(trx, tenant, now));
    await options.beforeChange?.(trx, tenant);
    const updated = await trx
      .updateTable('tenants')
      .set({
        ...(options.extra ?? {}),
        state: next,
        state_reason: options.reason ?? null,
        state_changed_at: now,
        updated_at: now,
      } as never)
      .where('id', '=', tenantId)
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordTenantEvent(trx, tenantId, {
      type: 'state',
      fromState: tenant.state,
      toState: next,
      message: options.reason ?? action.replaceAll('_', ' '),
      actorUserId: options.actorUserId ?? null,
    });
    return updated;
  });
}
