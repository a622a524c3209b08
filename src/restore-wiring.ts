import { join } from 'node:path';
import type { BackupService } from './backups/index.js';
import type { Config } from './config/index.js';
import type { Db } from './db/index.js';
import type { JobQueue } from './jobs/index.js';
import type { Logger } from './logging/index.js';
import type { OdooSeriesRegistry } from './odoo-installs/index.js';
import type { DatabaseServerRegistry } from './postgres/index.js';
import type { TenantOperations } from './provisioning/index.js';
import { archiveLoader, createRestoreService, type RestoreService } from './restores/index.js';
import type { RuntimeRegistry } from './runtimes/index.js';
import type { SecretBox } from './secrets/index.js';
import type { TenantService } from './tenants/index.js';

/**
 * Composition of restores: backups restored in place (their own job queue) and into new tenants,
 * imports of Odoo zips. Archives are fetched to DATA_DIR/restores-scratch while a restore runs.
 */
export async function startRestores(deps: {
  config: Config;
  db: Db;
  jobs: JobQueue;
  backups: BackupService;
  servers: DatabaseServerRegistry;
  runtimes: RuntimeRegistry;
  operations: TenantOperations;
  tenants: TenantService;
  secretBox: SecretBox;
  odooDataDir: string;
  /** The series that can run: an import must be of one of them. */
  odooSeries: Pick<OdooSeriesRegistry, 'available'>;
  logger: Logger;
}): Promise<RestoreService> {
  const { config } = deps;
  const scratchDir = join(config.dataDir, 'restores-scratch');
  const restoreDeps = {
    ...deps,
    storage: deps.backups.storage,
    scratchDir,
    crashAt: config.crashAt,
    imports: {
      scratchDir,
      maxBytes: config.backups.importMaxBytes,
      uploadKey: deps.secretBox.deriveKey('backup-import-uploads'),
      availableOdooSeries: () => deps.odooSeries.available(),
    },
  };
  const restores = createRestoreService(restoreDeps);
  // Provisioning fills tenants made from an archive through this loader.
  deps.operations.fillFromArchives(archiveLoader(restoreDeps));
  await restores.registerJobs(config.runWorkers);
  return restores;
}
