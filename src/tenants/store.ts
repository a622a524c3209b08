import type { Insertable, Transaction, Updateable } from 'kysely';
import { sql } from 'kysely';
import type { Database, Db, TenantEventRow, TenantRow, TenantsTable } from '../db/index.js';
import { NotFoundError } from '../errors/index.js';
import { type DomainEvent, publishDomainEvents } from '../events/index.js';
import { requireTransition, type TenantAction, type TenantState, type TransitionContext } from './lifecycle.js';
import type { ProvisioningStep } from './provisioning-steps.js';
import type { TenantEventView } from './views.js';

/**
 * The one owner of the tenant tables (`tenants`, `tenant_events`): every other folder reads and
 * writes them through these functions. Each takes the executor last and optionally: a caller's
 * transaction (so its change, the tenant's timeline, the domain events and a queued job commit
 * or roll back together), or the platform database. Writes that change what a tenant is publish
 * the matching domain event (events/) in the same transaction.
 */
export type Executor = Db | Transaction<Database>;

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

export interface TimelineEntry {
  type: TenantEventRow['type'];
  fromState?: string;
  toState?: string;
  step?: string;
  message?: string;
  actorUserId?: string | null;
}

export type NewTenant = Insertable<TenantsTable>;
export type TenantChange = Updateable<TenantsTable>;

/** Runs `work` in the caller's transaction, or in a new one. */
export function inTransaction<T>(db: Executor, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db as Transaction<Database>) : db.transaction().execute(work);
}

async function insertTimelineEntry(trx: Transaction<Database>, tenantId: string, event: TimelineEntry): Promise<TenantEventRow> {
  return trx
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
}

/** The domain event a timeline entry is (a state entry is a state change; any other, a timeline entry). */
function domainEventOf(tenantId: string, row: TenantEventRow): DomainEvent {
  const eventId = Number(row.id);
  return row.type === 'state' && row.to_state
    ? { type: 'tenant.state_changed', payload: { tenantId, fromState: row.from_state, toState: row.to_state, eventId } }
    : { type: 'tenant.timeline_recorded', payload: { tenantId, eventId, kind: row.type === 'state' ? 'info' : row.type } };
}

