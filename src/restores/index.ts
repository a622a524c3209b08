// Restores of backups (in place, into a new tenant) and imports of Odoo zips (docs/operations/backups.md).
export { archiveLoader } from './archive-loader.js';
export { type RestoreDependencies, restoreNames } from './context.js';
export { DEFAULT_IMPORT_MAX_BYTES, type ReceivedUpload } from './imports.js';
export { IN_PLACE_STEPS, RestoreRefused } from './in-place-steps.js';
export { createRestoreService, type RestoreService, type RestoreServiceDependencies } from './service.js';
export { RESTORE_KINDS, RESTORE_STATES, type RestoreView, restoreViewSchema, toRestoreView } from './views.js';
