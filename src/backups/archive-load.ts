import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import type { BackupRow } from '../db/index.js';
import { ODOO_ADMIN_USER_ID, ODOO_COUNTED_TABLES, odooRecordCounts } from '../odoo/index.js';
import { startPlainRestore } from '../postgres/index.js';
import { hashingTap } from './archive.js';
import { readBackupArchive } from './archive-reader.js';
import type { BackupStorage } from './storage/index.js';

/** Odoo's core tables: a restore without them is no Odoo database. */
const CORE_TABLES = ['res_users', 'res_partner', 'res_company', 'ir_module_module', 'ir_attachment'];

/**
 * Fetches a verified backup's archive from storage into `file` (0600), checking its sha256
 * against the record again: bit rot or tampering since the backup was made is caught here, not
 * after a restore. Answers what is wrong, empty when the file is the archive that was verified.
 */
export async function fetchVerifiedArchive(storage: BackupStorage, backup: BackupRow, file: string): Promise<string[]> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const { tap, digest } = hashingTap();
  await pipeline(await storage.get(backup.storage_key), tap, createWriteStream(file, { mode: 0o600 }));
  const fetched = digest();
  if (fetched.sha256 !== backup.sha256)
    return [`the stored archive changed since it was verified (sha256 ${fetched.sha256}, recorded ${backup.sha256})`];
  return [];
}

export interface LoadedArchive {
  hasDump: boolean;
  files: number;
  /** manifest.json's text, when the archive has one. */
  manifest: string | undefined;
}

/**
 * Loads an Odoo backup zip: `dump.sql` into `database` (which must exist, empty) by psql as
 * `role`, stopping at the first error, and meanwhile the `filestore/` entries into `filestoreDirectory`
 * (written under a side name and renamed when whole, so a directory under that name is always
 * complete). Without `filestoreDirectory` the files are read through only (their deflate streams,
 * sizes and CRC-32s are still checked).
 */
export async function loadBackupArchive(input: {
  file: string;
  adminUrl: string;
  database: string;
  role: string;
  filestoreDirectory?: string;
}): Promise<LoadedArchive> {
  const target = input.filestoreDirectory;
  const partial = target ? join(dirname(target), `.${target.split(sep).pop()}.partial`) : undefined;
  if (partial) await rm(partial, { recursive: true, force: true });
  let manifest: string | undefined;
  const contents = await readBackupArchive(input.file, {
    async dump(stream) {
      const psql = startPlainRestore(input.adminUrl, input.database, input.role);
      // A damaged dump (its CRC-32 or size wrong) kills psql before its input is closed: an
      // end of input would let psql commit the part it read.
      stream.once('error', () => psql.kill());
      await Promise.all([pipeline(stream, psql.stream), psql.done]);
    },
    manifest(text) {
      manifest = text;
    },
    async file(path, stream) {
      if (!partial) {
        for await (const _chunk of stream); // read through
        return;
      }
      const destination = resolve(partial, path);
      // yauzl refuses `..` and absolute names already; this keeps any other trick out too.
      if (!destination.startsWith(resolve(partial) + sep)) throw new Error(`the archive names a file outside the filestore: ${path}`);
      await mkdir(dirname(destination), { recursive: true });
      await pipeline(stream, createWriteStream(destination));
    },
  });
  if (partial && target) {
    await mkdir(partial, { recursive: true }); // an archive without files gives an empty filestore
    await rm(target, { recursive: true, force: true });
    await rename(partial, target);
  }
  return { ...contents, manifest };
}

/**
 * What is wrong with a database restored from an archive: Odoo's core tables missing, the admin
 * user missing, row counts of res_users / res_partner / ir_attachment other than `recordCounts`
 * (when known). Empty when it is a whole Odoo database.
 */
export async function restoredDatabaseProblems(client: pg.Client, recordCounts: Record<string, number> | null): Promise<string[]> {
  const problems: string[] = [];
  const present = await client.query<{ relname: string }>("SELECT relname FROM pg_class WHERE relkind = 'r' AND relname = ANY($1)", [
    CORE_TABLES,
  ]);
  const missing = CORE_TABLES.filter((table) => !present.rows.some((row) => row.relname === table));
  if (missing.length > 0) return [`Odoo core tables missing: ${missing.join(', ')}`];
  const admin = await client.query('SELECT 1 FROM res_users WHERE id = $1', [ODOO_ADMIN_USER_ID]);
  if (admin.rowCount !== 1) problems.push('the admin user (id 2) is missing');
  const counts = await odooRecordCounts(client);
  for (const table of ODOO_COUNTED_TABLES) {
    const recorded = recordCounts?.[table];
    if (recorded !== undefined && counts[table] !== recorded)
      problems.push(`${table} has ${counts[table]} rows, ${recorded} were backed up`);
  }
  return problems;
}

/** Whether a path exists (a side database's filestore, a fetched archive). */
export const pathExists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );
