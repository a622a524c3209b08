export { findPostgresBinaries, type PostgresBinaries } from './binaries.js';
export { LocalPostgresServer, freePort, type LocalPostgresConnection, type LocalPostgresOptions } from './local-server.js';
export { quoteIdentifier, quoteLiteral } from './identifiers.js';
export { withConnection, databaseExists, ensureDatabase } from './admin.js';
export { runCommand, type RunAs } from './process.js';
export { databaseServerOperations, type DatabaseServerOperations } from './tenant-databases.js';
export { createDatabaseServerRegistry, type DatabaseServerRegistry, type DatabaseServerView } from './registry.js';
