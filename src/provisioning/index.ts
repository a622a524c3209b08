export {
  CLONE_CRASH_POINTS,
  createTenantOperations,
  PROVISIONING_STEPS,
  type ProvisioningDependencies,
  type ProvisioningStep,
  TENANT_OPS_QUEUE,
  type TenantOperation,
  type TenantOperationJob,
  type TenantOperations,
} from './operations.js';
export { createPoolAccess, type PoolAccess, poolRoleName } from './pool-access.js';
export { createLifecycleSweep, LIFECYCLE_SWEEP_QUEUE } from './schedules.js';
export { createSpareDatabases, SPARE_REFILL_QUEUE, type SpareDatabases } from './spares.js';
export { copyTemplateToServer } from './template-copy.js';
