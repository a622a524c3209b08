import type { Migration, MigrationProvider } from 'kysely/migration';
import * as m0001 from './0001_foundation.js';
import * as m0002 from './0002_tenants.js';
import * as m0003 from './0003_spare_databases.js';
import * as m0004 from './0004_plan_tenant_limits.js';
import * as m0005 from './0005_job_claims.js';
import * as m0006 from './0006_domain_events.js';
import * as m0007 from './0007_tenant_runtimes.js';
import * as m0401 from './0401_notifications_webhooks.js';

/** Migrations are listed in code (not read from disk) so the built package carries them. */
export const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_tenants': m0002,
  '0003_spare_databases': m0003,
  '0004_plan_tenant_limits': m0004,
  '0005_job_claims': m0005,
  '0006_domain_events': m0006,
  '0007_tenant_runtimes': m0007,
  '0401_notifications_webhooks': m0401,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
