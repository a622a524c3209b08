import { join } from 'node:path';
import type { BackupService } from './backups/index.js';
import type { Config } from './config/index.js';
import type { Db } from './db/index.js';
import type { JobQueue } from './jobs/index.js';
import type { Logger } from './logging/index.js';
import { createMigrationService, type MigrationService } from './migration/index.js';
import type { PlanService } from './plans/index.js';
import type { DatabaseServerRegistry } from './postgres/index.js';
import type { TenantOperations } from './provisioning/index.js';
import type { ConnectionCosts, RuntimeRegistry } from './runtimes/index.js';
import type { SecretBox } from './secrets/index.js';

/**
 * Composition of migrations: tenants moved between database servers and process strategies
 * (their own job queue), server drains, live plan changes, and the hourly drop of source
 * databases kept for MIGRATION_SOURCE_GRACE_HOURS. Archives are fetched to DATA_DIR/migrations-scratch.
 */
export async function startMigrations(deps: {
  config: Config;
  db: Db;
  jobs: JobQueue;
  backups: BackupService;
  servers: DatabaseServerRegistry;
  runtimes: RuntimeRegistry;
  operations: TenantOperations;
  plans: PlanService;
  secretBox: SecretBox;
  odooDataDir: string;
  tenantHostName: (tenantName: string) => string;
  connectionCosts: ConnectionCosts;
  logger: Logger;
}): Promise<MigrationService> {
  const { config } = deps;
  const migrations = createMigrationService({
    ...deps,
    storage: deps.backups.storage,
    scratchDir: join(config.dataDir, 'migrations-scratch'),
    sourceGraceMs: config.migrationSourceGraceMs,
    crashAt: config.crashAt,
    failAt: config.failAt,
  });
  await migrations.registerJobs(config.runWorkers);
  return migrations;
}
