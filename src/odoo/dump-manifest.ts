import type pg from 'pg';
import { z } from 'zod';
import { quoteIdentifier } from '../db/index.js';

/**
 * The `manifest.json` of an Odoo backup zip, field for field as `odoo/service/db.py`
 * `dump_db_manifest` writes it, so a zip made here restores in any Odoo's database manager and
 * a zip made by Odoo is understood here.
 */
export const odooDumpManifestSchema = z.object({
  odoo_dump: z.literal('1'),
  db_name: z.string(),
  version: z.string(),
  /** `odoo.release.version_info`: e.g. [16, 0, 0, "final", 0, ""]; "saas~17" as first item for SaaS series. */
  version_info: z.array(z.union([z.number(), z.string()])),
  major_version: z.string(),
  pg_version: z.string(),
  /** Installed module -> its `latest_version` (null for a module that never recorded one). */
  modules: z.record(z.string(), z.string().nullable()),
});
export type OdooDumpManifest = z.infer<typeof odooDumpManifestSchema>;

const RELEASE_LEVELS: Record<string, string> = { alpha: 'alpha', beta: 'beta', rc: 'candidate' };

/**
 * `version`, `version_info` and `major_version` of an Odoo series as `odoo/release.py` derives
 * them (`16.0`, `saas~17.1`, `17.0+e`, `18.0rc1`). Throws on a string that is no Odoo version.
 */
export function odooReleaseOf(series: string): Pick<OdooDumpManifest, 'version' | 'version_info' | 'major_version'> {
  const match = /^(saas~)?(\d+)\.(\d+)(?:(alpha|beta|rc)(\d*))?(\+e)?$/.exec(series.trim());
  if (!match) throw new Error(`"${series}" is not an Odoo version (expected e.g. 16.0 or saas~17.1)`);
  const [, saas, major, minor, level, serial, edition] = match;
  const first: number | string = saas ? `saas~${major}` : Number(major);
  const releaseLevel = level ? (RELEASE_LEVELS[level] ?? 'final') : 'final';
  const versionInfo = [first, Number(minor), 0, releaseLevel, serial ? Number(serial) : 0, edition ?? ''];
  const majorVersion = `${first}.${minor}`;
  return {
    version: `${majorVersion}${level ?? ''}${serial ?? ''}${edition ?? ''}`,
    version_info: versionInfo,
    major_version: majorVersion,
  };
}

/** The series a database was last updated with, from its `base` module (`16.0.1.3` -> `16.0`). */
export function seriesOfModuleVersion(latestVersion: string): string | undefined {
  return /^((?:saas~)?\d+\.\d+)\./.exec(latestVersion)?.[1];
}

/**
 * `pg_version` exactly as Odoo computes it: `"%d.%d" % divmod(server_version / 100, 100)` with
 * Python 3's true division, so PostgreSQL 10+ always reads `<major>.0` (160004 -> "16.0") and 9.x `9.<minor>`.
 */
export function odooPgVersion(serverVersionNum: number): string {
  const hundredths = serverVersionNum / 100;
  return `${Math.floor(hundredths / 100)}.${Math.floor(hundredths % 100)}`;
}

/**
 * Reads the manifest of a tenant database (a connection to it as the admin). The Odoo version is
 * the database's own series (its `base` module), falling back to `installedSeries`, so a backup
 * names what it can be restored into even on a replica without Odoo.
 */
export async function readDumpManifest(client: pg.Client, dbName: string, installedSeries?: string): Promise<OdooDumpManifest> {
  const [serverVersion, modules] = await Promise.all([
    client.query<{ server_version_num: string }>('SHOW server_version_num'),
    client.query<{ name: string; latest_version: string | null }>(
      "SELECT name, latest_version FROM ir_module_module WHERE state = 'installed' ORDER BY name",
    ),
  ]);
  const installed: Record<string, string | null> = {};
  for (const row of modules.rows) installed[row.name] = row.latest_version;
  const series = seriesOfModuleVersion(installed.base ?? '') ?? installedSeries;
  if (!series) throw new Error(`Database ${dbName} has no installed base module and no Odoo is installed to name its version.`);
  return {
    odoo_dump: '1',
    db_name: dbName,
    ...odooReleaseOf(series),
    pg_version: odooPgVersion(Number(serverVersion.rows[0]?.server_version_num ?? 0)),
    modules: installed,
  };
}

/** Odoo writes the manifest with `json.dump(..., indent=4)`. */
export function renderDumpManifest(manifest: OdooDumpManifest): string {
  return JSON.stringify(manifest, null, 4);
}

/** Tables whose row counts a backup records and a test restore must reproduce. */
export const ODOO_COUNTED_TABLES = ['res_users', 'res_partner', 'ir_attachment'] as const;
export type OdooRecordCounts = Record<(typeof ODOO_COUNTED_TABLES)[number], number>;

/** Row counts of the counted tables (a missing table counts as -1, which no backup has). */
export async function odooRecordCounts(client: pg.Client): Promise<OdooRecordCounts> {
  const counts = { res_users: -1, res_partner: -1, ir_attachment: -1 };
  for (const table of ODOO_COUNTED_TABLES) {
    const present = await client.query('SELECT 1 FROM pg_class WHERE relname = $1 AND relkind = $2', [table, 'r']);
    if (present.rowCount === 1)
      counts[table] = Number((await client.query(`SELECT count(*) AS n FROM ${quoteIdentifier(table)}`)).rows[0].n);
  }
  return counts;
}
