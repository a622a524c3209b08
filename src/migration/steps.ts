import { rm } from 'node:fs/promises';
import { fetchVerifiedArchive, loadBackupArchive, restoredDatabaseProblems } from '../backups/index.js';
import type { MigrationRow } from '../db/index.js';
import { authenticateSession, checkSession, filestoreFiles, hashOdooPassword, ODOO_ADMIN_USER_ID } from '../odoo/index.js';
import { connectionRoomProblem, loadServeSpec, type Step, TENANT_CONNECTION_LIMIT } from '../provisioning/index.js';
import { changeTenantState, tenantById, updateTenant } from '../tenants/index.js';
import { type MigrationContext, type MigrationDependencies, movesDatabase, targetOf, timed } from './context.js';
import { keptSourceOn, updateMigration } from './store.js';

/** A migration that must not be retried (its target or its data is wrong, not the moment): it rolls back at once. */
export class MigrationRefused extends Error {
  override name = 'MigrationRefused';
}

/**
 * The active shared server with the most room, other than the one the tenant leaves, whose
 * max_connections also has room for the tenant's Odoo processes (connection-budget.ts).
 */
async function roomiestSharedServer(deps: MigrationDependencies, migration: MigrationRow): Promise<string> {
  const candidates = (await deps.servers.list())
    .filter((s) => s.kind === 'shared' && s.status === 'active' && s.id !== migration.source_server_id && s.tenantCount < s.capacity)
    .sort((a, b) => a.tenantCount / a.capacity - b.tenantCount / b.capacity);
  if (candidates.length === 0)
    throw new MigrationRefused('no other active shared database server has room: add one (saasctl servers add) or raise a capacity');
  const refusals: string[] = [];
  for (const candidate of candidates) {
    const problem = await connectionRoomProblem(deps, candidate.id, migration.target_process_strategy, migration.tenant_id);
    if (!problem) return candidate.id;
    refusals.push(`${candidate.name}: ${problem}`);
  }
  throw new MigrationRefused(
    `no other active shared database server has connections left for the tenant (${refusals.join('; ')}): ` +
      'add one (saasctl servers add) or raise its max_connections',
  );
}

/**
 * Chooses the target server when the request named none (a new managed server for a dedicated
 * database, else the shared server with the most room), checks it can take the tenant, and
 * creates the tenant's role there with its own password. Rerun on every attempt: all of it is
 * idempotent, and later steps need the target's operations.
 */
const targetStep: Step<MigrationContext> = {
  name: 'target',
  async run(context) {
    const { deps, tenant } = context;
    // The verification's one-time password is hashed now, while the tenant still serves: 600,000
    // rounds of PBKDF2 are a third of a second of a core on an idle machine and seconds on a
    // loaded one, and paid inside the window they were everyone's downtime during a drain.
    context.oneTimeLogin ??= oneTimeLogin();
    let serverId = context.migration.target_server_id;
    if (!serverId) {
      serverId =
        context.migration.target_database_strategy === 'dedicated'
          ? (await deps.servers.createDedicated(tenant.name)).id
          : await roomiestSharedServer(deps, context.migration);
      await updateMigration(context.migration.id, { target_server_id: serverId }, deps.db);
      context.migration = { ...context.migration, target_server_id: serverId };
    }
    const server = await deps.servers.get(serverId).catch(() => undefined);
    if (!server) throw new MigrationRefused('the target database server is no longer registered');
    if (movesDatabase(context.migration) && server.status !== 'active')
      throw new MigrationRefused(`the target database server ${server.name} is ${server.status}, not active`);
    const changesPlace =
      movesDatabase(context.migration) || context.migration.target_process_strategy !== context.migration.source_process_strategy;
    if (changesPlace && server.kind === 'shared' && !context.migration.maintenance_started_at) {
      // Checked again here (the request checked a named target): tenants placed since, or a
      // drain's earlier moves, may have taken the room. Once the tenant is down it is not asked again.
      const problem = await connectionRoomProblem(deps, serverId, context.migration.target_process_strategy, tenant.id);
      if (problem)
        throw new MigrationRefused(`the target database server ${server.name} has no connections left for the tenant: ${problem}`);
    }
    context.targetOps = await deps.servers.operations(serverId);
    context.targetAdminUrl = await deps.servers.adminUrl(serverId);
    if (movesDatabase(context.migration)) {
      const password = deps.secretBox.decrypt(tenant.role_password_encrypted);
      await context.targetOps.ensureRole(tenant.role_name, password, { connectionLimit: TENANT_CONNECTION_LIMIT });
      if (!context.migration.maintenance_started_at) {
        await dropKeptSource(context, serverId);
        await createSideDatabase(context);
      }
    }
    // Awaited here, so its CPU is spent before the window opens rather than beside the backup.
    await timed(context, 'one-time-hash', () => context.oneTimeLogin as Promise<unknown>);
  },
};

