import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { OdooInstallation } from './commands.js';

/** ODOO_BIN, else `odoo` or `odoo-bin` on PATH; undefined when Odoo is not installed. */
export function findOdoo(env: NodeJS.ProcessEnv = process.env): OdooInstallation | undefined {
  const addonsPath = env.ODOO_ADDONS_PATH
    ? env.ODOO_ADDONS_PATH.split(',')
        .map((p) => p.trim())
        .filter(Boolean)
    : undefined;
  if (env.ODOO_BIN) return { bin: env.ODOO_BIN, addonsPath };
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    for (const name of ['odoo', 'odoo-bin']) {
      if (dir && existsSync(join(dir, name))) return { bin: join(dir, name), addonsPath };
    }
  }
  return undefined;
}
