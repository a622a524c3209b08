import { randomBytes } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import type { Principal } from '../auth/index.js';
import { checkPasswordPolicy } from '../auth/index.js';
import type { Database, Db, TenantRow } from '../db/index.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors/index.js';
import { storedPlanLimits, storedPlanPlacement } from '../plans/index.js';
import type { SecretBox } from '../secrets/index.js';
import { eventForCustomer, stateReasonForCustomer } from './customer-view.js';
import { allowedActions, mayRequest, type TenantRequest, type TenantState, transition } from './lifecycle.js';
import { lockAccountTenants, placesHeld, requireCreationAllowance, requirePlanRoom } from './limits.js';
import type { ProvisioningStep } from './provisioning-steps.js';
import { changeTenantState, recordTenantEvent, toEventView, transitionContext } from './store.js';
import { tenantPostgresNames, validateSubdomain } from './subdomain.js';
import type { TenantEventView, TenantQuota, TenantView } from './views.js';

/** What the tenant service needs from provisioning (injected: provisioning depends on tenants, not the reverse). */
export interface TenantOperationsPort {
  enqueue(tenantId: string, operation: 'provision' | 'start' | 'restart' | 'stop' | 'unserve' | 'deprovision'): Promise<string>;
}

export interface CreateTenantInput {
  name: string;
  plan: string;
  template: string;
  adminEmail: string;
  adminPassword: string;
  /** Operators may create a tenant for a given account; customers always create in their own. */
  accountId?: string | undefined;
}

export interface TenantListQuery {
  state?: string | undefined;
  plan?: string | undefined;
  serverId?: string | undefined;
  accountId?: string | undefined;
  search?: string | undefined;
  limit: number;
  offset: number;
}

/** Which queued operation carries out each accepted request, given the state it led to. */
function operationFor(action: TenantRequest, next: TenantState): Parameters<TenantOperationsPort['enqueue']>[1] | undefined {
  if (next === 'deleted') return 'deprovision';
  if (action === 'restart') return 'restart';
  if (next === 'starting') return 'start';
  if (next === 'provisioning') return 'provision';
  if (next === 'stopping') return 'stop';
  if (next === 'suspended' || next === 'scheduled_for_deletion' || next === 'terminated') return 'unserve';
  return undefined;
}

const DELETION_GRACE_HOURS = 12;

export type TenantService = ReturnType<typeof createTenantService>;

