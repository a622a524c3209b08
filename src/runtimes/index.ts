export { type DeferredRuntime, deferredRuntime } from './deferred.js';
export { createDockerRuntime, type DockerRuntime, type DockerRuntimeOptions, imageOf } from './docker/index.js';
export {
  accessResourceName,
  createKubeClient,
  createKubernetesRuntime,
  DEFAULT_KUBERNETES_SETTINGS,
  type KubeClient,
  type KubernetesRuntime,
  type KubernetesSettings,
  kubeConfigFrom,
  LABELS as KUBERNETES_LABELS,
  RUNTIME_ACCESS,
} from './kubernetes/index.js';
export {
  type ConnectionCosts,
  connectionBudgetProblem,
  connectionCosts,
  connectionShapeOf,
  createProcessRuntime,
  type OdooCommand,
  PLATFORM_ADDONS_DIR,
  type ProcessRuntime,
  type ProcessRuntimeOptions,
  requiredMaxConnections,
  type ServerTenants,
} from './process/index.js';
export { createRuntimeRegistry, type RuntimeRegistry } from './registry.js';
export type {
  DatabaseCredentials,
  PoolAccess,
  Runtime,
  RuntimeKind,
  SharedProcessView,
  SharedWorkloadView,
  TenantServeSpec,
  Upstream,
  WorkloadMetrics,
  WorkloadState,
  WorkloadStatus,
} from './types.js';
export { ODOO_MISSING, unavailableRuntime } from './unavailable.js';
export { type LoadReading, UpstreamLoad, type UpstreamLoadRecorder } from './upstream-load.js';
export { recordedUpstream, recordedUpstreams, recordUpstream } from './upstream-store.js';
