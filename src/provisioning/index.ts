// The steps are declared with the tenant (its view names them); re-exported for callers of this folder.
export { PROVISIONING_STEPS, type ProvisioningStep } from '../tenants/index.js';
export {
  CLONE_CRASH_POINTS,
  createTenantOperations,
  type ProvisioningDependencies,
  TENANT_OPS_QUEUE,
  type TenantOperation,
  type TenantOperationJob,
  type TenantOperations,
} from './operations.js';
export { createPoolAccess, type PoolAccess, poolRoleName } from './pool-access.js';
export { createLifecycleSweep, LIFECYCLE_SWEEP_QUEUE } from './schedules.js';
export { createSpareDatabases, SPARE_REFILL_QUEUE, type SpareDatabases } from './spares.js';
export { copyTemplateToServer } from './template-copy.js';