/**
 * The copy an earlier migration of this tenant kept on the target (the tenant now comes back)
 * goes before the maintenance page, while the tenant still serves from where it is: DROP
 * DATABASE waits for a checkpoint, seconds on a busy server, and done in `check` those seconds
 * were the tenant's downtime (bench/migrate.ts moving 20 tenants back: check p95 31 s).
 * A rerun after the maintenance began leaves it to `check`, which drops one still there.
 */
async function dropKeptSource(context: MigrationContext, serverId: string): Promise<void> {
  const { deps, tenant } = context;
  const kept = await keptSourceOn(tenant.id, serverId, deps.db);
  if (!kept) return;
  await timed(context, 'drop-kept', () => targetOf(context).ops.dropDatabase(tenant.database_name));
  await updateMigration(kept.id, { source_dropped_at: new Date() }, deps.db);
}

/**
 * The empty side database the backup is loaded into, made before the maintenance page (CREATE
 * DATABASE copies template0 and writes its WAL: a tenth of a second or more of the window on a
 * busy server). Whatever a killed attempt left under that name is dropped first: it is never
 * trusted. Only a side database made by this attempt, before the window, is loaded without
 * being made again (`sideDatabaseFresh`); an attempt that starts inside the window makes it in `load`.
 */
async function createSideDatabase(context: MigrationContext): Promise<void> {
  const { ops } = targetOf(context);
  await timed(context, 'side-database', async () => {
    await ops.dropDatabase(context.sideName);
    await ops.createDatabase(context.sideName, context.tenant.role_name);
  });
  context.sideDatabaseFresh = true;
}

/** Odoo stops serving the tenant: nothing writes while it is backed up (the gateway shows the maintenance page already). */
const maintenanceStep: Step<MigrationContext> = {
  name: 'maintenance',
  async run(context) {
    const { deps, migration } = context;
    if (context.tenant.state !== 'migrating') {
      // The downtime starts here, with the state the gateway answers with its maintenance page.
      const moved = await timed(context, 'state', () =>
        deps.db
          .transaction()
          .execute(async (trx) => {
            const now = new Date();
            const row = await changeTenantState(trx, context.tenant.id, 'migrate', {
              actorUserId: migration.created_by,
              reason: migration.trigger === 'plan_change' ? `moving for plan ${migration.target_plan}` : 'moving to another server',
            });
            await updateMigration(migration.id, { maintenance_started_at: now, previous_state: context.tenant.state }, trx);
            context.migration = { ...migration, maintenance_started_at: now, previous_state: context.tenant.state };
            return row;
          })
          .catch((error: Error) => {
            throw new MigrationRefused(`the tenant cannot be moved now: ${error.message}`);
          }),
      );
      context.tenant = { ...context.tenant, state: moved.state };
    }
    await timed(context, 'unserve', () => deps.runtimes.for(context.tenant).unserve(context.tenant.id));
  },
};

