import type { Migration, MigrationProvider } from 'kysely/migration';
import * as m0001 from './0001_foundation.js';
import * as m0002 from './0002_tenants.js';
import * as m0003 from './0003_spare_databases.js';
import * as m0004 from './0004_plan_tenant_limits.js';
import * as m0005 from './0005_job_claims.js';
import * as m0006 from './0006_domain_events.js';
import * as m0007 from './0007_tenant_runtimes.js';
import * as m0008 from './0008_identity.js';
import * as m0009 from './0009_backups.js';
import * as m0010 from './0010_billing.js';
import * as m0011 from './0011_billing_gateway_events.js';
import * as m0012 from './0012_custom_domains.js';
import * as m0013 from './0013_notifications_webhooks.js';
import * as m0014 from './0014_domain_certificates.js';
import * as m0015 from './0015_hibernation.js';
import * as m0016 from './0016_odoo_installations.js';
import * as m0017 from './0017_usage.js';
import * as m0018 from './0018_restores.js';
import * as m0019 from './0019_migrations.js';
import * as m0020 from './0020_billing_credit_notes.js';
import * as m0021 from './0021_database_server_hibernation.js';
import * as m0022 from './0022_tenant_odoo_series.js';
import * as m0023 from './0023_job_logs.js';
import * as m0026 from './0026_billing_payment_methods.js';
import * as m0027 from './0027_killbill.js';
import * as m0028 from './0028_billing_plan_awaiting_payment.js';
import * as m0029 from './0029_billing_usage.js';
import * as m0031 from './0031_billing_usage_from.js';
import * as m0034 from './0034_billing_paystack_plans.js';

/** Migrations are listed in code (not read from disk) so the built package carries them. */
export const migrations: Record<string, Migration> = {
  '0001_foundation': m0001,
  '0002_tenants': m0002,
  '0003_spare_databases': m0003,
  '0004_plan_tenant_limits': m0004,
  '0005_job_claims': m0005,
  '0006_domain_events': m0006,
  '0007_tenant_runtimes': m0007,
  '0008_identity': m0008,
  '0009_backups': m0009,
  '0010_billing': m0010,
  '0011_billing_gateway_events': m0011,
  '0012_custom_domains': m0012,
  '0013_notifications_webhooks': m0013,
  '0014_domain_certificates': m0014,
  '0015_hibernation': m0015,
  '0016_odoo_installations': m0016,
  '0017_usage': m0017,
  '0018_restores': m0018,
  '0019_migrations': m0019,
  '0020_billing_credit_notes': m0020,
  '0021_database_server_hibernation': m0021,
  '0022_tenant_odoo_series': m0022,
  '0023_job_logs': m0023,
  '0026_billing_payment_methods': m0026,
  '0027_killbill': m0027,
  '0028_billing_plan_awaiting_payment': m0028,
  '0029_billing_usage': m0029,
  '0031_billing_usage_from': m0031,
  '0034_billing_paystack_plans': m0034,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
