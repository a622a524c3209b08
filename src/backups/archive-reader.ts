import type { Readable } from 'node:stream';
import yauzl from 'yauzl';

/**
 * Reads an Odoo backup zip entry by entry, streaming each one (the dump can be larger than
 * memory). Only the entries Odoo itself restores are handed out, as Odoo's `restore_db` does
 * ("only extract known members"): `dump.sql`, `manifest.json` and `filestore/<path>`; names that
 * leave the filestore (`..`, absolute) are refused by yauzl before they get here.
 */
export interface ArchiveVisitor {
  dump(stream: Readable): Promise<void>;
  manifest?(text: string): void;
  file(path: string, stream: Readable, size: number): Promise<void>;
}

export async function readBackupArchive(path: string, visitor: ArchiveVisitor): Promise<{ hasDump: boolean; files: number }> {
  const zip = await yauzl.openPromise(path, { lazyEntries: true, validateEntrySizes: true });
  let hasDump = false;
  let files = 0;
  try {
    for (;;) {
      const entry = await new Promise<yauzl.Entry | undefined>((resolve, reject) => {
        zip.once('entry', resolve);
        zip.once('end', () => resolve(undefined));
        zip.once('error', reject);
        zip.readEntry();
      });
      zip.removeAllListeners('entry').removeAllListeners('end').removeAllListeners('error');
      if (!entry) break;
      if (entry.fileName.endsWith('/')) continue; // a directory entry
      if (entry.fileName === 'dump.sql') {
        hasDump = true;
        await visitor.dump(await zip.openReadStreamPromise(entry));
      } else if (entry.fileName === 'manifest.json') {
        const chunks: Buffer[] = [];
        for await (const chunk of await zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
        visitor.manifest?.(Buffer.concat(chunks).toString('utf8'));
      } else if (entry.fileName.startsWith('filestore/')) {
        files += 1;
        await visitor.file(entry.fileName.slice('filestore/'.length), await zip.openReadStreamPromise(entry), entry.uncompressedSize);
      }
    }
  } finally {
    zip.close();
  }
  return { hasDump, files };
}

/**
 * Only what an import checks before anything is made: whether the zip has `dump.sql`, and its
 * `manifest.json` text. The central directory is read; of the entries only the manifest is inflated.
 */
export async function readArchiveManifest(path: string): Promise<{ hasDump: boolean; manifest: string | undefined }> {
  const zip = await yauzl.openPromise(path, { lazyEntries: true, validateEntrySizes: true });
  let hasDump = false;
  let manifest: string | undefined;
  try {
    for (;;) {
      const entry = await new Promise<yauzl.Entry | undefined>((resolve, reject) => {
        zip.once('entry', resolve);
        zip.once('end', () => resolve(undefined));
        zip.once('error', reject);
        zip.readEntry();
      });
      zip.removeAllListeners('entry').removeAllListeners('end').removeAllListeners('error');
      if (!entry) break;
      if (entry.fileName === 'dump.sql') hasDump = true;
      else if (entry.fileName === 'manifest.json' && entry.uncompressedSize < 16 * 1024 * 1024) {
        const chunks: Buffer[] = [];
        for await (const chunk of await zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
        manifest = Buffer.concat(chunks).toString('utf8');
      }
    }
  } finally {
    zip.close();
  }
  return { hasDump, manifest };
}
