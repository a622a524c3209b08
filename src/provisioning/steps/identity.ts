import { applyTenantIdentity } from '../../odoo/index.js';
import type { ProvisioningContext } from '../context.js';
import type { Step } from '../runner.js';

/**
 * The copy becomes the tenant's: its own uuid and secret, base URL, company name, admin login and
 * password. applyTenantIdentity signals Odoo's default cache after its commit, so an Odoo process
 * that loaded the database before (a pool's cron worker walking its databases) drops what it
 * cached of the template's values.
 */
export const identityStep: Step<ProvisioningContext, 'identity'> = {
  name: 'identity',
  async run({ deps, tenant, ops, admin, source }) {
    const account = await deps.db.selectFrom('accounts').select('name').where('id', '=', tenant.account_id).executeTakeFirstOrThrow();
    const adminPasswordHash = await admin.passwordHash;
    await ops.withDatabase(tenant.database_name, (client) =>
      applyTenantIdentity(client, {
        baseUrl: deps.tenantBaseUrl(tenant.name),
        // Restored data keeps its own company; a template's gets the account's name.
        companyName: source.kind === 'archive' ? undefined : account.name,
        adminLogin: admin.login,
        adminEmail: tenant.admin_email,
        adminPasswordHash,
      }),
    );
  },
};
