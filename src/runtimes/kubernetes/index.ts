export { accessResourceName, RUNTIME_ACCESS, type RuntimeAccess } from './access.js';
export { createKubeClient, KubeApiError, type KubeClient, kubeConfigFrom, resourcePath } from './api-client.js';
export {
  CONFIG_HASH_ANNOTATION,
  configHash,
  DEDICATED_DATABASE_CLUSTER,
  FIELD_MANAGER,
  type KubeObject,
  type KubeTenant,
  LABELS,
  type PoolManifestInput,
  poolManifests,
  type TenantManifestInput,
  tenantManifests,
  tenantNamespace,
} from './manifests.js';
export { type KubeOdooConfInput, type PoolOdooConfInput, poolOdooConf, tenantOdooConf } from './odoo-conf.js';
export { RolloutFailedError, type RolloutState, rolloutState, waitForRollout } from './rollout.js';
export { createKubernetesRuntime, type KubernetesRuntime, type KubernetesRuntimeOptions } from './runtime.js';
export { DEFAULT_KUBERNETES_SETTINGS, type KubernetesSettings } from './settings.js';
export { type PlanShape, type PlanSizing, planSizing } from './sizing.js';
export { validateKubeObject } from './validate.js';
