import { applyTenantIdentity } from '../../odoo/index.js';
import type { ProvisioningContext } from '../context.js';
import type { Step } from '../runner.js';
import { warmUpServing } from '../warm-up.js';

/**
 * The copy becomes the tenant's: its own uuid and secret, base URL, company name, admin login and
 * password. Meanwhile the runtime serves the tenant and its web workers load the tenant's registry
 * (warmUpServing); applyTenantIdentity signals Odoo's caches after its commit, so what they
 * cached before it is dropped.
 */
export const identityStep: Step<ProvisioningContext, 'identity'> = {
  name: 'identity',
  async run(context) {
    const { deps, tenant, ops, admin, source } = context;
    const warming = warmUpServing(context);
    try {
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
    } catch (error) {
      // Nothing of this attempt may still be serving when a clean-up after it runs.
      await warming;
      throw error;
    }
  },
};
