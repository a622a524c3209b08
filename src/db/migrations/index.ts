import type { Migration, MigrationProvider } from 'kysely/migration';
import * as m0001 from './0001_foundation.js';
import * as m0002 from './0002_tenants.js';
import * as m0003 from './0003_spare_databases.js';
import * as m0004 from './0004_plan_tenant_limits.js';
import * as m0005 from './0005_job_claims.js';
import * as m0006 from './0006_domain_events.js';
import * as m0007 from './0007_tenant_runtimes.js';
import * as m0101 from './0101_identity.js';
import * as m0201 from './0201_backups.js';
import * as m0301 from './0301_billing.js';
import * as m0302 from './0302_billing_gateway_events.js';
import * as m0501 from './0501_custom_domains.js';

/** Migrations are listed in code (not read from disk) so the built package carries them. */
export const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_tenants': m0002,
  '0003_spare_databases': m0003,
  '0004_plan_tenant_limits': m0004,
  '0005_job_claims': m0005,
  '0006_domain_events': m0006,
  '0007_tenant_runtimes': m0007,
  '0101_identity': m0101,
  '0201_backups': m0201,
  // Placeholder number (billing branch): renumbered after the last main migration on merge.
  '0301_billing': m0301,
  '0302_billing_gateway_events': m0302,
  '0501_custom_domains': m0501,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
