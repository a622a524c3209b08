// Migration of tenants between database servers and process strategies, and live plan changes (docs/operations/migration.md).
export type { MigrationDependencies } from './context.js';
export { estimateDowntimeMs, type MigrationPlan, percentile, planMigration } from './plan.js';
export { dropDueSources, rollBackMigration, runMigration } from './run.js';
export { createMigrationService, type MigrationService } from './service.js';
export { MIGRATION_STEP_NAMES } from './steps.js';
export {
  MIGRATION_STATES,
  type MigrationPlanView,
  type MigrationView,
  migrationPlanSchema,
  migrationViewSchema,
  toMigrationView,
} from './views.js';
