import { join } from 'node:path';
import { sql } from 'kysely';
import type { Config } from './config/index.js';
import { createDb, type Db, migrateToLatest, pendingMigrations } from './db/index.js';
import type { Logger } from './logging/index.js';
import { ensureDatabase, LocalPostgresServer } from './postgres/index.js';

export const PLATFORM_DATABASE = 'saas_platform';

export interface PlatformDatabase {
  db: Db;
  /** Connection URL of the platform database (for the job queue and LISTEN/NOTIFY). */
  url: string;
  /** The managed local cluster when DATABASE_URL is not set. */
  localServer: LocalPostgresServer | undefined;
  /** Admin URL of the server holding the platform database (the managed cluster's superuser). */
  adminUrl: string | undefined;
  /** Closes the pool and stops the managed cluster, unless asked to leave it running. */
  close(options?: { stopLocalServer?: boolean }): Promise<void>;
}

/**
 * Part of the composition layer (beside main.ts, used by it and by the CLI): it ties `db/` to
 * `postgres/`'s managed server, which `db/` itself must not know about (postgres/ reads its tables).
 *
 * Connects to the platform database: DATABASE_URL when given, otherwise the private cluster
 * under DATA_DIR/postgres (initialised and started as needed). Applies migrations.
 */
export async function openPlatformDatabase(
  config: Pick<Config, 'databaseUrl' | 'dataDir'>,
  logger: Logger,
  options: { maxConnections?: number } = {},
): Promise<PlatformDatabase> {
  let localServer: LocalPostgresServer | undefined;
  let url = config.databaseUrl;
  let adminUrl: string | undefined;
  if (!url) {
    localServer = new LocalPostgresServer({
      directory: join(config.dataDir, 'postgres'),
      logger,
      ...(options.maxConnections ? { maxConnections: options.maxConnections } : {}),
    });
    const connection = await localServer.start();
    adminUrl = connection.url;
    await ensureDatabase(connection.url, PLATFORM_DATABASE);
    url = connection.urlFor(PLATFORM_DATABASE);
  }
  const db = createDb(url);
  try {
    const applied = await migrateToLatest(db);
    if (applied.length > 0) logger.info({ applied }, 'database migrations applied');
  } catch (error) {
    await db.destroy();
    throw error;
  }
  // Tenant roles may live on this same server: nobody but its owner may connect to the platform's database.
  await sql`DO $$ BEGIN EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database()); END $$`
    .execute(db)
    .catch((error: unknown) => logger.warn({ err: error }, 'could not revoke CONNECT on the platform database from PUBLIC'));
  return {
    db,
    url,
    localServer,
    adminUrl,
    async close(options = {}) {
      await db.destroy();
      if (localServer && options.stopLocalServer !== false) await localServer.stop();
    },
  };
}

/** `/readyz`: the platform database answers and every migration this build knows is applied. */
export async function platformReadiness(db: Db): Promise<{ ready: boolean; checks: Record<string, string> }> {
  try {
    await sql`SELECT 1`.execute(db);
  } catch (error) {
    return { ready: false, checks: { database: `unreachable: ${(error as Error).message}` } };
  }
  const pending = await pendingMigrations(db);
  return pending.length === 0
    ? { ready: true, checks: { database: 'ok', migrations: 'ok' } }
    : { ready: false, checks: { database: 'ok', migrations: `pending: ${pending.join(', ')}` } };
}
