import { join } from 'node:path';
import type { DatabaseServerRow, Db } from '../db/index.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import type { SecretBox } from '../secrets/index.js';
import { withConnection } from './admin.js';
import { LocalPostgresServer } from './local-server.js';
import { createServerSleep } from './server-sleep.js';
import type { DatabaseServerKind, DatabaseServerStatus, DatabaseServerView } from './server-view.js';
import { type DatabaseServerOperations, databaseServerOperations } from './tenant-databases.js';

export type DatabaseServerRegistry = ReturnType<typeof createDatabaseServerRegistry>;

/**
 * What the registry needs to know of the tenants on its servers: the tenant tables belong to
 * tenants/ (their store), which the composition root hands in here.
 */
export interface TenantPlacements {
  countsPerServer(): Promise<Map<string, number>>;
  /** Deleted tenants let go of a server being removed. */
  releaseDeletedOn(serverId: string): Promise<void>;
}

/**
 * The PostgreSQL servers tenants may live on. Admin URLs are stored encrypted. Managed servers
 * (the platform's own cluster, dedicated clusters it created) are started again at boot.
 */
/** Tenants the default shared server takes (operators change it with saasctl servers). */
export const DEFAULT_SHARED_SERVER_CAPACITY = 50;

export function createDatabaseServerRegistry(deps: {
  db: Db;
  secretBox: SecretBox;
  logger: Logger;
  dataDir: string;
  tenantPlacements: TenantPlacements;
  /** max_connections of each dedicated managed server (the composition derives it from the connection budget). */
  dedicatedMaxConnections?: number;
  /** Test-only fault injection (SAAS_TEST_CRASH_AFTER_STEP). */
  crashPoint?: (point: string) => void;
}) {
  const { db, secretBox, logger } = deps;
  const managedServers = new Map<string, LocalPostgresServer>();

  function localServer(directory: string): LocalPostgresServer {
    return new LocalPostgresServer({ directory, logger, maxConnections: deps.dedicatedMaxConnections ?? 100 });
  }

  /** Starts (or adopts) a managed server and keeps its stored URL true: the port may have changed. */
  async function startLocal(row: DatabaseServerRow, executor: Pick<Db, 'updateTable'>): Promise<void> {
    if (!row.managed_directory || row.is_default || managedServers.has(row.id)) return;
    const server = localServer(row.managed_directory);
    const connection = await server.start();
    managedServers.set(row.id, server);
    await executor
      .updateTable('database_servers')
      .set({ admin_url_encrypted: secretBox.encrypt(connection.url), port: connection.port })
      .where('id', '=', row.id)
      .execute();
  }

  const sleep = createServerSleep({
    db,
    logger,
    start: (row, trx) => startLocal(row, trx),
    async stop(row) {
      const server = managedServers.get(row.id) ?? (row.managed_directory ? localServer(row.managed_directory) : undefined);
      await server?.stopIfRunning();
      // Forgotten only once stopped: a server that refused to stop is still stopped at shutdown.
      managedServers.delete(row.id);
    },
    ...(deps.crashPoint ? { crashPoint: deps.crashPoint } : {}),
  });

  async function tenantCounts(): Promise<Map<string, number>> {
    return deps.tenantPlacements.countsPerServer();
  }

  function toView(row: DatabaseServerRow, counts: Map<string, number>): DatabaseServerView {
    return {
      id: row.id,
      name: row.name,
      kind: row.kind,
      host: row.host,
      port: row.port,
      capacity: row.capacity,
      status: row.status,
      isDefault: row.is_default,
      managed: row.managed_directory !== null,
      tenantCount: counts.get(row.id) ?? 0,
      hibernatedAt: row.hibernated_at?.toISOString() ?? null,
      createdAt: row.created_at.toISOString(),
    };
  }

  async function getRow(id: string): Promise<DatabaseServerRow> {
    const row = await db.selectFrom('database_servers').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new NotFoundError('Database server', { field: 'id' });
    return row;
  }

  async function insert(input: {
    name: string;
    kind: DatabaseServerKind;
    adminUrl: string;
    capacity: number;
    isDefault?: boolean;
    managedDirectory?: string;
  }) {
    const url = new URL(input.adminUrl);
    return db
      .insertInto('database_servers')
      .values({
        name: input.name,
        kind: input.kind,
        admin_url_encrypted: secretBox.encrypt(input.adminUrl),
        host: url.hostname,
        port: Number(url.port || 5432),
        capacity: input.capacity,
        is_default: input.isDefault ?? false,
        managed_directory: input.managedDirectory ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
      .catch((error: { code?: string }) => {
        if (error.code === '23505') throw new ConflictError(`A database server named ${input.name} already exists.`, { field: 'name' });
        throw error;
      });
  }

  return {
    /** Registers (or refreshes the credentials of) the platform's own cluster as the default shared server. */
    async registerDefault(adminUrl: string, managedDirectory: string | undefined): Promise<string> {
      const existing = await db.selectFrom('database_servers').selectAll().where('is_default', '=', true).executeTakeFirst();
      if (existing) {
        const url = new URL(adminUrl);
        await db
          .updateTable('database_servers')
          .set({
            admin_url_encrypted: secretBox.encrypt(adminUrl),
            host: url.hostname,
            port: Number(url.port || 5432),
            managed_directory: managedDirectory ?? null,
          })
          .where('id', '=', existing.id)
          .execute();
        return existing.id;
      }
      return (
        await insert({
          name: 'local',
          kind: 'shared',
          adminUrl,
          capacity: DEFAULT_SHARED_SERVER_CAPACITY,
          isDefault: true,
          ...(managedDirectory ? { managedDirectory } : {}),
        })
      ).id;
    },

    /** Adds an operator's server after checking that its admin URL works and may create databases and roles. */
    async add(input: { name: string; url: string; kind: DatabaseServerKind; capacity: number }): Promise<DatabaseServerView> {
      try {
        await withConnection(input.url, async (client) => {
          const result = await client.query<{ ok: boolean }>(
            'SELECT (rolsuper OR (rolcreatedb AND rolcreaterole)) AS ok FROM pg_roles WHERE rolname = current_user',
          );
          if (!result.rows[0]?.ok)
            throw new ValidationError(
              'This role may not create databases and roles: use a superuser or a role with CREATEDB and CREATEROLE.',
              { field: 'url' },
            );
        });
      } catch (error) {
        if (error instanceof ValidationError) throw error;
        throw new ValidationError(`Cannot connect with this URL: ${(error as Error).message}`, { field: 'url' });
      }
      return toView(
        await insert({ name: input.name, kind: input.kind, adminUrl: input.url, capacity: input.capacity }),
        await tenantCounts(),
      );
    },

    async list(): Promise<DatabaseServerView[]> {
      const [rows, counts] = await Promise.all([
        db.selectFrom('database_servers').selectAll().orderBy('created_at').execute(),
        tenantCounts(),
      ]);
      return rows.map((row) => toView(row, counts));
    },

    async get(id: string): Promise<DatabaseServerView> {
      return toView(await getRow(id), await tenantCounts());
    },

    async update(
      id: string,
      changes: { capacity?: number | undefined; status?: DatabaseServerStatus | undefined },
    ): Promise<DatabaseServerView> {
      await getRow(id);
      await db
        .updateTable('database_servers')
        .set({
          ...(changes.capacity === undefined ? {} : { capacity: changes.capacity }),
          ...(changes.status ? { status: changes.status } : {}),
        })
        .where('id', '=', id)
        .execute();
      return this.get(id);
    },

    async remove(id: string): Promise<void> {
      const row = await getRow(id);
      if (row.is_default) throw new ConflictError('The default server cannot be removed.', { field: 'id' });
      const count = (await tenantCounts()).get(id) ?? 0;
      if (count > 0) throw new ConflictError(`This server still holds ${count} tenant(s); migrate them first.`, { field: 'id' });
      // The server's pre-made spare databases (provisioning/spares.ts) go with it.
      const ops = databaseServerOperations(secretBox.decrypt(row.admin_url_encrypted));
      for (const spare of await db.selectFrom('spare_databases').selectAll().where('server_id', '=', id).execute()) {
        await ops.dropDatabase(spare.database_name).catch(() => undefined);
        await ops.dropRole(spare.role_name).catch(() => undefined);
      }
      await db.deleteFrom('template_builds').where('server_id', '=', id).execute();
      await db.deleteFrom('database_servers').where('id', '=', id).execute();
      const managed = managedServers.get(id);
      if (managed) await managed.stop();
    },

    adminUrl: async (id: string): Promise<string> => secretBox.decrypt((await getRow(id)).admin_url_encrypted),
    operations: async (id: string): Promise<DatabaseServerOperations> =>
      databaseServerOperations(secretBox.decrypt((await getRow(id)).admin_url_encrypted)),

    /**
     * The active shared server with the fewest tenants and room left. Callers hold the placement
     * lock (see provisioning) so two creations cannot both take the last slot.
     */
    async pickShared(): Promise<DatabaseServerRow> {
      const counts = await tenantCounts();
      const rows = await db
        .selectFrom('database_servers')
        .selectAll()
        .where('kind', '=', 'shared')
        .where('status', '=', 'active')
        .execute();
      const candidates = rows
        .map((row) => ({ row, load: counts.get(row.id) ?? 0 }))
        .filter(({ row, load }) => load < row.capacity)
        .sort((a, b) => a.load / a.row.capacity - b.load / b.row.capacity || a.load - b.load);
      const chosen = candidates[0];
      if (!chosen) throw new ConflictError('Every shared database server is full: add a server (saasctl servers add) or raise a capacity.');
      return chosen.row;
    },

    /** A new managed PostgreSQL cluster for one tenant (plans with a dedicated database server). */
    async createDedicated(tenantName: string): Promise<DatabaseServerRow> {
      const name = `dedicated-${tenantName}`;
      const existing = await db.selectFrom('database_servers').selectAll().where('name', '=', name).executeTakeFirst();
      if (existing) {
        if (existing.hibernated_at) await sleep.wake(existing.id);
        else await this.startManaged(existing);
        return existing;
      }
      const directory = join(deps.dataDir, 'servers', name);
      const server = new LocalPostgresServer({ directory, logger, maxConnections: deps.dedicatedMaxConnections ?? 100 });
      const connection = await server.start();
      const row = await insert({ name, kind: 'dedicated', adminUrl: connection.url, capacity: 1, managedDirectory: directory });
      managedServers.set(row.id, server);
      return row;
    },

    async startManaged(row: DatabaseServerRow): Promise<void> {
      await startLocal(row, db);
    },

    /**
     * Starts every managed dedicated server (platform start), except hibernated ones: they stay
     * stopped (and are stopped, when a wake was cut short) until their first user wakes them.
     */
    async startAllManaged(): Promise<void> {
      const rows = await db
        .selectFrom('database_servers')
        .selectAll()
        .where('managed_directory', 'is not', null)
        .where('is_default', '=', false)
        .execute();
      await sleep.settleAtBoot(rows);
      for (const row of rows) if (!row.hibernated_at) await this.startManaged(row);
    },

    /** Whether a server is stopped by hibernation (users that must not wake it skip it). */
    isAsleep: sleep.isAsleep,
    /** Since when a server is stopped by hibernation (null: awake). */
    hibernatedAt: sleep.hibernatedAt,
    /** Runs `fn` with the server awake, woken first if it slept, and not put to sleep meanwhile. */
    whileAwake: sleep.whileAwake,
    /** Wakes a hibernated server (a tenant's wake, before its Odoo). */
    wake: sleep.wake,
    /** Puts a dedicated server to sleep if `check` still agrees and nobody holds a lease (hibernation's sweep). */
    sleep: sleep.sleep,
    serverStarts: sleep.starts,

    async stopAllManaged(): Promise<void> {
      for (const server of managedServers.values()) await server.stop();
      managedServers.clear();
    },

    /** Stops and deletes a dedicated managed server (its tenant is gone). */
    async destroyDedicated(id: string): Promise<void> {
      const row = await db.selectFrom('database_servers').selectAll().where('id', '=', id).executeTakeFirst();
      if (row?.kind !== 'dedicated') return;
      const server =
        managedServers.get(id) ??
        (row.managed_directory ? new LocalPostgresServer({ directory: row.managed_directory, logger }) : undefined);
      await db.deleteFrom('template_builds').where('server_id', '=', id).execute();
      await deps.tenantPlacements.releaseDeletedOn(id);
      await db.deleteFrom('database_servers').where('id', '=', id).execute();
      managedServers.delete(id);
      if (server) {
        await server.stop().catch(() => undefined);
        const { rm } = await import('node:fs/promises');
        if (row.managed_directory) await rm(row.managed_directory, { recursive: true, force: true });
      }
    },
  };
}