export function createTenantService(deps: {
  db: Db;
  secretBox: SecretBox;
  operations: TenantOperationsPort;
  tenantHostName: (name: string) => string;
  tenantBaseUrl: (name: string) => string;
  /** Tenants one account may create per hour (0: no limit); operators are exempt. */
  creationRateLimitPerHour: number;
}) {
  const { db, secretBox, operations } = deps;

  /**
   * The state each tenant was in before its current one (from its latest state event), in one
   * query for a whole list: the lifecycle needs it to offer cancel_delete and retry.
   */
  async function previousStates(ids: string[]): Promise<Map<string, TenantState>> {
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

  async function views(rows: TenantRow[], role: 'customer' | 'operator'): Promise<TenantView[]> {
    const previous = await previousStates(rows.map((r) => r.id));
    return rows.map((row) => toView(row, role, previous.get(row.id) ?? null));
  }

  async function view(row: TenantRow, role: 'customer' | 'operator'): Promise<TenantView> {
    return (await views([row], role))[0] as TenantView;
  }

  function toView(row: TenantRow, role: 'customer' | 'operator', previousState: TenantState | null): TenantView {
    const provisionMs =
      row.provision_started_at && row.provision_finished_at
        ? row.provision_finished_at.getTime() - row.provision_started_at.getTime()
        : null;
    const operator = role === 'operator';
    return {
      id: row.id,
      name: row.name,
      hostName: deps.tenantHostName(row.name),
      url: deps.tenantBaseUrl(row.name),
      accountId: row.account_id,
      plan: row.plan_code,
      template: row.template_code,
      state: row.state as TenantState,
      stateReason: operator ? row.state_reason : stateReasonForCustomer(row.state, row.state_reason),
      stateChangedAt: row.state_changed_at.toISOString(),
      ...(operator ? { databaseName: row.database_name, databaseServerId: row.server_id } : {}),
      processStrategy: row.process_strategy,
      adminEmail: row.admin_email,
      adminLogin: row.admin_login,
      provisioningStep: row.provisioning_step as ProvisioningStep | null,
      jobId: row.job_id,
      duplicateOf: row.source_tenant_id,
      deleteAfter: row.delete_after?.toISOString() ?? null,
      terminatedAt: row.terminated_at?.toISOString() ?? null,
      provisionSeconds: provisionMs === null ? null : provisionMs / 1000,
      createdAt: row.created_at.toISOString(),
      allowedActions: allowedActions(row.state as TenantState, role, {
        now: new Date(),
        createdAt: row.created_at,
        deletionScheduledAt: row.state === 'scheduled_for_deletion' ? row.state_changed_at : null,
        terminatedAt: row.terminated_at,
        previousState,
      }),
    };
  }

  /** The tenant by name, if the caller may see it (another account's tenant is "not found"). */
  async function findVisible(principal: Principal, name: string): Promise<TenantRow> {
    const row = await db
      .selectFrom('tenants')
      .selectAll()
      .where('name', '=', name.toLowerCase())
      .orderBy(sql`state = 'deleted'`)
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    if (!row || (principal.role !== 'operator' && row.account_id !== principal.accountId))
      throw new NotFoundError(`Tenant ${name}`, { field: 'name' });
    return row;
  }

  /** A name stays taken while its tenant exists in any state but `deleted` (terminated ones can come back). */
  async function nameTaken(name: string): Promise<boolean> {
    const row = await db.selectFrom('tenants').select('id').where('name', '=', name).where('state', '<>', 'deleted').executeTakeFirst();
    return row !== undefined;
  }

  async function validateNewTenant(input: { name: string; plan: string; template?: string }, role: Principal['role']) {
    const checked = validateSubdomain(input.name);
    if (!checked.ok) throw new ValidationError(`Name: ${checked.reason}`, { field: 'name' });
    const plan = await db
      .selectFrom('plans')
      .select(['code', 'archived_at', 'placement'])
      .where('code', '=', input.plan)
      .executeTakeFirst();
    if (!plan || plan.archived_at)
      throw new ValidationError(`Plan ${input.plan} is not offered; see GET /api/v1/plans.`, { field: 'plan' });
    if (input.template) {
      const template = await db.selectFrom('templates').select('code').where('code', '=', input.template).executeTakeFirst();
      if (!template)
        throw new ValidationError(`Template ${input.template} does not exist; see GET /api/v1/templates.`, { field: 'template' });
      const ready = await db
        .selectFrom('template_builds')
        .select('id')
        .where('template_code', '=', input.template)
        .where('odoo_version', 'is not', null)
        .where('database_name', '<>', '')
        .executeTakeFirst();
      if (!ready) {
        const hint =
          role === 'operator' ? `build it with: saasctl templates build ${input.template}` : 'choose another template or try again later';
        throw new ConflictError(`Template ${input.template} is not ready yet; ${hint}.`, { field: 'template' });
      }
    }
    const taken = await nameTaken(checked.subdomain);
    if (taken) throw new ConflictError(`The name ${checked.subdomain} is taken; choose another.`, { field: 'name' });
    return { name: checked.subdomain, placement: storedPlanPlacement(plan) };
  }

  type NewTenant = Parameters<ReturnType<Db['insertInto']>['values']>[0];

  async function insertTenant(trx: Transaction<Database>, values: NewTenant): Promise<TenantRow> {
    return (
      trx
        .insertInto('tenants')
        .values(values as never)
        .returningAll()
        .executeTakeFirstOrThrow() as Promise<TenantRow>
    ).catch((error: { code?: string }) => {
      if (error.code === '23505') throw new ConflictError('This name was just taken; choose another.', { field: 'name' });
      throw error;
    });
  }

  /**
   * Inserts a new tenant (created or a staging copy) and records its first events, in one
   * transaction that first checks the account's plan limit and creation rate (customers only;
   * operators are exempt), so concurrent requests of one account cannot slip past the limits.
   */
  async function insertWithinLimits(
    principal: Principal,
    values: NewTenant & { account_id: string; plan_code: string },
    request: 'create' | 'duplicate',
    recordEvents: (trx: Transaction<Database>, tenant: TenantRow) => Promise<void>,
  ): Promise<TenantRow> {
    return db.transaction().execute(async (trx) => {
      if (principal.role !== 'operator') {
        await lockAccountTenants(trx, values.account_id);
        await requirePlanRoom(trx, { accountId: values.account_id, planCode: values.plan_code, request });
        await requireCreationAllowance(trx, { accountId: values.account_id, perHour: deps.creationRateLimitPerHour });
      }
      const tenant = await insertTenant(trx, values);
      await recordEvents(trx, tenant);
      return tenant;
    });
  }

  return {
    /** Checks a wanted name without creating anything (the dashboard's live availability check). */
    async checkName(name: string): Promise<{ name: string; available: boolean; reason?: string }> {
      const checked = validateSubdomain(name);
      if (!checked.ok) return { name, available: false, reason: checked.reason };
      const taken = await nameTaken(checked.subdomain);
      return taken
        ? { name: checked.subdomain, available: false, reason: 'This name is taken.' }
        : { name: checked.subdomain, available: true };
    },

    async create(principal: Principal, input: CreateTenantInput): Promise<{ tenant: TenantView; jobId: string }> {
      const accountId = principal.role === 'operator' ? (input.accountId ?? principal.accountId) : principal.accountId;
      if (!accountId) throw new ValidationError('Operators must name the account the tenant belongs to.', { field: 'accountId' });
      if (principal.role === 'operator' && input.accountId) {
        const account = await db.selectFrom('accounts').select('id').where('id', '=', input.accountId).executeTakeFirst();
        if (!account) throw new ValidationError('No such account.', { field: 'accountId' });
      }
      const issues = checkPasswordPolicy(input.adminPassword, { email: input.adminEmail }, 'adminPassword');
      if (issues.length > 0) throw new ValidationError(issues.map((i) => i.message).join(' '), { issues });
      const { name, placement } = await validateNewTenant(input, principal.role);
      const names = tenantPostgresNames(name);
      const values = {
        name,
        account_id: accountId,
        plan_code: input.plan,
        template_code: input.template,
        state: 'provisioning',
        database_name: names.databaseName,
        role_name: names.roleName,
        role_password_encrypted: secretBox.encrypt(randomBytes(24).toString('base64url')),
        process_strategy: placement.processStrategy,
        admin_email: input.adminEmail,
        admin_login: input.adminEmail,
        // Kept (encrypted) only until the login check passed, then erased.
        admin_password_check_encrypted: secretBox.encrypt(input.adminPassword),
        created_by: principal.userId,
      };
      const tenant = await insertWithinLimits(principal, values, 'create', async (trx, inserted) => {
        await recordTenantEvent(trx, inserted.id, {
          type: 'state',
          toState: 'provisioning',
          message: 'tenant requested',
          actorUserId: principal.userId,
        });
      });
      const jobId = await operations.enqueue(tenant.id, 'provision');
      return { tenant: await view({ ...tenant, job_id: jobId }, principal.role), jobId };
    },

    async get(principal: Principal, name: string): Promise<TenantView> {
      return view(await findVisible(principal, name), principal.role);
    },

    /** The tenant row for internal callers that already checked visibility (events, logs). */
    async visibleRow(principal: Principal, name: string): Promise<TenantRow> {
      return findVisible(principal, name);
    },

    async list(principal: Principal, query: TenantListQuery): Promise<TenantView[]> {
      let q = db.selectFrom('tenants').selectAll().orderBy('created_at', 'desc').limit(query.limit).offset(query.offset);
      if (principal.role !== 'operator') q = q.where('account_id', '=', principal.accountId ?? '00000000-0000-0000-0000-000000000000');
      else if (query.accountId) q = q.where('account_id', '=', query.accountId);
      if (query.state) q = q.where('state', '=', query.state);
      else q = q.where('state', '<>', 'deleted');
      if (query.plan) q = q.where('plan_code', '=', query.plan);
      if (query.serverId) q = q.where('server_id', '=', query.serverId);
      if (query.search) q = q.where('name', 'like', `%${query.search.toLowerCase().replace(/[\\%_]/g, '\\$&')}%`);
      return views(await q.execute(), principal.role);
    },

    /** Applies a lifecycle request: checks role and state (409 naming the state), then queues the work. */
    async act(
      principal: Principal,
      name: string,
      action: TenantRequest,
      reason?: string,
    ): Promise<{ tenant: TenantView; jobId: string | null }> {
      const tenant = await findVisible(principal, name);
      if (!mayRequest(principal.role, action)) throw new ForbiddenError(`Only operators may ${action.replaceAll('_', ' ')} a tenant.`);
      if (action === 'duplicate' || action === 'create' || action === 'change_plan') {
        throw new ValidationError(`Use the dedicated endpoint for ${action}.`, { field: 'action' });
      }
      const now = new Date();
      const check = transition(tenant.state as TenantState, action, await transitionContext(db, tenant, now));
      if (!check.ok) {
        // missing_context: the history does not say what to retry or return to (e.g. a retry
        // after a cancelled deletion of a failed tenant); the caller can start or delete it.
        const hint = check.code === 'missing_context' ? ' Start or delete the tenant instead.' : '';
        throw new ConflictError(`${check.reason}${hint} (current state: ${tenant.state})`, { details: { state: tenant.state } });
      }
      const extra: Record<string, unknown> = {};
      if (action === 'schedule_delete') extra.delete_after = new Date(now.getTime() + DELETION_GRACE_HOURS * 3600_000);
      if (action === 'cancel_delete') extra.delete_after = null;
      if (action === 'terminate') extra.terminated_at = now;
      if (action === 'reactivate') extra.terminated_at = null;
      if (action === 'retry') Object.assign(extra, { provisioning_step: null });
      // A terminated tenant gave up its place on the plan: coming back needs a free one again.
      const needsPlace = action === 'reactivate' && principal.role !== 'operator';
      const updated = await changeTenantState(db, tenant.id, action, {
        actorUserId: principal.userId,
        reason: reason ?? `${action.replaceAll('_', ' ')} requested`,
        extra: extra as never,
        ...(needsPlace
          ? {
              beforeChange: async (trx, row) => {
                await lockAccountTenants(trx, row.account_id);
                await requirePlanRoom(trx, { accountId: row.account_id, planCode: row.plan_code, request: 'reactivate' });
              },
            }
          : {}),
      });
      const operation = operationFor(action, updated.state as TenantState);
      const jobId = operation ? await operations.enqueue(tenant.id, operation) : null;
      return { tenant: await view({ ...updated, job_id: jobId ?? updated.job_id }, principal.role), jobId };
    },

    /** A neutralised staging copy of a running or stopped tenant, under a new name. */
    async duplicate(
      principal: Principal,
      name: string,
      input: { name: string; adminPassword: string },
    ): Promise<{ tenant: TenantView; jobId: string }> {
      const source = await findVisible(principal, name);
      const check = transition(source.state as TenantState, 'duplicate');
      if (!check.ok) throw new ConflictError(`${check.reason} (current state: ${source.state})`, { details: { state: source.state } });
      const issues = checkPasswordPolicy(input.adminPassword, { email: source.admin_email }, 'adminPassword');
      if (issues.length > 0) throw new ValidationError(issues.map((i) => i.message).join(' '), { issues });
      const { name: copyName } = await validateNewTenant({ name: input.name, plan: source.plan_code }, principal.role);
      const names = tenantPostgresNames(copyName);
      const values = {
        name: copyName,
        account_id: source.account_id,
        plan_code: source.plan_code,
        template_code: source.template_code,
        state: 'provisioning',
        database_name: names.databaseName,
        role_name: names.roleName,
        role_password_encrypted: secretBox.encrypt(randomBytes(24).toString('base64url')),
        process_strategy: source.process_strategy,
        admin_email: source.admin_email,
        admin_login: source.admin_login,
        admin_password_check_encrypted: secretBox.encrypt(input.adminPassword),
        source_tenant_id: source.id,
        created_by: principal.userId,
      };
      const copy = await insertWithinLimits(principal, values, 'duplicate', async (trx, inserted) => {
        await recordTenantEvent(trx, inserted.id, {
          type: 'state',
          toState: 'provisioning',
          message: `staging copy of ${source.name}`,
          actorUserId: principal.userId,
        });
        await recordTenantEvent(trx, source.id, {
          type: 'info',
          message: `staging copy ${copyName} requested`,
          actorUserId: principal.userId,
        });
      });
      const jobId = await operations.enqueue(copy.id, 'provision');
      return { tenant: await view({ ...copy, job_id: jobId }, principal.role), jobId };
    },

    async events(principal: Principal, name: string, options: { afterId?: number; limit?: number } = {}): Promise<TenantEventView[]> {
      const tenant = await findVisible(principal, name);
      const rows = await db
        .selectFrom('tenant_events')
        .selectAll()
        .where('tenant_id', '=', tenant.id)
        .where('id', '>', String(options.afterId ?? 0))
        .orderBy('id')
        .limit(options.limit ?? 500)
        .execute();
      const events = rows.map(toEventView);
      return principal.role === 'operator' ? events : events.map(eventForCustomer);
    },

    /**
     * The account's tenants per plan against each plan's limit (the dashboard shows "1 of 1 Basic
     * instances used"). Customers get their own account whatever they ask; operators name one
     * (none named: nothing to count, an empty list).
     */
    async quota(principal: Principal, accountId?: string): Promise<TenantQuota[]> {
      const account = principal.role === 'operator' ? accountId : principal.accountId;
      if (!account) return [];
      const [plans, held] = await Promise.all([
        db.selectFrom('plans').select(['code', 'limits']).where('archived_at', 'is', null).orderBy('sort_order').orderBy('code').execute(),
        placesHeld(db, account),
      ]);
      return plans.map((plan) => ({ plan: plan.code, used: held.get(plan.code) ?? 0, limit: storedPlanLimits(plan).maxTenantsPerAccount }));
    },

    async rowById(id: string): Promise<TenantRow | undefined> {
      return db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
    },

    view,
  };
}
