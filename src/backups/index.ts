// Backups: Odoo's own zip streamed into storage, verified by reading it back (docs/operations/backups.md).
export { buildBackupArchive, hashStream } from './archive.js';
export { fetchVerifiedArchive, type LoadedArchive, loadBackupArchive, pathExists, restoredDatabaseProblems } from './archive-load.js';
export { readArchiveManifest } from './archive-reader.js';
export { checkDownloadLink, type DownloadGrant, signDownloadLink } from './links.js';
export { addBackupWebhookEvents } from './outbound.js';
export { DEFAULT_RETENTION, type RetainedBackup, type RetentionDecision, type RetentionPolicy, retentionDecisions } from './retention.js';
export type { BackupRunDependencies } from './run.js';
export { type DailySchedule, jitterSeconds, latestDueSlot } from './schedule.js';
export { type BackupService, type BackupServiceDependencies, createBackupService } from './service.js';
export { type BackupStorage, createBackupStorage, localBackupStorage, s3BackupStorage } from './storage/index.js';
export { lastVerifiedPerTenant } from './store.js';
export { BACKUP_STATES, BACKUP_TRIGGERS, type BackupView, backupViewSchema, toBackupView } from './views.js';