/** A verified backup of the tenant as it is now: what is loaded on the target, and the way back whatever happens. */
const backupStep: Step<MigrationContext> = {
  name: 'backup',
  async run(context) {
    const { deps, tenant, migration } = context;
    let backupId = migration.backup_id;
    if (!backupId) {
      backupId = await deps.db.transaction().execute(async (trx) => {
        const requested = await deps.backups.request(
          tenant,
          migration.trigger === 'plan_change' ? 'before_plan_change' : 'before_migration',
          {
            actorUserId: migration.created_by,
            keepUntil: new Date(Date.now() + 30 * 86_400_000),
            transaction: trx,
            queued: false,
          },
        );
        if (!requested) throw new Error('the backup before the migration was not recorded');
        await updateMigration(migration.id, { backup_id: requested.backup.id }, trx);
        return requested.backup.id;
      });
      context.migration = { ...migration, backup_id: backupId };
    }
    await timed(context, 'dump+store+read-back', () => deps.backups.run(backupId));
    const backup = await deps.backups.byId(backupId);
    if (backup?.state !== 'verified')
      throw new MigrationRefused(`the backup before the migration failed (${backup?.failure_reason ?? 'no record'}); nothing was moved`);
  },
  async endStateProblems({ deps, migration }) {
    if (!migration.backup_id) return ['no backup before the migration'];
    const backup = await deps.backups.byId(migration.backup_id);
    return backup?.state === 'verified' ? [] : [`the backup before the migration is ${backup?.state ?? 'missing'}`];
  },
};

async function verifiedBackupOf(context: MigrationContext) {
  const backup = context.migration.backup_id ? await context.deps.backups.byId(context.migration.backup_id) : undefined;
  if (backup?.state !== 'verified') throw new MigrationRefused('the backup before the migration is no longer there');
  return backup;
}

/**
 * The backup's dump into a side database on the target (as the tenant's role), its filestore
 * entries read through and counted (the filestore itself stays on this machine's disk: Odoo's
 * data directory does not belong to a database server). A half-loaded side copy of a killed
 * attempt is dropped first: it is never trusted.
 */
const loadStep: Step<MigrationContext> = {
  name: 'load',
  appliesTo: ({ migration }) => movesDatabase(migration),
  async run(context) {
    const { tenant, sideName, archiveFile, deps } = context;
    const { ops, adminUrl } = targetOf(context);
    const backup = await verifiedBackupOf(context);
    // The archive's copy from storage to the scratch file (sha256 checked again): downtime too.
    const fetched = await timed(context, 'fetch', () => fetchVerifiedArchive(deps.storage, backup, archiveFile));
    if (fetched.length > 0) throw new MigrationRefused(fetched.join('; '));
    if (!context.sideDatabaseFresh)
      await timed(context, 'create', async () => {
        await ops.dropDatabase(sideName);
        await ops.createDatabase(sideName, tenant.role_name);
      });
    context.sideDatabaseFresh = false; // loading now: a retry within this attempt would find it half-loaded
    const loaded = await timed(context, 'restore', () =>
      loadBackupArchive({ file: archiveFile, adminUrl, database: sideName, role: tenant.role_name }),
    );
    if (!loaded.hasDump) throw new MigrationRefused('the backup has no dump.sql');
    if (backup.filestore_files !== null && loaded.files !== backup.filestore_files)
      throw new MigrationRefused(`the backup holds ${loaded.files} filestore files, ${backup.filestore_files} were recorded`);
    await ops.restrictDatabase(sideName, tenant.role_name, TENANT_CONNECTION_LIMIT);
    await rm(archiveFile, { force: true });
  },
  // Loaded: the side copy is there, or `check` already gave it the tenant's name (no kept source of an earlier migration left there).
  endStateProblems: async (context) => ((await loadedCopyOnTarget(context)) ? [] : ['the backup is not loaded on the target']),
};

async function loadedCopyOnTarget(context: MigrationContext): Promise<boolean> {
  const { ops, serverId } = targetOf(context);
  if (await ops.databaseExists(context.sideName)) return true;
  if (!(await ops.databaseExists(context.tenant.database_name))) return false;
  return (await keptSourceOn(context.tenant.id, serverId, context.deps.db)) === undefined;
}

