export { createProcessRuntime, type ProcessRuntime, type ProcessRuntimeOptions } from './process/index.js';
export type {
  DatabaseCredentials,
  PoolAccess,
  Runtime,
  RuntimeKind,
  TenantServeSpec,
  Upstream,
  WorkloadState,
  WorkloadStatus,
} from './types.js';
