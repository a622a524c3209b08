export { databaseExists, ensureDatabase, withConnection } from './admin.js';
export { findPostgresBinaries, type PostgresBinaries } from './binaries.js';
export { type PostgresClientCommand, postgresClientCommand } from './client-command.js';
export { quoteIdentifier, quoteLiteral } from './identifiers.js';
export { freePort, type LocalPostgresConnection, type LocalPostgresOptions, LocalPostgresServer } from './local-server.js';
export { type RunAs, runCommand } from './process.js';
export {
  createDatabaseServerRegistry,
  type DatabaseServerRegistry,
  type DatabaseServerView,
  type TenantPlacements,
} from './registry.js';
export { type DatabaseOwnership, type DatabaseServerOperations, databaseServerOperations } from './tenant-databases.js';