/** Appends to a tenant's timeline and publishes it (delivered to subscribers once committed). */
export async function recordTenantEvent(db: Executor, tenantId: string, event: TimelineEntry): Promise<TenantEventView> {
  return inTransaction(db, async (trx) => {
    const row = await insertTimelineEntry(trx, tenantId, event);
    await publishDomainEvents(trx, domainEventOf(tenantId, row));
    return toEventView(row);
  });
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
 * checked (a refusal is a 409 naming the current state), the state written, the event recorded
 * and published. `extra` columns are written in the same update. Given a transaction, all of it
 * happens in that transaction (the caller may queue the resulting job in it too).
 */
export async function changeTenantState(
  db: Executor,
  tenantId: string,
  action: TenantAction,
  options: {
    actorUserId?: string | null;
    reason?: string;
    extra?: TenantChange;
    now?: Date;
    /** Further checks in the same transaction, once the transition is allowed (e.g. plan limits). */
    beforeChange?: (trx: Transaction<Database>, tenant: TenantRow) => Promise<void>;
  } = {},
): Promise<TenantRow> {
  return inTransaction(db, async (trx) => {
    // NO KEY UPDATE: conflicts with other changes of the tenant, not with rows that reference it.
    const tenant = await trx.selectFrom('tenants').selectAll().where('id', '=', tenantId).forNoKeyUpdate().executeTakeFirst();
    if (!tenant) throw new NotFoundError('Tenant');
    // `now` is the caller's clock for the time-window rules (the lifecycle sweep passes its own).
    const now = options.now ?? new Date();
    const next = requireTransition(tenant.state as TenantState, action, await transitionContext(trx, tenant, now));
    await options.beforeChange?.(trx, tenant);
    const updated = await trx
      .updateTable('tenants')
      .set({ ...(options.extra ?? {}), state: next, state_reason: options.reason ?? null, state_changed_at: now, updated_at: now })
      .where('id', '=', tenantId)
      .returningAll()
      .executeTakeFirstOrThrow();
    const row = await insertTimelineEntry(trx, tenantId, {
      type: 'state',
      fromState: tenant.state,
      toState: next,
      message: options.reason ?? action.replaceAll('_', ' '),
      actorUserId: options.actorUserId ?? null,
    });
    const events = [domainEventOf(tenantId, row)];
    if (next === 'deleted') events.push({ type: 'tenant.deleted', payload: { tenantId, name: tenant.name } });
    await publishDomainEvents(trx, ...events);
    return updated;
  });
}

/**
 * Inserts a new tenant with its first timeline entry and publishes `tenant.created`, in the
 * caller's transaction (which queues its provisioning job too: all or nothing).
 */
export async function insertTenant(
  values: NewTenant,
  firstEntry: Omit<TimelineEntry, 'type' | 'fromState' | 'toState'>,
  trx: Transaction<Database>,
): Promise<TenantRow> {
  const tenant = await trx.insertInto('tenants').values(values).returningAll().executeTakeFirstOrThrow();
  const row = await insertTimelineEntry(trx, tenant.id, { ...firstEntry, type: 'state', toState: tenant.state });
  await publishDomainEvents(
    trx,
    { type: 'tenant.created', payload: { tenantId: tenant.id, name: tenant.name, state: tenant.state, eventId: Number(row.id) } },
    domainEventOf(tenant.id, row),
  );
  return tenant;
}

/** Columns that are not the lifecycle state (provisioning progress, placement, job): no event. */
export async function updateTenant(tenantId: string, change: TenantChange, db: Executor): Promise<TenantRow> {
  const row = await db
    .updateTable('tenants')
    .set({ ...change, updated_at: change.updated_at ?? new Date() })
    .where('id', '=', tenantId)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new NotFoundError('Tenant');
  return row;
}

export async function tenantById(tenantId: string, db: Executor): Promise<TenantRow | undefined> {
  return db.selectFrom('tenants').selectAll().where('id', '=', tenantId).executeTakeFirst();
}

/** The tenant holding this name: the live one, else the latest deleted one. */
export async function tenantByName(name: string, db: Executor): Promise<TenantRow | undefined> {
  return db
    .selectFrom('tenants')
    .selectAll()
    .where('name', '=', name)
    .orderBy(sql`state = 'deleted'`)
    .orderBy('created_at', 'desc')
    .executeTakeFirst();
}

/** A name stays taken while its tenant exists in any state but `deleted` (terminated ones can come back). */
export async function tenantNameTaken(name: string, db: Executor): Promise<boolean> {
  const row = await db.selectFrom('tenants').select('id').where('name', '=', name).where('state', '<>', 'deleted').executeTakeFirst();
  return row !== undefined;
}

export interface TenantFilter {
  accountId?: string | undefined;
  /** One state; without it, every state but `deleted`. */
  state?: string | undefined;
  plan?: string | undefined;
  serverId?: string | undefined;
  /** Part of the name (no wildcards). */
  search?: string | undefined;
  limit: number;
  offset: number;
}

/** Tenants matching the filter, newest first. */
export async function listTenants(filter: TenantFilter, db: Executor): Promise<TenantRow[]> {
  let q = db.selectFrom('tenants').selectAll().orderBy('created_at', 'desc').limit(filter.limit).offset(filter.offset);
  if (filter.accountId) q = q.where('account_id', '=', filter.accountId);
  q = filter.state ? q.where('state', '=', filter.state) : q.where('state', '<>', 'deleted');
  if (filter.plan) q = q.where('plan_code', '=', filter.plan);
  if (filter.serverId) q = q.where('server_id', '=', filter.serverId);
  if (filter.search) q = q.where('name', 'like', `%${filter.search.toLowerCase().replace(/[\\%_]/g, '\\$&')}%`);
  return q.execute();
}

/** Placed tenants in one of these states (the runtime restores the served ones after a restart). */
export async function placedTenantsIn(states: readonly TenantState[], db: Executor): Promise<TenantRow[]> {
  return db.selectFrom('tenants').selectAll().where('state', 'in', states).where('server_id', 'is not', null).execute();
}

/** Ids of tenants in `state` whose `since` column is at or before `before` (the lifecycle timers). */
export async function tenantIdsInStateSince(
  state: TenantState,
  since: 'state_changed_at' | 'terminated_at',
  before: Date,
  db: Executor,
): Promise<string[]> {
  const rows = await db.selectFrom('tenants').select('id').where('state', '=', state).where(since, '<=', before).execute();
  return rows.map((row) => row.id);
}

/** How many tenants of the account are on each plan, leaving out those in `excluded` states. */
export async function tenantsPerPlan(accountId: string, excluded: readonly TenantState[], db: Executor): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('tenants')
    .select(['plan_code', sql<number>`count(*)::int`.as('count')])
    .where('account_id', '=', accountId)
    .where('state', 'not in', excluded)
    .groupBy('plan_code')
    .execute();
  return new Map(rows.map((r) => [r.plan_code, r.count]));
}

/**
 * Tenants of the account created in the last `seconds` by anyone but an operator (deleted ones
 * included), and the seconds until the oldest of them leaves the window, on the database's clock.
 */
