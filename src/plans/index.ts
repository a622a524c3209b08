export {
  type Plan,
  type PlanDefinition,
  type PlanLimits,
  type PlanPlacement,
  type PlanPrice,
  PROCESS_STRATEGIES,
  parseCatalog,
  planCodeSchema,
  planSchema,
  planViewSchema,
  storedPlanLimits,
  storedPlanPlacement,
} from './catalog.js';
export { createPlanService, defaultCatalog, type PlanService } from './service.js';
