import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Principal } from '../auth/index.js';
import { checkPasswordPolicy } from '../auth/index.js';
import type { Database, Db, TenantRow } from '../db/index.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors/index.js';
import { majorSeries } from '../odoo/index.js';
import { DEFAULT_RUNTIME_KIND, type PlanPlacement, storedPlanLimits, storedPlanPlacement } from '../plans/index.js';
import type { SecretBox } from '../secrets/index.js';
import { eventForCustomer } from './customer-view.js';
import { initialTenantState, mayRequest, type TenantAction, type TenantRequest, type TenantState, transition } from './lifecycle.js';
import { lockAccountTenants, placesHeld, requireCreationAllowance, requirePlanRoom } from './limits.js';
import {
  changeTenantState,
  insertTenant,
  listTenants,
  type NewTenant,
  previousStates,
  recordTenantEvent,
  type TenantChange,
  tenantById,
  tenantByName,
  tenantEventsAfter,
  tenantNameTaken,
  transitionContext,
} from './store.js';
import { tenantPostgresNames, validateSubdomain } from './subdomain.js';
import { tenantView } from './tenant-view.js';
import type { TenantEventView, TenantQuota, TenantView } from './views.js';

/** What the tenant service needs from provisioning (injected: provisioning depends on tenants, not the reverse). */
export interface TenantOperationsPort {
  /** Queues the operation; given a transaction, the job exists only if that transaction commits. */
  enqueue(
    tenantId: string,
    operation: 'provision' | 'start' | 'restart' | 'stop' | 'unserve' | 'deprovision',
    trx?: Transaction<Database>,
  ): Promise<string>;
}

