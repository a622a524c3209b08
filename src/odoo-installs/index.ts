export { type InstallationLayout, installationLayout, shellQuote, wrapperScript } from './layout.js';
export { createSeriesRegistry, type OdooSeriesRegistry, type SeriesOdoo } from './series.js';
export { createOdooInstallService, ODOO_INSTALL_QUEUE, type OdooInstallService } from './service.js';
export {
  INSTALL_STEPS,
  INSTALLATION_STATUSES,
  type InstallStep,
  NOT_READY_FOR_CUSTOMERS,
  type OdooInstallationView,
  odooInstallationViewSchema,
  type PlatformReadiness,
  platformReadinessSchema,
} from './views.js';
