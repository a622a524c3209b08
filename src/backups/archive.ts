import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { PassThrough, type Readable, Transform } from 'node:stream';
import yazl from 'yazl';

/** One file of the filestore to put under `filestore/` in the archive. */
export interface ArchiveFile {
  path: string;
  absolutePath: string;
  size: number;
}

export interface ArchiveInput {
  /** pg_dump's plain SQL, read as it is produced. */
  dump: Readable;
  /** manifest.json's text. */
  manifest: string;
  files: AsyncIterable<ArchiveFile>;
  /** Modification time written on every entry (Odoo writes the files' own; the time of the backup says more). */
  mtime: Date;
}

export interface ArchiveStats {
  dumpBytes: number;
  filestoreFiles: number;
  filestoreBytes: number;
}

export interface Archive {
  /** The zip, produced as fast as it is read (backpressure reaches pg_dump through the pipes). */
  stream: Readable;
  /** Settles once every entry went into the zip; rejects with the first error of any input. */
  stats: Promise<ArchiveStats>;
}

/**
 * Odoo's backup zip (`odoo/service/db.py` `dump_db`, `odoo/tools/osutil.py` `zip_dir`): `dump.sql`
 * first, then `manifest.json`, then `filestore/<files>`, all deflated; zip64 where sizes need it.
 * Nothing is staged on disk or in memory: the dump and each file stream through the deflater.
 */
export function buildBackupArchive(input: ArchiveInput): Archive {
  const zip = new yazl.ZipFile();
  const entry = { mtime: input.mtime, mode: 0o100644 };
  const output = zip.outputStream as Readable;
  let dumpBytes = 0;
  const counted = new PassThrough();
  counted.on('data', (chunk: Buffer) => {
    dumpBytes += chunk.length;
  });
  const failed = new Promise<never>((_resolve, reject) => {
    input.dump.on('error', reject);
    zip.on('error', reject);
    output.on('error', reject);
  });
  input.dump.pipe(counted);
  zip.addReadStream(counted, 'dump.sql', entry);
  zip.addBuffer(Buffer.from(input.manifest), 'manifest.json', entry);

  const added = (async () => {
    let filestoreFiles = 0;
    let filestoreBytes = 0;
    for await (const file of input.files) {
      zip.addReadStreamLazy(`filestore/${file.path}`, { ...entry, size: file.size }, (callback) =>
        callback(null, createReadStream(file.absolutePath)),
      );
      filestoreFiles += 1;
      filestoreBytes += file.size;
    }
    zip.end();
    return { filestoreFiles, filestoreBytes };
  })();
  // A failed listing of the filestore must fail the archive too, not leave it open.
  added.catch((error: unknown) => output.destroy(error as Error));
  const ended = new Promise<void>((resolve) => output.on('end', resolve));
  const stats = Promise.race([Promise.all([added, ended]).then(([files]) => ({ dumpBytes, ...files })), failed]);
  stats.catch(() => undefined); // the caller awaits it; never an unhandled rejection meanwhile
  return { stream: output, stats };
}

/** Counts and hashes what flows through it: the archive's size and sha256 as it is stored. */
export function hashingTap(): { tap: Transform; digest: () => { sha256: string; bytes: number } } {
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  return { tap, digest: () => ({ sha256: hash.digest('hex'), bytes }) };
}

/** sha256 and size of a whole stream (the read-back of a stored archive). */
export async function hashStream(stream: Readable): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}
