export {
  type Plan,
  type PlanDefinition,
  type PlanLimits,
  type PlanPlacement,
  type PlanPrice,
  planSchema,
  planCodeSchema,
  parseCatalog,
} from './catalog.js';
export { createPlanService, defaultCatalog, type PlanService } from './service.js';
