import { join } from 'node:path';
import { sql } from 'kysely';
import type { Db, TenantRow } from '../db/index.js';
import type { JobQueue } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';
import {
  applyTenantIdentity,
  authenticateSession,
  copyFilestore,
  countActiveInternalUsers,
  filestoreSize,
  hashOdooPassword,
  neutraliseDatabase,
  type OdooInstallation,
  readConfigParameter,
  removeFilestore,
  writeOdooConfig,
} from '../odoo/index.js';
import type { PlanService } from '../plans/index.js';
import type { DatabaseServerOperations, DatabaseServerRegistry } from '../postgres/index.js';
import type { Runtime, TenantServeSpec } from '../runtimes/index.js';
import type { SecretBox } from '../secrets/index.js';
import { TEMPLATE_OWNER_ROLE, type TemplateService } from '../templates/index.js';
import { changeTenantState, type ProvisioningStep, recordTenantEvent } from '../tenants/index.js';
import { cloneEndStateProblems } from './end-states.js';
import type { SpareDatabases } from './spares.js';
import { copyTemplateToServer } from './template-copy.js';

export const TENANT_OPS_QUEUE = 'tenant-ops';

export type TenantOperation = 'provision' | 'start' | 'restart' | 'stop' | 'unserve' | 'deprovision';

export interface TenantOperationJob {
  tenantId: string;
  operation: TenantOperation;
}

/** Points inside the clone step where a crash leaves a half-made database (crash-safety tests). */
export const CLONE_CRASH_POINTS = ['clone:created', 'clone:claimed', 'clone:renamed'] as const;

/** Connection limit of one tenant database (all of its Odoo processes together). */
const TENANT_CONNECTION_LIMIT = 64;
const PROVISION_RETRY_LIMIT = 2;

export interface ProvisioningDependencies {
  db: Db;
  jobs: JobQueue;
  servers: DatabaseServerRegistry;
  templates: TemplateService;
  plans: PlanService;
  runtime: Runtime | undefined;
  spares: SpareDatabases;
  secretBox: SecretBox;
  odoo: OdooInstallation | undefined;
  odooDataDir: string;
  workDir: string;
  tenantBaseUrl: (tenantName: string) => string;
  tenantHostName: (tenantName: string) => string;
  logger: Logger;
  /**
   * Test-only fault injection (crash-safety tests): the process exits right after this step, or
   * at this point inside the clone step (CLONE_CRASH_POINTS).
   */
  crashAfterStep?: string | undefined;
}

export type TenantOperations = ReturnType<typeof createTenantOperations>;

