/**
 * The platform's own Odoo addons (`odoo-addons/` at the package root), loaded server-wide by every
 * Odoo process that serves tenants. Today one: `saas_rpc_guard`, which makes Odoo refuse RPC calls
 * naming a database the request's host may not open (the gateway cannot see RPC calls that a
 * website rewrite moved to another path; see docs/architecture.md), and `saas_pool_memory`, which
 * bounds the registries a pool worker keeps and recycles a worker past a resident-memory limit.
 *
 * How Odoo finds them: through its data_dir's addons directory, `<data_dir>/addons/<series>`,
 * which Odoo always puts on its addons path (odoo/modules/module.py initialize_sys_path), whatever
 * `addons_path` says. Writing `addons_path` instead would replace Odoo's default: a source
 * checkout run without ODOO_ADDONS_PATH would lose its `addons/` directory (web, mail, ...).
 * Each platform addon is a symbolic link there to the directory shipped with the platform.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `odoo-addons/` of this package: three levels up from src/runtimes/process/ and from dist/runtimes/process/. */
export const PLATFORM_ADDONS_DIR = fileURLToPath(new URL('../../../odoo-addons/', import.meta.url));

export const PLATFORM_ADDONS = ['saas_rpc_guard', 'saas_pool_memory'] as const;

/** `server_wide_modules` of processes that serve tenants: Odoo's default two, then the platform's. */
export const SERVER_WIDE_MODULES: readonly string[] = ['base', 'web', ...PLATFORM_ADDONS];

/** Odoo's `release.series` as `odoo-bin --version` shows it (`16.0`, `17.0`, `saas~17.2`). */
const ODOO_SERIES = /^(?:saas~)?\d+\.\d+$/;

/**
 * Links each platform addon into `<odooDataDir>/addons/<series>`. Idempotent; a link left by an
 * older install elsewhere is replaced. Fails when an addon is missing from the package: Odoo would
 * only log that it could not load a server-wide module and serve tenants without it.
 */
export async function linkPlatformAddons(odooDataDir: string, series: string, addonsDir = PLATFORM_ADDONS_DIR): Promise<string> {
  if (!ODOO_SERIES.test(series)) throw new Error(`unexpected Odoo series ${JSON.stringify(series)}`);
  const target = join(odooDataDir, 'addons', series);
  await mkdir(target, { recursive: true, mode: 0o700 });
  // Odoo creates this directory read-only (0500) when it finds none; the platform's user owns it.
  await chmod(target, 0o700);
  for (const addon of PLATFORM_ADDONS) {
    const source = join(addonsDir, addon);
    if (!existsSync(join(source, '__init__.py')) || !existsSync(join(source, '__manifest__.py'))) {
      throw new Error(`the platform's Odoo addon ${addon} is missing from ${addonsDir}`);
    }
    const link = join(target, addon);
    const current = await readlink(link).catch(() => undefined);
    if (current === source) continue;
    // Made under a side name and renamed over: Odoo processes already running never see a gap.
    const sideName = `${link}.${process.pid}.tmp`;
    await rm(sideName, { force: true });
    await symlink(source, sideName, 'dir');
    await rename(sideName, link);
  }
  return target;
}
