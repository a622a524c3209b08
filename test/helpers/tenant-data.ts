import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { filestorePath } from '../../src/odoo/index.js';
import { withConnection } from '../../src/postgres/index.js';
import { postgresAdminUrl } from './postgres.js';

/**
 * What a tenant's data is, to compare before a backup and after a restore: the row count of
 * every table of its database, and the sha256 of every file of its filestore (by path).
 */
export interface TenantData {
  rows: Record<string, number>;
  files: Record<string, string>;
}

export function tenantDatabaseUrl(databaseName: string): string {
  const url = new URL(postgresAdminUrl());
  url.pathname = `/${databaseName}`;
  return url.toString();
}

export async function tenantData(odooDataDir: string, databaseName: string): Promise<TenantData> {
  const rows = await withConnection(tenantDatabaseUrl(databaseName), async (client) => {
    const tables = await client.query<{ name: string }>(
      "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    );
    const counts: Record<string, number> = {};
    for (const { name } of tables.rows) {
      const result = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${name}`);
      counts[name] = Number(result.rows[0]?.n);
    }
    return counts;
  });
  const root = filestorePath(odooDataDir, databaseName);
  const files: Record<string, string> = {};
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files[relative(root, path)] = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
  }
  return { rows, files };
}

/** Databases on the test server whose name starts with `prefix` (side copies a restore must not leave behind). */
export async function databasesStartingWith(prefix: string): Promise<string[]> {
  return withConnection(postgresAdminUrl(), async (client) => {
    const result = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1', [
      prefix,
    ]);
    return result.rows.map((row) => row.datname);
  });
}
