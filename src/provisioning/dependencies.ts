import type { Db, TenantRow } from '../db/index.js';
import type { JobQueue } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';
import type { OdooInstallation } from '../odoo/index.js';
import type { PlanService } from '../plans/index.js';
import type { DatabaseServerRegistry } from '../postgres/index.js';
import type { ConnectionCosts, RuntimeRegistry } from '../runtimes/index.js';
import type { SecretBox } from '../secrets/index.js';
import type { TemplateService } from '../templates/index.js';
import { tenantById } from '../tenants/index.js';
import type { SpareDatabases } from './spares.js';

export interface ProvisioningDependencies {
  db: Db;
  jobs: JobQueue;
  servers: DatabaseServerRegistry;
  templates: TemplateService;
  plans: PlanService;
  runtimes: RuntimeRegistry;
  spares: SpareDatabases;
  secretBox: SecretBox;
  /** The Odoo the platform runs now (it may be installed while the platform runs). */
  odoo: () => OdooInstallation | undefined;
  odooDataDir: string;
  workDir: string;
  tenantBaseUrl: (tenantName: string) => string;
  tenantHostName: (tenantName: string) => string;
  logger: Logger;
  /** What Odoo processes may hold in connections: placement keeps each server within its max_connections. */
  connectionCosts?: ConnectionCosts;
  /**
   * Test-only fault injection (crash-safety tests): the process exits right after this step, or
   * at this point inside the clone step (CLONE_CRASH_POINTS).
   */
  crashAfterStep?: string | undefined;
}

export async function loadTenant(db: Db, tenantId: string): Promise<TenantRow | undefined> {
  return tenantById(tenantId, db);
}