export function createTenantOperations(deps: ProvisioningDependencies) {
  const { db, servers, templates, logger } = deps;

  function requireRuntime(): Runtime {
    if (!deps.runtime) throw new Error('No runtime can run Odoo here: install Odoo and set ODOO_BIN (see saasctl doctor).');
    return deps.runtime;
  }

  async function load(tenantId: string): Promise<TenantRow | undefined> {
    return db.selectFrom('tenants').selectAll().where('id', '=', tenantId).executeTakeFirst();
  }

  /** Test-only fault injection: kills this process (SIGKILL, no clean-up) at the configured point. */
  function crashPoint(point: ProvisioningStep | (typeof CLONE_CRASH_POINTS)[number]): void {
    if (deps.crashAfterStep !== point) return;
    logger.fatal({ point }, 'SAAS_TEST_CRASH_AFTER_STEP: killing this process on purpose');
    process.kill(process.pid, 'SIGKILL');
  }

  async function step(tenant: TenantRow, name: ProvisioningStep, work: () => Promise<void>): Promise<void> {
    const started = performance.now();
    await work();
    await db.updateTable('tenants').set({ provisioning_step: name, updated_at: new Date() }).where('id', '=', tenant.id).execute();
    await recordTenantEvent(db, tenant.id, {
      type: 'step',
      step: name,
      message: `${name.replace('_', ' ')} done in ${Math.round(performance.now() - started)} ms`,
    });
    crashPoint(name);
  }

  async function placement(tenant: TenantRow): Promise<TenantRow> {
    if (tenant.server_id) return tenant;
    if (tenant.source_tenant_id) {
      // A staging copy is cloned inside its source's server (CREATE DATABASE ... TEMPLATE source).
      const source = await load(tenant.source_tenant_id);
      if (!source?.server_id) throw new Error('The tenant to duplicate has no database any more.');
      return db
        .updateTable('tenants')
        .set({ server_id: source.server_id })
        .where('id', '=', tenant.id)
        .returningAll()
        .executeTakeFirstOrThrow();
    }
    const plan = await deps.plans.get(tenant.plan_code);
    // Serialise placement across replicas so two creations never take the last slot of a server.
    return db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(hashtext('tenant-placement'))`.execute(trx);
      const serverId =
        plan.placement.databaseStrategy === 'dedicated'
          ? (await servers.createDedicated(tenant.name)).id
          : await pickSharedWithTemplate(tenant.template_code);
      return trx.updateTable('tenants').set({ server_id: serverId }).where('id', '=', tenant.id).returningAll().executeTakeFirstOrThrow();
    });
  }

  async function pickSharedWithTemplate(templateCode: string): Promise<string> {
    const ready = new Set(await templates.readyServers(templateCode));
    const candidates = (await servers.list()).filter(
      (s) => s.kind === 'shared' && s.status === 'active' && s.tenantCount < s.capacity && ready.has(s.id),
    );
    candidates.sort((a, b) => a.tenantCount / a.capacity - b.tenantCount / b.capacity);
    const chosen = candidates[0];
    if (!chosen) throw new Error(`No shared database server has room and a ready "${templateCode}" template.`);
    return chosen.id;
  }

  /**
   * Makes the tenant's database. Rerun after a crash, it finishes whatever is left rather than
   * trusting that the database exists: a copy whose tables still belong to the template owner
   * exists too. The step is done only when its end state holds, and it says what does not.
   */
  async function cloneTenantDatabase(tenant: TenantRow & { server_id: string }): Promise<void> {
    const ops = await servers.operations(tenant.server_id);
    const source = tenant.source_tenant_id ? await load(tenant.source_tenant_id) : undefined;
    let spare = tenant.spare_database ?? undefined;
    if (!spare && !(await ops.databaseExists(tenant.database_name))) spare = await copyForTenant(tenant, ops, source);
    if (spare)
      await deps.spares.adopt(ops, { spare, database: tenant.database_name, role: tenant.role_name }, () => crashPoint('clone:renamed'));
    // A copy's objects belong to the owner of what it was copied from until handed over.
    const copiedFrom = source ? source.role_name : TEMPLATE_OWNER_ROLE;
    await ops.reassignOwned(tenant.database_name, copiedFrom, tenant.role_name);
    await ops.restrictDatabase(tenant.database_name, tenant.role_name, TENANT_CONNECTION_LIMIT);
    const problems = cloneEndStateProblems(await ops.inspectDatabase(tenant.database_name, tenant.role_name), {
      role: tenant.role_name,
      handedOverFrom: spare ? [copiedFrom, spare] : [copiedFrom],
      connectionLimit: TENANT_CONNECTION_LIMIT,
    });
    if (problems.length > 0) throw new Error(`The tenant database is not ready: ${problems.join('; ')}.`);
  }

  /** Copies the source (a live tenant, or the template) to the tenant's name; or claims a spare, returning its name. */
  async function copyForTenant(
    tenant: TenantRow & { server_id: string },
    ops: DatabaseServerOperations,
    source: TenantRow | undefined,
  ): Promise<string | undefined> {
    if (source) {
      // PostgreSQL needs the source unconnected for the copy: its Odoo reconnects a moment later.
      await ops.cloneDatabase({ template: source.database_name, name: tenant.database_name, owner: tenant.role_name });
      return undefined;
    }
    if ((await servers.get(tenant.server_id)).kind === 'dedicated') {
      const sourceServerId = (await templates.readyServers(tenant.template_code))[0];
      if (!sourceServerId) throw new Error(`Template ${tenant.template_code} is ready nowhere to copy from.`);
      await copyTemplateToServer({
        source: await servers.operations(sourceServerId),
        sourceAdminUrl: await servers.adminUrl(sourceServerId),
        templateDatabase: await templates.readyDatabase(tenant.template_code, sourceServerId),
        scratchName: `scratch_${tenant.database_name}`.slice(0, 63),
        target: ops,
        targetAdminUrl: await servers.adminUrl(tenant.server_id),
        targetDatabase: tenant.database_name,
        owner: tenant.role_name,
        templateOwner: TEMPLATE_OWNER_ROLE,
      });
      return undefined;
    }
    const templateDatabase = await templates.readyDatabase(tenant.template_code, tenant.server_id);
    const spare = await deps.spares.claim({ tenantId: tenant.id, serverId: tenant.server_id, templateDatabase });
    if (!spare) await ops.cloneDatabase({ template: templateDatabase, name: tenant.database_name, owner: tenant.role_name });
    // Make the next spare (or the first ones, when none was left) in the background.
    await deps.spares.requestRefill(tenant.server_id);
    crashPoint(spare ? 'clone:claimed' : 'clone:created');
    return spare;
  }

  async function serveSpec(tenant: TenantRow): Promise<TenantServeSpec> {
    if (!tenant.server_id) throw new Error('Tenant has no database server yet');
    const plan = await deps.plans.get(tenant.plan_code);
    const admin = new URL(await servers.adminUrl(tenant.server_id));
    return {
      tenantId: tenant.id,
      tenantName: tenant.name,
      hostName: deps.tenantHostName(tenant.name),
      databaseName: tenant.database_name,
      processStrategy: tenant.process_strategy,
      databaseServerId: tenant.server_id,
      tenantRole: {
        host: admin.hostname,
        port: Number(admin.port || 5432),
        user: tenant.role_name,
        password: deps.secretBox.decrypt(tenant.role_password_encrypted),
      },
      limits: { cpu: plan.limits.cpu, memoryMiB: plan.limits.memoryMiB },
      replicas: plan.placement.replicas,
    };
  }

  async function serveAndCheck(tenant: TenantRow, login?: { login: string; password: string }): Promise<void> {
    const upstream = await requireRuntime().serve(await serveSpec(tenant));
    if (!login) return;
    await authenticateSession(
      { host: upstream.host, port: upstream.port, hostHeader: deps.tenantHostName(tenant.name), timeoutMs: 60_000 },
      { database: tenant.database_name, login: login.login, password: login.password },
    );
  }

  async function provision(tenantId: string): Promise<void> {
    let tenant = await load(tenantId);
    if (tenant?.state !== 'provisioning') return; // done already, or deleted meanwhile
    if (!tenant.admin_password_check_encrypted) throw new Error('The admin password is gone: delete this tenant and create it again.');
    const adminPassword = deps.secretBox.decrypt(tenant.admin_password_check_encrypted);
    if (!tenant.provision_started_at) {
      await db.updateTable('tenants').set({ provision_started_at: new Date() }).where('id', '=', tenant.id).execute();
    }

    await step(tenant, 'placement', async () => {
      tenant = await placement(tenant as TenantRow);
    });
    const placed = tenant as TenantRow & { server_id: string };
    const ops = await servers.operations(placed.server_id);
    await step(placed, 'role', () =>
      ops.ensureRole(placed.role_name, deps.secretBox.decrypt(placed.role_password_encrypted), {
        connectionLimit: TENANT_CONNECTION_LIMIT,
      }),
    );
    // The Odoo password hash (~0.35 s of PBKDF2 on the thread pool) overlaps the clone.
    const passwordHash = hashOdooPassword(adminPassword);
    passwordHash.catch(() => undefined);
    await step(placed, 'clone', () => cloneTenantDatabase(placed));
    if (placed.source_tenant_id) await step(placed, 'neutralise', () => neutralise(placed));
    await step(placed, 'filestore', async () => {
      const source = placed.source_tenant_id ? await load(placed.source_tenant_id) : undefined;
      if (source) {
        await copyFilestore(deps.odooDataDir, source.database_name, placed.database_name);
      } else if ((await servers.get(placed.server_id)).kind === 'dedicated') {
        const source = (await templates.readyServers(placed.template_code))[0];
        if (source)
          await copyFilestore(deps.odooDataDir, await templates.readyDatabase(placed.template_code, source), placed.database_name);
      } else {
        await copyFilestore(deps.odooDataDir, await templates.readyDatabase(placed.template_code, placed.server_id), placed.database_name);
      }
    });
    await step(placed, 'identity', async () => {
      const account = await db.selectFrom('accounts').select('name').where('id', '=', placed.account_id).executeTakeFirstOrThrow();
      await ops.withDatabase(placed.database_name, async (client) =>
        applyTenantIdentity(client, {
          baseUrl: deps.tenantBaseUrl(placed.name),
          companyName: account.name,
          adminLogin: placed.admin_login,
          adminEmail: placed.admin_email,
          adminPasswordHash: await passwordHash,
        }),
      );
    });
    await step(placed, 'serve', () => serveAndCheck(placed));
    await step(placed, 'login_check', () => serveAndCheck(placed, { login: placed.admin_login, password: adminPassword }));

    await changeTenantState(db, tenant.id, 'provisioning_succeeded', { reason: 'database ready' });
    await changeTenantState(db, tenant.id, 'start_succeeded', {
      reason: 'admin login checked',
      extra: { admin_password_check_encrypted: null, provision_finished_at: new Date(), job_id: null },
    });
  }

  /** Removes whatever a provisioning attempt made: database, role, filestore, serving, dedicated server. */
  async function removeResources(tenant: TenantRow): Promise<void> {
    await deps.runtime?.unserve(tenant.id);
    if (tenant.server_id) {
      const ops = await servers.operations(tenant.server_id).catch(() => undefined);
      if (ops) {
        // A spare claimed but not yet renamed to the tenant's name is the tenant's too.
        if (tenant.spare_database) {
          await ops.dropDatabase(tenant.spare_database);
          await ops.dropRole(tenant.spare_database);
        }
        await ops.dropDatabase(tenant.database_name);
        await ops.dropDatabase(`${tenant.database_name}_restoring`.slice(0, 63));
        await ops.dropRole(tenant.role_name);
      }
      await servers.destroyDedicated(tenant.server_id);
    }
    await removeFilestore(deps.odooDataDir, tenant.database_name);
  }

  async function failOperation(tenant: TenantRow, error: unknown): Promise<void> {
    const message = (error as Error).message.slice(0, 2000);
    await recordTenantEvent(db, tenant.id, { type: 'error', message });
    await changeTenantState(db, tenant.id, 'operation_failed', { reason: message }).catch((refused: unknown) =>
      logger.warn({ err: refused, tenant: tenant.name }, 'could not mark the tenant as failed'),
    );
  }

  /** `odoo-bin neutralize` on a copy of a live tenant: no crons, no outgoing mail, no payments. */
  async function neutralise(tenant: TenantRow & { server_id: string }): Promise<void> {
    if (!deps.odoo) throw new Error('Odoo is needed to neutralise a copy: set ODOO_BIN.');
    const admin = new URL(await servers.adminUrl(tenant.server_id));
    const configFile = join(deps.workDir, 'neutralise', `${tenant.name}.conf`);
    await writeOdooConfig(configFile, {
      db_host: admin.hostname,
      db_port: Number(admin.port || 5432),
      db_user: tenant.role_name,
      db_password: deps.secretBox.decrypt(tenant.role_password_encrypted),
      data_dir: deps.odooDataDir,
      ...(deps.odoo.addonsPath ? { addons_path: deps.odoo.addonsPath } : {}),
    });
    await neutraliseDatabase(
      deps.odoo,
      { configFile, database: tenant.database_name },
      { logFile: join(deps.workDir, 'neutralise', `${tenant.name}.log`) },
    );
    // Run every time (a copy of a copy inherits the marker, not the neutral state), then checked.
    const marker = await (await servers.operations(tenant.server_id)).withDatabase(tenant.database_name, (client) =>
      readConfigParameter(client, 'database.is_neutralized'),
    );
    if (marker?.toLowerCase() !== 'true') throw new Error('odoo-bin neutralize ended, but the copy is not marked as neutralised.');
  }

  const handlers: Record<TenantOperation, (tenant: TenantRow) => Promise<void>> = {
    provision: (tenant) => provision(tenant.id),
    start: async (tenant) => {
      if (tenant.state !== 'starting') return;
      await serveAndCheck(tenant);
      await changeTenantState(db, tenant.id, 'start_succeeded', { reason: 'Odoo is serving' });
    },
    restart: async (tenant) => {
      if (tenant.state !== 'starting') return;
      await requireRuntime().unserve(tenant.id);
      await serveAndCheck(tenant);
      await changeTenantState(db, tenant.id, 'start_succeeded', { reason: 'restarted' });
    },
    stop: async (tenant) => {
      if (tenant.state !== 'stopping') return;
      await deps.runtime?.unserve(tenant.id);
      await changeTenantState(db, tenant.id, 'stop_succeeded', { reason: 'Odoo stopped' });
    },
    unserve: async (tenant) => {
      await deps.runtime?.unserve(tenant.id);
    },
    deprovision: async (tenant) => {
      if (tenant.state !== 'deleted') return;
      await removeResources(tenant);
      await db
        .updateTable('tenants')
        .set({ deleted_at: new Date(), admin_password_check_encrypted: null, pending_admin_password_hash: null })
        .where('id', '=', tenant.id)
        .execute();
      await recordTenantEvent(db, tenant.id, { type: 'info', message: 'database, role, filestore and processes removed' });
    },
  };

  async function runOperation(job: TenantOperationJob, attempt: { retryCount: number }): Promise<void> {
    const tenant = await load(job.tenantId);
    if (!tenant) return;
    try {
      await handlers[job.operation](tenant);
    } catch (error) {
      const finalAttempt = job.operation !== 'provision' || attempt.retryCount >= PROVISION_RETRY_LIMIT;
      logger.warn({ err: error, tenant: tenant.name, operation: job.operation, attempt: attempt.retryCount }, 'tenant operation failed');
      if (!finalAttempt) {
        await recordTenantEvent(db, tenant.id, {
          type: 'error',
          message: `attempt ${attempt.retryCount + 1} failed, retrying: ${(error as Error).message}`,
        });
        throw error;
      }
      if (job.operation === 'provision') {
        // Leave nothing half-made: the tenant goes to `error` with no database, role or process.
        await removeResources((await load(tenant.id)) ?? tenant).catch((cleanupError: unknown) =>
          logger.error({ err: cleanupError, tenant: tenant.name }, 'cleanup after failed provisioning failed'),
        );
        await db
          .updateTable('tenants')
          .set({ server_id: null, provisioning_step: null, spare_database: null })
          .where('id', '=', tenant.id)
          .execute();
      }
      await failOperation(tenant, error);
    }
  }

  return {
    async registerJobs(work: boolean): Promise<void> {
      await deps.jobs.define<TenantOperationJob>(
        {
          queue: TENANT_OPS_QUEUE,
          keyed: true,
          concurrency: 4,
          retryLimit: PROVISION_RETRY_LIMIT,
          retryDelaySeconds: 1,
          expireInSeconds: 30 * 60,
          handler: runOperation,
        },
        work,
      );
    },

    /** Queues an operation; one tenant's operations run one after another, in order. */
    async enqueue(tenantId: string, operation: TenantOperation): Promise<string> {
      const jobId = await deps.jobs.send<TenantOperationJob>(TENANT_OPS_QUEUE, { tenantId, operation }, { key: tenantId });
      await db.updateTable('tenants').set({ job_id: jobId }).where('id', '=', tenantId).execute();
      return jobId;
    },

    /**
     * What a tenant uses against its plan's limits: active internal Odoo users (what plans count),
     * database size and filestore size.
     */
    async usage(tenantId: string): Promise<{ odooUsers: number | null; databaseBytes: number | null; filestoreBytes: number }> {
      const tenant = await load(tenantId);
      if (!tenant) throw new Error('no such tenant');
      const filestoreBytes = await filestoreSize(deps.odooDataDir, tenant.database_name);
      if (!tenant.server_id) return { odooUsers: null, databaseBytes: null, filestoreBytes };
      const ops = await servers.operations(tenant.server_id);
      if (!(await ops.databaseExists(tenant.database_name))) return { odooUsers: null, databaseBytes: null, filestoreBytes };
      const [databaseBytes, odooUsers] = await Promise.all([
        ops.databaseSize(tenant.database_name),
        ops.withDatabase(tenant.database_name, (client) => countActiveInternalUsers(client)),
      ]);
      return { odooUsers, databaseBytes, filestoreBytes };
    },

    /** The serve spec of every tenant that should be served (runtime restore after a restart). */
    async desiredTenants(): Promise<TenantServeSpec[]> {
      const rows = await db
        .selectFrom('tenants')
        .selectAll()
        .where('state', 'in', ['running', 'starting'])
        .where('server_id', 'is not', null)
        .execute();
      return Promise.all(rows.map(serveSpec));
    },
  };
}