/**
 * The copy holds what was backed up (Odoo's core tables, the admin, the backup's row counts) and
 * the filestore still has every file the backup counted; only then does the copy take the
 * tenant's database name on the target. A database under the tenant's name there is whole.
 */
const checkStep: Step<MigrationContext> = {
  name: 'check',
  async run(context) {
    const { deps, tenant, migration, sideName } = context;
    const backup = await verifiedBackupOf(context);
    const files = await timed(context, 'filestore', async () => {
      let count = 0;
      for await (const _file of filestoreFiles(deps.odooDataDir, tenant.database_name)) count++;
      return count;
    });
    const problems =
      backup.filestore_files !== null && files !== backup.filestore_files
        ? [`the filestore has ${files} files, ${backup.filestore_files} were backed up`]
        : [];
    if (!movesDatabase(migration)) {
      if (problems.length > 0) throw new MigrationRefused(problems.join('; '));
      return;
    }
    const { ops, serverId } = targetOf(context);
    if (!(await ops.databaseExists(sideName))) {
      if (await loadedCopyOnTarget(context)) return; // renamed by an attempt killed after it
      throw new MigrationRefused('the loaded copy is missing');
    }
    problems.push(
      ...(await timed(context, 'rows', () =>
        ops.withDatabase(sideName, (client) => restoredDatabaseProblems(client, backup.record_counts)),
      )),
    );
    if (problems.length > 0) throw new MigrationRefused(`the copy on the target is not what was backed up: ${problems.join('; ')}`);
    if (await ops.databaseExists(tenant.database_name)) {
      // The source an earlier migration of this tenant kept here: the tenant now comes back, so it goes.
      const kept = await keptSourceOn(tenant.id, serverId, deps.db);
      if (!kept) throw new MigrationRefused(`the target server already has a database named ${tenant.database_name}`);
      await timed(context, 'drop-kept', () => ops.dropDatabase(tenant.database_name));
      await updateMigration(kept.id, { source_dropped_at: new Date() }, deps.db);
    }
    await timed(context, 'rename', () => ops.renameDatabase(sideName, tenant.database_name));
  },
};

/**
 * The short step: in one transaction the tenant's row points at the target (server, process
 * strategy, plan). The gateway still shows the maintenance page: the tenant is `migrating`.
 */
const switchStep: Step<MigrationContext> = {
  name: 'switch',
  async run(context) {
    const { deps, tenant, migration } = context;
    const { serverId } = targetOf(context);
    context.crashPoint('migration:switching');
    await deps.db.transaction().execute(async (trx) => {
      await updateTenant(
        tenant.id,
        {
          server_id: serverId,
          process_strategy: migration.target_process_strategy,
          plan_code: migration.target_plan,
          updated_at: new Date(),
        },
        trx,
      );
      await updateMigration(migration.id, { switched_at: migration.switched_at ?? new Date() }, trx);
    });
    const switched = await tenantById(tenant.id, deps.db);
    if (switched?.server_id) context.tenant = { ...switched, server_id: switched.server_id };
    context.migration = { ...migration, switched_at: migration.switched_at ?? new Date() };
  },
};

/**
 * Odoo serves the tenant from the target and the admin logs in through the upstream it answers
 * at, with the tenant's host name, then uses the session. The platform does not know the
 * customer's password: for the length of the check the admin's hash on the target is replaced
 * by the hash of a one-time password, and put back afterwards (kept encrypted on the migration
 * row, so an attempt killed in between puts the right one back).
 */
