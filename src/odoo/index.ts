export {
  detectOdooVersion,
  initialiseDatabase,
  neutraliseDatabase,
  type OdooInstallation,
  type OdooRunOptions,
  runOdooCommand,
  type WarmUpResult,
  warmWebAssets,
  writeOdooConfig,
} from './commands.js';
export {
  InvalidOdooConfigError,
  type OdooLogLevel,
  type OdooServerOptions,
  type PostgresSslMode,
  renderOdooConfig,
} from './config-file.js';
export { findOdoo } from './discovery.js';
export {
  ODOO_COUNTED_TABLES,
  type OdooDumpManifest,
  type OdooRecordCounts,
  odooDumpManifestSchema,
  odooPgVersion,
  odooRecordCounts,
  odooReleaseOf,
  readDumpManifest,
  renderDumpManifest,
  seriesOfModuleVersion,
} from './dump-manifest.js';
export { odooEnvironment } from './environment.js';
export { copyFilestore, type FilestoreFile, filestoreFiles, filestorePath, filestoreSize, removeFilestore } from './filestore.js';
export {
  applyBaseUrl,
  applyTenantIdentity,
  countActiveInternalUsers,
  deactivateNewestInternalUsers,
  ODOO_ADMIN_USER_ID,
  ODOO_MAIN_COMPANY_ID,
  readConfigParameter,
  signalOdooCaches,
  type TenantIdentity,
} from './identity.js';
export {
  ODOO_LOG_LEVELS,
  type OdooLogLevelName,
  type OdooLogQuery,
  type OdooLogRecord,
  parseOdooLog,
  searchOdooLog,
} from './log-records.js';
export {
  adaptedBase64Decode,
  adaptedBase64Encode,
  hashOdooPassword,
  ODOO_PBKDF2_DEFAULT_ROUNDS,
  type OdooPasswordHashOptions,
  type ParsedOdooPasswordHash,
  parseOdooPasswordHash,
  verifyOdooPassword,
} from './password.js';
export {
  assetUrlsOf,
  authenticateSession,
  checkSession,
  executeKw,
  fetchOdooPage,
  type OdooEndpoint,
  OdooRpcError,
  type OdooSession,
  type OdooVersionInfo,
  odooHealthy,
  odooVersion,
  touchDatabase,
} from './rpc-client.js';
export { majorSeries } from './series.js';