export async function creationsByCustomers(
  accountId: string,
  seconds: number,
  db: Executor,
): Promise<{ count: number; retryAfter: number }> {
  return db
    .selectFrom('tenants')
    .leftJoin('users', 'users.id', 'tenants.created_by')
    .select([
      sql<number>`count(*)::int`.as('count'),
      sql<number>`ceil(extract(epoch from min(tenants.created_at) + make_interval(secs => ${seconds}) - now()))::int`.as('retryAfter'),
    ])
    .where('tenants.account_id', '=', accountId)
    .where('tenants.created_at', '>', sql<Date>`now() - make_interval(secs => ${seconds})`)
    .where((eb) => eb.or([eb('users.role', 'is', null), eb('users.role', '<>', 'operator')]))
    .executeTakeFirstOrThrow();
}

/** What the gateway routes by: every tenant but deleted ones, or one tenant in any state. */
export type TenantRouting = Pick<TenantRow, 'id' | 'name' | 'database_name' | 'state'>;

export async function routableTenants(db: Executor): Promise<TenantRouting[]> {
  return db.selectFrom('tenants').select(['id', 'name', 'database_name', 'state']).where('state', '<>', 'deleted').execute();
}

export async function tenantRouting(tenantId: string, db: Executor): Promise<TenantRouting | undefined> {
  return db.selectFrom('tenants').select(['id', 'name', 'database_name', 'state']).where('id', '=', tenantId).executeTakeFirst();
}

/** How many tenants (all but deleted ones) each database server holds. */
export async function tenantCountsPerServer(db: Executor): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('tenants')
    .select(['server_id', sql<number>`count(*)::int`.as('count')])
    .where('state', '<>', 'deleted')
    .where('server_id', 'is not', null)
    .groupBy('server_id')
    .execute();
  return new Map(rows.map((r) => [r.server_id ?? '', r.count]));
}

/**
 * Tenants placed on one server (not deleted), by how their Odoo runs: what its connection
 * budget counts. `exceptTenantId` leaves out a tenant moving there or within it (it is the one added).
 */
export async function tenantCountsPerProcessOnServer(
  serverId: string,
  db: Executor,
  exceptTenantId?: string,
): Promise<{ poolTenants: number; dedicatedTenants: number }> {
  let query = db
    .selectFrom('tenants')
    .select(['process_strategy', sql<number>`count(*)::int`.as('count')])
    .where('state', '<>', 'deleted')
    .where('server_id', '=', serverId);
  if (exceptTenantId) query = query.where('id', '<>', exceptTenantId);
  const rows = await query.groupBy('process_strategy').execute();
  const count = (strategy: string) => rows.find((r) => r.process_strategy === strategy)?.count ?? 0;
  return { poolTenants: count('pool'), dedicatedTenants: count('dedicated') };
}

/** Deleted tenants let go of a server that is being removed. */
export async function releaseServerOfDeletedTenants(serverId: string, db: Executor): Promise<void> {
  await db.updateTable('tenants').set({ server_id: null }).where('server_id', '=', serverId).where('state', '=', 'deleted').execute();
}

/** A tenant's timeline after `afterId`, oldest first. */
export async function tenantEventsAfter(tenantId: string, afterId: number, limit: number, db: Executor): Promise<TenantEventView[]> {
  const rows = await db
    .selectFrom('tenant_events')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('id', '>', String(afterId))
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map(toEventView);
}

/**
 * The state each tenant was in before its current one (from its latest state event), in one
 * query for a whole list: the lifecycle needs it to offer cancel_delete and retry.
 */
export async function previousStates(ids: string[], db: Executor): Promise<Map<string, TenantState>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('tenant_events')
    .select(['tenant_id', 'from_state'])
    .distinctOn('tenant_id')
    .where('tenant_id', 'in', ids)
    .where('type', '=', 'state')
    .orderBy('tenant_id')
    .orderBy('id', 'desc')
    .execute();
  return new Map(rows.filter((r) => r.from_state).map((r) => [r.tenant_id, r.from_state as TenantState]));
}

/** What metrics read of every tenant (deleted ones too: provisioning durations are cumulative). */
export interface TenantMetricsRow {
  id: string;
  name: string;
  state: string;
  plan_code: string;
  created_at: Date;
  provision_seconds: number | null;
}

export async function tenantsForMetrics(db: Executor): Promise<TenantMetricsRow[]> {
  return db
    .selectFrom('tenants')
    .select([
      'id',
      'name',
      'state',
      'plan_code',
      'created_at',
      sql<number | null>`extract(epoch from provision_finished_at - provision_started_at)::float8`.as('provision_seconds'),
    ])
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}
