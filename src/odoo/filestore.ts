import { cp, link, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Odoo keeps attachments at `<data_dir>/filestore/<database>`. */
export function filestorePath(odooDataDir: string, database: string): string {
  return join(odooDataDir, 'filestore', database);
}

/** Where a filestore is copied before it gets its name: a crash mid-copy leaves only this behind. */
function partialFilestorePath(odooDataDir: string, database: string): string {
  return join(odooDataDir, 'filestore', `.${database}.partial`);
}

const pathExists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/**
 * Copies a filestore with hard links where possible. Odoo names attachment files by their
 * checksum and never rewrites one in place (a change writes a new file), so sharing the inode
 * of a template's files between clones is safe, instant and costs no disk. Falls back to a real
 * copy across file systems. A missing source (template without attachments) gives an empty store.
 * The copy is made under a side name and renamed when complete, so a target that exists is whole
 * (a crash mid-copy, e.g. mid-file in the fallback, leaves the side copy, which the next attempt
 * starts again).
 */
export async function copyFilestore(odooDataDir: string, sourceDatabase: string, targetDatabase: string): Promise<void> {
  const source = filestorePath(odooDataDir, sourceDatabase);
  const target = filestorePath(odooDataDir, targetDatabase);
  if (await pathExists(target)) return;
  const partial = partialFilestorePath(odooDataDir, targetDatabase);
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  if (await pathExists(source)) await linkTree(source, partial);
  await rename(partial, target);
}

async function linkTree(source: string, target: string): Promise<void> {
  for (const entry of await readdir(source, { withFileTypes: true })) {
    const from = join(source, entry.name);
    const to = join(target, entry.name);
    if (entry.isDirectory()) {
      await mkdir(to, { recursive: true });
      await linkTree(from, to);
    } else if (entry.isFile()) {
      await link(from, to).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code === 'EXDEV' || error.code === 'EPERM') await cp(from, to);
        else throw error;
      });
    }
  }
}

export async function removeFilestore(odooDataDir: string, database: string): Promise<void> {
  await rm(filestorePath(odooDataDir, database), { recursive: true, force: true });
  await rm(partialFilestorePath(odooDataDir, database), { recursive: true, force: true });
}

/** Bytes used by a filestore (for storage limits). */
export async function filestoreSize(odooDataDir: string, database: string): Promise<number> {
  async function size(path: string): Promise<number> {
    let total = 0;
    const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) total += await size(full);
      else if (entry.isFile()) total += (await stat(full)).size;
    }
    return total;
  }
  return size(filestorePath(odooDataDir, database));
}

export interface FilestoreFile {
  /** Path inside the filestore, with `/` separators (`ab/abcdef...`). */
  path: string;
  absolutePath: string;
  size: number;
}

/**
 * Every file of a filestore, depth first in name order (a stable order makes archives of the
 * same data equal). Hard-linked files are ordinary files here; a missing filestore has none.
 */
export async function* filestoreFiles(odooDataDir: string, database: string): AsyncGenerator<FilestoreFile> {
  async function* walk(directory: string, prefix: string): AsyncGenerator<FilestoreFile> {
    const entries = await readdir(directory, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const absolutePath = join(directory, entry.name);
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) yield* walk(absolutePath, path);
      else if (entry.isFile()) yield { path, absolutePath, size: (await stat(absolutePath)).size };
    }
  }
  yield* walk(filestorePath(odooDataDir, database), '');
}
