export {
  type Plan,
  type PlanDefinition,
  type PlanLimits,
  type PlanPlacement,
  type PlanPrice,
  parseCatalog,
  planCodeSchema,
  planSchema,
  storedPlanLimits,
  storedPlanPlacement,
} from './catalog.js';
export { createPlanService, defaultCatalog, type PlanService } from './service.js';
