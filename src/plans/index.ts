export {
  DEFAULT_RUNTIME_KIND,
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
  RUNTIME_KINDS,
  type RuntimeKind,
  storedPlanLimits,
  storedPlanPlacement,
} from './catalog.js';
export { createPlanService, defaultCatalog, type PlanService } from './service.js';
