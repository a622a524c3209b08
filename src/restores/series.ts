import { ConflictError } from '../errors/index.js';
import { majorSeries } from '../odoo/index.js';

/**
 * A database goes back only into the Odoo major version it was made with (Odoo migrates between
 * versions with its upgrade service, never by a restore): a 409 naming both otherwise. Unknown
 * on either side (an old backup, a tenant of the default series): nothing to compare. Pure.
 */
export function requireSameSeries(
  archive: { version: string | null | undefined; what: string },
  tenant: { name: string; series: string | null | undefined },
  field = 'id',
): void {
  if (!archive.version || !tenant.series) return;
  const major = majorSeries(archive.version);
  if (major === tenant.series) return;
  throw new ConflictError(
    `${archive.what} was made with Odoo ${major}, and ${tenant.name} runs Odoo ${tenant.series}: a database can only be restored ` +
      `into the Odoo version it was made with. Upgrade it to Odoo ${tenant.series} first (Odoo's upgrade service), or restore it into a tenant of Odoo ${major}.`,
    { field },
  );
}
