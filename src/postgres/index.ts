// The quoting helper lives in db/ (the notification hub needs it, and db/ must not import postgres/);
// re-exported here because every DDL writer of this folder's callers reaches for it here.
export { quoteIdentifier, quoteLiteral } from '../db/index.js';
export { databaseExists, ensureDatabase, withConnection } from './admin.js';
export { findPostgresBinaries, type PostgresBinaries } from './binaries.js';
export { type PostgresClientCommand, postgresClientCommand } from './client-command.js';
export { type LocalPostgresConnection, type LocalPostgresOptions, LocalPostgresServer } from './local-server.js';
export { type RunningProgram, startPlainDump, startPlainRestore } from './plain-dump.js';
export { createPoolAccess, type PoolCredentials, poolRoleName } from './pool-access.js';
export {
  createDatabaseServerRegistry,
  type DatabaseServerRegistry,
  DEFAULT_SHARED_SERVER_CAPACITY,
  type TenantPlacements,
} from './registry.js';
export {
  DATABASE_SERVER_KINDS,
  DATABASE_SERVER_STATUSES,
  type DatabaseServerKind,
  type DatabaseServerStatus,
  type DatabaseServerView,
  databaseServerViewSchema,
} from './server-view.js';
export { type DatabaseOwnership, type DatabaseServerOperations, databaseServerOperations } from './tenant-databases.js';
