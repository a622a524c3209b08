export {
  ODOO_PBKDF2_DEFAULT_ROUNDS,
  type OdooPasswordHashOptions,
  type ParsedOdooPasswordHash,
  adaptedBase64Decode,
  adaptedBase64Encode,
  hashOdooPassword,
  parseOdooPasswordHash,
  verifyOdooPassword,
} from './password.js';
export {
  InvalidOdooConfigError,
  type OdooLogLevel,
  type OdooServerOptions,
  type PostgresSslMode,
  renderOdooConfig,
} from './config-file.js';
export {
  applyTenantIdentity,
  countActiveInternalUsers,
  ODOO_ADMIN_USER_ID,
  ODOO_MAIN_COMPANY_ID,
  readConfigParameter,
  type TenantIdentity,
} from './identity.js';
export {
  authenticateSession,
  executeKw,
  type OdooEndpoint,
  OdooRpcError,
  odooHealthy,
  odooVersion,
  type OdooVersionInfo,
} from './rpc-client.js';
export {
  detectOdooVersion,
  initialiseDatabase,
  neutraliseDatabase,
  type OdooInstallation,
  type OdooRunOptions,
  runOdooCommand,
  warmWebAssets,
  writeOdooConfig,
} from './commands.js';
export { copyFilestore, filestorePath, filestoreSize, removeFilestore } from './filestore.js';
export { findOdoo } from './discovery.js';