const verifyStep: Step<MigrationContext> = {
  name: 'verify',
  async run(context) {
    const { deps, tenant } = context;
    const { ops } = targetOf(context);
    // Hashed by the target step before the maintenance page (an attempt that skipped it hashes here, while Odoo starts).
    context.oneTimeLogin ??= oneTimeLogin();
    const [upstream, { password: oneTime, hash: oneTimeHash }, original] = await Promise.all([
      timed(context, 'serve', () => loadServeSpec(deps, tenant).then((spec) => deps.runtimes.for(tenant).serve(spec))),
      timed(context, 'one-time-hash', () => context.oneTimeLogin as Promise<{ password: string; hash: string }>),
      timed(context, 'admin-hash', () => keptAdminHash(context)),
    ]);
    await ops.withDatabase(tenant.database_name, async (client) =>
      client.query('UPDATE res_users SET password = $1 WHERE id = $2', [oneTimeHash, ODOO_ADMIN_USER_ID]),
    );
    try {
      context.crashPoint('migration:verifying'); // the one-time hash in place: a rerun must put the real one back
      const endpoint = { host: upstream.host, port: upstream.port, hostHeader: deps.tenantHostName(tenant.name), timeoutMs: 60_000 };
      const password = deps.failAt === `migration:verify:${tenant.name}` ? `${oneTime}-wrong` : oneTime;
      const session = await timed(context, 'login', () =>
        authenticateSession(endpoint, { database: tenant.database_name, login: tenant.admin_login, password }).catch((error: Error) => {
          throw new MigrationRefused(`the admin could not log in on the target: ${error.message}`);
        }),
      );
      await timed(context, 'session', () =>
        checkSession(endpoint, session).catch((error: Error) => {
          throw new MigrationRefused(`the admin's session on the target does not work: ${error.message}`);
        }),
      );
    } finally {
      await putAdminHashBack(context, original);
    }
  },
};

/** A random one-time password for the verification login, and its Odoo hash (started at once, awaited by `verify`). */
function oneTimeLogin(): Promise<{ password: string; hash: string }> {
  const password = `${crypto.randomUUID()}-Aa1!`;
  const hashing = hashOdooPassword(password).then((hash) => ({ password, hash }));
  hashing.catch(() => undefined); // awaited by verify, which sees the failure; not an unhandled rejection meanwhile
  return hashing;
}

/** The admin's real hash, read once from the database and kept encrypted on the migration row. */
async function keptAdminHash(context: MigrationContext): Promise<string> {
  const { deps, migration, tenant } = context;
  if (migration.admin_hash_encrypted) return deps.secretBox.decrypt(migration.admin_hash_encrypted);
  const { ops } = targetOf(context);
  const hash = await ops.withDatabase(tenant.database_name, async (client) => {
    const result = await client.query<{ password: string | null }>('SELECT password FROM res_users WHERE id = $1', [ODOO_ADMIN_USER_ID]);
    return result.rows[0]?.password ?? '';
  });
  const encrypted = deps.secretBox.encrypt(hash);
  await updateMigration(migration.id, { admin_hash_encrypted: encrypted }, deps.db);
  context.migration = { ...migration, admin_hash_encrypted: encrypted };
  return hash;
}

/** Puts the admin's real hash back on the tenant database of `serverId` (the target, or the source after a rollback). */
export async function putAdminHashBack(
  context: Pick<MigrationContext, 'deps' | 'tenant' | 'migration' | 'targetOps'>,
  hash?: string,
): Promise<void> {
  const { deps, tenant, migration, targetOps } = context;
  const original = hash ?? (migration.admin_hash_encrypted ? deps.secretBox.decrypt(migration.admin_hash_encrypted) : undefined);
  if (original === undefined || !targetOps) return;
  if (!(await targetOps.databaseExists(tenant.database_name))) return;
  await targetOps.withDatabase(tenant.database_name, (client) =>
    client.query('UPDATE res_users SET password = $1 WHERE id = $2', [original || null, ODOO_ADMIN_USER_ID]),
  );
}

/** A migration, in order. The names are the migration's `step` journal; `finish` is run.ts's. */
export const MIGRATION_STEPS = [
  targetStep,
  maintenanceStep,
  backupStep,
  loadStep,
  checkStep,
  switchStep,
  verifyStep,
] as const satisfies ReadonlyArray<Step<MigrationContext>>;

export const MIGRATION_STEP_NAMES = [...MIGRATION_STEPS.map((step) => step.name), 'finish'];
