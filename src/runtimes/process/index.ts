export { type BackoffPolicy, DEFAULT_BACKOFF, failuresAfterExit, resolveBackoff, restartDelayMs } from './backoff.js';
export {
  type CgroupStats,
  cpuQuotaUs,
  detectResourceLimiter,
  type OsLimits,
  parseCgroupV1Stats,
  parseCgroupV2Stats,
  parseOomKills,
  parseProcCgroup,
  type ResourceLimiter,
  type ResourceLimiterOptions,
  type ResourceLimitMechanism,
  type WorkloadCgroup,
} from './cgroups.js';
export { type Clock, systemClock } from './clock.js';
export {
  type DedicatedProcessSettings,
  dedicatedConfig,
  exactDatabaseFilter,
  type OdooFiles,
  type PoolProcessSettings,
  planMemoryLimits,
  poolCronConfig,
  poolWebConfig,
} from './config.js';
export {
  type ConnectionCosts,
  type ConnectionShape,
  connectionBudgetProblem,
  connectionCosts,
  connectionsNeeded,
  DEFAULT_DEDICATED_DB_MAXCONN,
  DEFAULT_POOL_DB_MAXCONN,
  RESERVED_CONNECTIONS,
  requiredMaxConnections,
  type ServerTenants,
} from './connection-budget.js';
export { DEFAULT_HEALTH_CHECK, type HealthCheckPolicy } from './health.js';
export { KeyedLock } from './keyed-lock.js';
export { databaseOfLogLine, lastLines, linesOfDatabase, splitTail } from './log-filter.js';
export { connectionShapeOf, type OdooCommand, type ProcessRuntimeOptions, resolveProcessRuntimeOptions } from './options.js';
export { linkPlatformAddons, PLATFORM_ADDONS, PLATFORM_ADDONS_DIR, SERVER_WIDE_MODULES } from './platform-addons.js';
export { choosePool, DEFAULT_POOL_MAX_TENANTS, type PoolChoice, type PoolSummary, poolName, serverTag } from './pool-placement.js';
export { PortAllocator, type PortRange } from './ports.js';
export { createProcessRuntime, DEFAULT_LOG_LINES, MAX_LOG_LINES, type ProcessRuntime } from './runtime.js';
export { poolFilterSelects, validateSpec } from './serve-spec-checks.js';
export { loadRuntimeState, type PoolMemberRecord, type PoolRecord, saveRuntimeState } from './state-file.js';
export { preforkProcesses, WebWorkerScaler, type WebWorkerStatus } from './web-workers.js';
export {
  DEFAULT_SCALE_DOWN_AFTER_MS,
  DEFAULT_SCALING_TICK_MS,
  decideWorkers,
  initialScalingState,
  nextSignal,
  type ScalingState,
  scalingEnabled,
  type WorkerScalingPolicy,
} from './worker-scaling.js';
