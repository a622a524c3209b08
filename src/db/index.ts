import { Kysely, PostgresDialect, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import { migrationProvider, migrations } from './migrations/index.js';
import type { Database } from './schema.js';

export type * from './schema.js';
export type Db = Kysely<Database>;

// Return int8 (bigint/count) as number: our counts and ids stay far below 2^53.
pg.types.setTypeParser(20, (value) => Number(value));

export function createDb(url: string, options: { maxConnections?: number } = {}): Db {
  const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 20, connectionTimeoutMillis: 10_000 });
  // An idle client's error (e.g. server restart) must not crash the process.
  pool.on('error', () => undefined);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/** Applies pending migrations; any failure stops start-up (never logged and ignored). */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(
      `Database migration ${failed?.migrationName ?? ''} failed: ${(error as Error | undefined)?.message ?? 'unknown error'}`,
      {
        cause: error,
      },
    );
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Names of migrations known to this build that the database has not applied yet. */
export async function pendingMigrations(db: Db): Promise<string[]> {
  const applied = await sql<{ name: string }>`SELECT name FROM kysely_migration`
    .execute(db)
    .then((r) => new Set(r.rows.map((row) => row.name)))
    .catch(() => new Set<string>());
  return Object.keys(migrations).filter((name) => !applied.has(name));
}

export { quoteIdentifier, quoteLiteral } from './identifiers.js';
export { createNotificationHub, type NotificationHub } from './notifications.js';
