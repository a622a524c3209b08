import { applyTenantIdentity } from '../../odoo/index.js';
import type { ProvisioningContext } from '../context.js';
import type { Step } from '../runner.js';
import { warmUpServing } from '../warm-up.js';

/**
 * The copy becomes the tenant's: its own uuid and secret, base URL, company name, admin login and
 * password. First (while the password hash finishes) the runtime serves the tenant and its web
 * workers load the tenant's registry (warmUpServing), which the login check would otherwise wait
 * for; applyTenantIdentity then signals Odoo's caches after its commit, so whatever they cached
 * of the template's values is dropped. The loads come before the identity on purpose: always the
 * same order, which the fake Odoo's registry cache checks in CI.
 */
export const identityStep: Step<ProvisioningContext, 'identity'> = {
  name: 'identity',
  async run(context) {
    const { deps, tenant, ops, admin, source } = context;
    const warming = warmUpServing(context);
    let account: { name: string };
    let adminPasswordHash: string;
    try {
      [account, adminPasswordHash] = await Promise.all([
        deps.db.selectFrom('accounts').select('name').where('id', '=', tenant.account_id).executeTakeFirstOrThrow(),
        admin.passwordHash,
      ]);
    } finally {
      // Also on failure: nothing of this attempt may still be serving when a clean-up runs.
      await warming;
    }
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
