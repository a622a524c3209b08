import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { neutraliseDatabase, readConfigParameter, writeOdooConfig } from '../../odoo/index.js';
import type { ProvisioningContext } from '../context.js';
import type { Step } from '../runner.js';

/**
 * `odoo-bin neutralize` on a staging copy of a live tenant: no crons, no outgoing mail, no
 * payments. No end-state check to skip it by: a copy of a copy inherits the marker, not the
 * neutral state, so it runs every attempt and the marker is checked afterwards.
 */
export const neutraliseStep: Step<ProvisioningContext, 'neutralise'> = {
  name: 'neutralise',
  appliesTo: ({ source }) => source.kind === 'tenant-copy',
  async run({ deps, tenant, ops, serveSpec }) {
    const { workDir, odooDataDir } = deps;
    // The copy runs its source's series: that series' odoo-bin neutralises it.
    const odoo = await deps.odooFor(tenant.odoo_series);
    const series = tenant.odoo_series ?? '<series>';
    if (!odoo) throw new Error(`Odoo ${series} is needed to neutralise a copy: install it with saasctl odoo install ${series}.`);
    const configFile = join(workDir, 'neutralise', `${tenant.name}.conf`);
    const role = serveSpec.tenantRole;
    await writeOdooConfig(configFile, {
      db_host: role.host,
      db_port: role.port,
      db_user: role.user,
      db_password: role.password,
      data_dir: odooDataDir,
      ...(odoo.addonsPath ? { addons_path: odoo.addonsPath } : {}),
    });
    try {
      await neutraliseDatabase(
        odoo,
        { configFile, database: tenant.database_name },
        { logFile: join(workDir, 'neutralise', `${tenant.name}.log`) },
      );
    } finally {
      // It holds the tenant role's password: kept no longer than the command needs it.
      await rm(configFile, { force: true });
    }
    const marker = await ops.withDatabase(tenant.database_name, (client) => readConfigParameter(client, 'database.is_neutralized'));
    if (marker?.toLowerCase() !== 'true') throw new Error('odoo-bin neutralize ended, but the copy is not marked as neutralised.');
  },
};
