import type { Db, TenantRow } from '../db/index.js';
import type { JobQueue } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';
import type { OdooInstallation } from '../odoo/index.js';
import type { PlanService } from '../plans/index.js';
import type { DatabaseServerOperations, DatabaseServerRegistry } from '../postgres/index.js';
import type { ConnectionCosts, RuntimeRegistry } from '../runtimes/index.js';
import type { SecretBox } from '../secrets/index.js';
import type { TemplateService } from '../templates/index.js';
import { tenantById } from '../tenants/index.js';
import type { SpareDatabases } from './spares.js';

/**
 * Fills a tenant's database and filestore from an Odoo backup zip (restores/ implements it; a
 * port, so provisioning does not depend on restores, which runs its own steps through this runner).
 */
export interface ArchiveLoader {
  /**
   * Loads the restore's archive into `database` (made under a side name and renamed when whole
   * and verified) and its filestore into `filestoreDirectory`. Throws saying what is wrong.
   */
  load(input: {
    restoreId: string;
    ops: DatabaseServerOperations;
    adminUrl: string;
    database: string;
    role: string;
    filestoreDirectory: string;
  }): Promise<void>;
  /** The tenant made from the archive is serving, or its provisioning was given up. */
  settle(restoreId: string, outcome: { state: 'succeeded' } | { state: 'failed'; reason: string }): Promise<void>;
}

export interface ProvisioningDependencies {
  db: Db;
  jobs: JobQueue;
  servers: DatabaseServerRegistry;
  templates: TemplateService;
  plans: PlanService;
  runtimes: RuntimeRegistry;
  spares: SpareDatabases;
  secretBox: SecretBox;
  /** The Odoo of a series (null: the default series), if it can run now (it may be installed while the platform runs). */
  odooFor: (series?: string | null) => Promise<OdooInstallation | undefined>;
  odooDataDir: string;
  workDir: string;
  tenantBaseUrl: (tenantName: string) => string;
  tenantHostName: (tenantName: string) => string;
  logger: Logger;
  /** What Odoo processes may hold in connections: placement keeps each server within its max_connections. */
  connectionCosts?: ConnectionCosts;
  /** Tenants made from a backup zip (restore into a new tenant, import); set once restores exist. */
  archives?: ArchiveLoader;
  /**
   * Test-only fault injection (crash-safety tests): the process exits right after this step, or
   * at this point inside the clone step (CLONE_CRASH_POINTS).
   */
  crashAfterStep?: string | undefined;
}

export async function loadTenant(db: Db, tenantId: string): Promise<TenantRow | undefined> {
  return tenantById(tenantId, db);
}
