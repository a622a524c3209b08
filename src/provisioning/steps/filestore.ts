import { copyFilestore } from '../../odoo/index.js';
import { copiedDatabase, type ProvisioningContext } from '../context.js';
import type { Step } from '../runner.js';

/**
 * The copied database's filestore, as hard links (Odoo never rewrites an attachment file in
 * place). copyFilestore builds it under a side name and renames it when whole, and keeps an
 * existing one, so rerunning the step is cheap and no check is needed to skip it.
 */
export const filestoreStep: Step<ProvisioningContext, 'filestore'> = {
  name: 'filestore',
  // An archive's filestore is written with its database (the clone step).
  appliesTo: ({ source }) => source.kind !== 'archive',
  async run({ deps, tenant, source }) {
    if (source.kind === 'archive') return;
    await copyFilestore(deps.odooDataDir, copiedDatabase(source), tenant.database_name);
  },
};