export interface CreateTenantInput {
  name: string;
  plan: string;
  template: string;
  adminEmail: string;
  adminPassword: string;
  /** Operators may create a tenant for a given account; customers always create in their own. */
  accountId?: string | undefined;
  /**
   * A paid plan without a trial: the tenant waits in `pending_payment`, unprovisioned, until
   * billing reports the first payment (or deletes it when the payment window closes).
   */
  awaitingPayment?: boolean;
  /**
   * More writes of the creating transaction, given the inserted tenant (the API subscribes a
   * paid plan's tenant here): a failure rolls the tenant back, never a half-made one.
   */
  afterInsert?: ((trx: Transaction<Database>, tenant: TenantRow) => Promise<void>) | undefined;
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
function operationFor(action: TenantAction, next: TenantState): Parameters<TenantOperationsPort['enqueue']>[1] | undefined {
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
  /**
   * Whether instances can be created at all (no Odoo installed: no template can ever be built),
   * with the message for each role: customers never read an operator command.
   */
  platformReadiness?: (
    role: Principal['role'],
  ) => Promise<{ canCreateInstances: boolean; operatorMessage: string | null; customerMessage: string | null }>;
  /**
   * The Odoo series side by side: the series of a template that names none, and those that can run
   * now. A tenant runs its template's series; one that cannot run yet is refused, saying so.
   */
  odooSeries?: { defaultSeries(): Promise<string>; available(): Promise<string[]> };
  /** Test-only fault injection (crash-safety tests): called once a new tenant's transaction committed. */
  crashPoint?: (point: 'create:committed') => void;
}) {
  const { db, secretBox, operations } = deps;

  async function views(rows: TenantRow[], role: 'customer' | 'operator'): Promise<TenantView[]> {
    const previous = await previousStates(
      rows.map((r) => r.id),
      db,
    );
    return rows.map((row) => tenantView(row, role, previous.get(row.id) ?? null, deps));
  }

  async function view(row: TenantRow, role: 'customer' | 'operator'): Promise<TenantView> {
    return (await views([row], role))[0] as TenantView;
  }

  /** The tenant by name, if the caller may see it (another account's tenant is "not found"). */
  async function findVisible(principal: Principal, name: string): Promise<TenantRow> {
    const row = await tenantByName(name.toLowerCase(), db);
    if (!row || (principal.role !== 'operator' && row.account_id !== principal.accountId))
      throw new NotFoundError(`Tenant ${name}`, { field: 'name' });
    return row;
  }

  /**
   * The series a new tenant runs: its template's (none named: the default series). Refused (409)
   * when the plan offers other series only, or when that series cannot run here yet: customers read
   * that the platform is not ready for it, operators what to install.
   */
  async function seriesOfNewTenant(
    input: { plan: string; template: string; series: string | null },
    placement: PlanPlacement,
    role: Principal['role'],
  ): Promise<string | null> {
    const series = input.series ?? (await deps.odooSeries?.defaultSeries()) ?? null;
    if (!series) return null;
    const offered = placement.odooSeries;
    if (offered && !offered.includes(series as (typeof offered)[number]))
      throw new ConflictError(
        `Plan ${input.plan} offers Odoo ${offered.join(', ')} only, and template ${input.template} is Odoo ${series}: ` +
          `choose a template of Odoo ${offered.join(' or ')}, or another plan.`,
        { field: 'template' },
      );
    const available = (await deps.odooSeries?.available()) ?? [];
    // No Odoo at all: the platform's readiness answers (below), as before series existed.
    if (available.length > 0 && !available.includes(series))
      throw new ConflictError(
        role === 'operator'
          ? `Odoo ${series} is not installed, and template ${input.template} is built with it: ` +
              `install it with \`saasctl odoo install ${series}\` (docs/operations/odoo.md).`
          : `The platform is not ready to create instances of Odoo ${series} yet. Please try again later or choose another template.`,
        { field: 'template' },
      );
    return series;
  }

  async function validateNewTenant(
    input: { name: string; plan: string; template?: string; series?: string | null },
    role: Principal['role'],
  ) {
    const checked = validateSubdomain(input.name);
    if (!checked.ok) throw new ValidationError(`Name: ${checked.reason}`, { field: 'name' });
    const plan = await db
      .selectFrom('plans')
      .select(['code', 'archived_at', 'placement'])
      .where('code', '=', input.plan)
      .executeTakeFirst();
    if (!plan || plan.archived_at)
      throw new ValidationError(`Plan ${input.plan} is not offered; see GET /api/v1/plans.`, { field: 'plan' });
    const placement = storedPlanPlacement(plan);
    let series = input.series ?? null;
    if (input.template) {
      const template = await db.selectFrom('templates').select(['code', 'series']).where('code', '=', input.template).executeTakeFirst();
      if (!template)
        throw new ValidationError(`Template ${input.template} does not exist; see GET /api/v1/templates.`, { field: 'template' });
      // A build running is enough: the tenant waits for it in provisioning (the `template` step).
      const usable = await db
        .selectFrom('template_builds')
        .select(['id', 'odoo_version'])
        .where('template_code', '=', input.template)
        .where((eb) => eb.or([eb.and([eb('odoo_version', 'is not', null), eb('database_name', '<>', '')]), eb('status', '=', 'building')]))
        .orderBy('odoo_version') // a ready build (its version) before one still building (nulls last)
        .executeTakeFirst();
      // A template naming no series: the series its build was made with is what the clone holds
      // (a replica without Odoo, whose default series may differ, creates tenants too).
      const built = usable?.odoo_version ? majorSeries(usable.odoo_version) : null;
      series = await seriesOfNewTenant({ plan: input.plan, template: input.template, series: template.series ?? built }, placement, role);
      if (!usable) {
        const readiness = await deps.platformReadiness?.(role);
        if (readiness && !readiness.canCreateInstances)
          throw new ConflictError((role === 'operator' ? readiness.operatorMessage : readiness.customerMessage) ?? 'Not ready.', {
            field: 'template',
          });
        const hint =
          role === 'operator' ? `build it with: saasctl templates build ${input.template}` : 'choose another template or try again later';
        throw new ConflictError(`Template ${input.template} is not built and no build of it is running; ${hint}.`, { field: 'template' });
      }
    }
    const taken = await tenantNameTaken(checked.subdomain, db);
    if (taken) throw new ConflictError(`The name ${checked.subdomain} is taken; choose another.`, { field: 'name' });
    return { name: checked.subdomain, placement, series };
  }

  /**
   * Creates a tenant (a new one, or a staging copy of `copyOf`): checks the password and the
   * name, then in ONE transaction checks the account's plan limit and creation rate (customers
   * only; operators are exempt; concurrent requests of one account queue behind each other),
   * inserts the tenant with its first event (published as `tenant.created`) and queues its
   * provisioning job. A crash or failure anywhere before commit leaves none of them.
   */
  async function requestNewTenant(
    principal: Principal,
    wanted: {
      name: string;
      accountId: string;
      plan: string;
      template: string;
      adminEmail: string;
      adminLogin: string;
      adminPassword: string;
      /** The tenant this is a staging copy of (its placement and data, no template needed). */
      copyOf?: TenantRow;
      /** The restore that fills it from a backup zip, recorded by `afterInsert` in the same transaction. */
      restoreId?: string;
      /** The Odoo major version of that archive: the new tenant's series must be it. */
      archiveSeries?: string;
      afterInsert?: (trx: Transaction<Database>, tenant: TenantRow) => Promise<void>;
      awaitingPayment?: boolean | undefined;
    },
    firstMessage: string,
    /** More writes of the same transaction, given the checked name (the source's note of a copy). */
    alongside?: (trx: Transaction<Database>, name: string) => Promise<void>,
  ): Promise<{ tenant: TenantView; jobId: string | null }> {
    const issues = checkPasswordPolicy(wanted.adminPassword, { email: wanted.adminEmail }, 'adminPassword');
    if (issues.length > 0) throw new ValidationError(issues.map((i) => i.message).join(' '), { issues });
    const { copyOf } = wanted;
    const { name, placement, series } = await validateNewTenant(
      { name: wanted.name, plan: wanted.plan, ...(copyOf ? { series: copyOf.odoo_series } : { template: wanted.template }) },
      principal.role,
    );
    if (wanted.archiveSeries && series && majorSeries(wanted.archiveSeries) !== series)
      throw new ConflictError(
        `The archive was made with Odoo ${majorSeries(wanted.archiveSeries)}, and template ${wanted.template} makes instances of Odoo ${series}: ` +
          `choose a template of Odoo ${majorSeries(wanted.archiveSeries)}, or upgrade the database to Odoo ${series} first (Odoo's upgrade service).`,
        { field: 'template' },
      );
    const names = tenantPostgresNames(name);
    const values: NewTenant = {
      name,
      account_id: wanted.accountId,
      plan_code: wanted.plan,
      template_code: wanted.template,
      state: initialTenantState({ awaitingPayment: wanted.awaitingPayment === true }),
      database_name: names.databaseName,
      role_name: names.roleName,
      role_password_encrypted: secretBox.encrypt(randomBytes(24).toString('base64url')),
      process_strategy: copyOf?.process_strategy ?? placement.processStrategy,
      runtime: copyOf?.runtime ?? placement.runtime ?? DEFAULT_RUNTIME_KIND,
      // A copy runs its source's series (its database is of that version).
      odoo_series: series,
      admin_email: wanted.adminEmail,
      admin_login: wanted.adminLogin,
      // Kept (encrypted) only until the login check passed, then erased.
      admin_password_check_encrypted: secretBox.encrypt(wanted.adminPassword),
      source_tenant_id: copyOf?.id ?? null,
      restore_id: wanted.restoreId ?? null,
      created_by: principal.userId,
    };
    const { tenant, jobId } = await db.transaction().execute(async (trx) => {
      if (principal.role !== 'operator') {
        await lockAccountTenants(trx, wanted.accountId);
        await requirePlanRoom(trx, { accountId: wanted.accountId, planCode: wanted.plan, request: copyOf ? 'duplicate' : 'create' });
        await requireCreationAllowance(trx, { accountId: wanted.accountId, perHour: deps.creationRateLimitPerHour });
      }
      await alongside?.(trx, name);
      const inserted = await insertTenant(values, { message: firstMessage, actorUserId: principal.userId }, trx).catch(
        (error: { code?: string }) => {
          if (error.code === '23505') throw new ConflictError('This name was just taken; choose another.', { field: 'name' });
          throw error;
        },
      );
      await wanted.afterInsert?.(trx, inserted);
      // A tenant awaiting payment is provisioned when billing reports the payment.
      if (inserted.state === 'pending_payment') return { tenant: inserted, jobId: null };
      return { tenant: inserted, jobId: await operations.enqueue(inserted.id, 'provision', trx) };
    });
    deps.crashPoint?.('create:committed');
    return { tenant: await view({ ...tenant, job_id: jobId }, principal.role), jobId };
  }

  /** The account a new tenant belongs to: the customer's own; the one an operator names (checked). */
  async function accountFor(principal: Principal, wanted: string | undefined): Promise<string> {
    const accountId = principal.role === 'operator' ? (wanted ?? principal.accountId) : principal.accountId;
    if (!accountId) throw new ValidationError('Operators must name the account the tenant belongs to.', { field: 'accountId' });
    if (principal.role === 'operator' && wanted) {
      const account = await db.selectFrom('accounts').select('id').where('id', '=', wanted).executeTakeFirst();
      if (!account) throw new ValidationError('No such account.', { field: 'accountId' });
    }
    return accountId;
  }

  return {
    /** Checks a wanted name without creating anything (the dashboard's live availability check). */
    async checkName(name: string): Promise<{ name: string; available: boolean; reason?: string }> {
      const checked = validateSubdomain(name);
      if (!checked.ok) return { name, available: false, reason: checked.reason };
      const taken = await tenantNameTaken(checked.subdomain, db);
      return taken
        ? { name: checked.subdomain, available: false, reason: 'This name is taken.' }
        : { name: checked.subdomain, available: true };
    },

    async create(principal: Principal, input: CreateTenantInput): Promise<{ tenant: TenantView; jobId: string | null }> {
      const accountId = await accountFor(principal, input.accountId);
      return requestNewTenant(principal, { ...input, accountId, adminLogin: input.adminEmail }, 'tenant requested');
    },

    async get(principal: Principal, name: string): Promise<TenantView> {
      return view(await findVisible(principal, name), principal.role);
    },

    /** The tenant row for internal callers that already checked visibility (events, logs). */
    async visibleRow(principal: Principal, name: string): Promise<TenantRow> {
      return findVisible(principal, name);
    },

    async list(principal: Principal, query: TenantListQuery): Promise<TenantView[]> {
      const accountId = principal.role === 'operator' ? query.accountId : (principal.accountId ?? '00000000-0000-0000-0000-000000000000');
      return views(await listTenants({ ...query, accountId }, db), principal.role);
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
      if (action === 'duplicate' || action === 'create' || action === 'change_plan' || action === 'restore' || action === 'migrate') {
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
      // The change and its job commit together: no state without the work that follows it.
      const { updated, jobId } = await db.transaction().execute(async (trx) => {
        const updated = await changeTenantState(trx, tenant.id, action, {
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
        return { updated, jobId: operation ? await operations.enqueue(tenant.id, operation, trx) : null };
      });
      return { tenant: await view({ ...updated, job_id: jobId ?? updated.job_id }, principal.role), jobId };
    },

    /** A neutralised staging copy of a running or stopped tenant, under a new name. */
    async duplicate(
      principal: Principal,
      name: string,
      input: { name: string; adminPassword: string },
    ): Promise<{ tenant: TenantView; jobId: string | null }> {
      const source = await findVisible(principal, name);
      const check = transition(source.state as TenantState, 'duplicate');
      if (!check.ok) throw new ConflictError(`${check.reason} (current state: ${source.state})`, { details: { state: source.state } });
      return requestNewTenant(
        principal,
        {
          name: input.name,
          accountId: source.account_id,
          plan: source.plan_code,
          template: source.template_code,
          adminEmail: source.admin_email,
          adminLogin: source.admin_login,
          adminPassword: input.adminPassword,
          copyOf: source,
        },
        `staging copy of ${source.name}`,
        async (trx, copyName) => {
          await recordTenantEvent(trx, source.id, {
            type: 'info',
            message: `staging copy ${copyName} requested`,
            actorUserId: principal.userId,
          });
        },
      );
    },

    /**
     * A new tenant filled from an Odoo backup zip (a backup restored into a new tenant, an import):
     * checked and counted like any new tenant; `recordRestore` writes the restore in the same
     * transaction as the tenant and its provisioning job.
     */
    async createFromArchive(
      principal: Principal,
      input: {
        name: string;
        /** Customers: always their own account; operators name one. */
        accountId: string | undefined;
        plan: string;
        template: string;
        adminEmail: string;
        adminLogin: string;
        adminPassword: string;
        /** The Odoo major version the archive was made with: the new tenant's series must be it. */
        archiveSeries?: string;
      },
      restoreId: string,
      recordRestore: (trx: Transaction<Database>, tenant: TenantRow) => Promise<void>,
      firstMessage: string,
    ): Promise<{ tenant: TenantView; jobId: string | null }> {
      const accountId = await accountFor(principal, input.accountId);
      return requestNewTenant(principal, { ...input, accountId, restoreId, afterInsert: recordRestore }, firstMessage);
    },

    async events(principal: Principal, name: string, options: { afterId?: number; limit?: number } = {}): Promise<TenantEventView[]> {
      const tenant = await findVisible(principal, name);
      const events = await tenantEventsAfter(tenant.id, options.afterId ?? 0, options.limit ?? 500, db);
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

    /**
     * A lifecycle action the platform itself takes (billing: payment received, dunning suspends,
     * payment resumes, the end of a subscription terminates), in the caller's transaction with
     * the job that carries it out. A state that does not allow it now (a tenant mid-operation,
     * already deleted) skips it with a note on the timeline: the caller's own change must not
     * fail because of the tenant's.
     */
    async applySystemAction(
      trx: Transaction<Database>,
      tenantId: string,
      action: Exclude<TenantAction, 'create' | 'duplicate'>,
      options: { reason: string; now: Date; plan?: string },
    ): Promise<{ applied: boolean; state: TenantState | null }> {
      const tenant = await trx.selectFrom('tenants').selectAll().where('id', '=', tenantId).forNoKeyUpdate().executeTakeFirst();
      if (!tenant) return { applied: false, state: null };
      const check = transition(tenant.state as TenantState, action, await transitionContext(trx, tenant, options.now));
      if (!check.ok) {
        await recordTenantEvent(trx, tenantId, { type: 'info', message: `${options.reason}: not applied (${check.reason})` });
        return { applied: false, state: tenant.state as TenantState };
      }
      const extra: TenantChange = {};
      if (action === 'terminate') extra.terminated_at = options.now;
      if (action === 'reactivate') extra.terminated_at = null;
      if (action === 'schedule_delete' && check.next === 'scheduled_for_deletion')
        extra.delete_after = new Date(options.now.getTime() + DELETION_GRACE_HOURS * 3600_000);
      if (action === 'change_plan' && options.plan) extra.plan_code = options.plan;
      const updated = await changeTenantState(trx, tenantId, action, { reason: options.reason, extra, now: options.now });
      const operation = operationFor(action, updated.state as TenantState);
      if (operation) await operations.enqueue(tenantId, operation, trx);
      return { applied: true, state: updated.state as TenantState };
    },

    async rowById(id: string): Promise<TenantRow | undefined> {
      return tenantById(id, db);
    },

    view,
  };
}
