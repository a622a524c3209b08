import { type FileHandle, open } from 'node:fs/promises';
import { pipeline, Readable, Transform } from 'node:stream';
import { crc32, createInflateRaw } from 'node:zlib';
import yauzl from 'yauzl';

/**
 * Reads an Odoo backup zip, streaming each entry (the dump can be larger than memory). Only the
 * entries Odoo itself restores are handed out, as Odoo's `restore_db` does ("only extract known
 * members"): `dump.sql`, `manifest.json` and `filestore/<path>`; names that leave the filestore
 * (`..`, absolute) are refused by yauzl before they get here.
 */
export interface ArchiveVisitor {
  dump(stream: Readable): Promise<void>;
  manifest?(text: string): void;
  file(path: string, stream: Readable, size: number): Promise<void>;
}

/**
 * Compressed bytes are read, and inflated bytes handed on, a mebibyte at a time. yauzl's own
 * entry streams go through 64 KiB reads and 16 KiB inflate chunks, each a hop through the
 * thread pool: on a loaded machine every hop waits for a core, and a restore spent a third of
 * its time there (bench/backup.ts). Memory stays a few MiB per open entry.
 */
const CHUNK_BYTES = 1 << 20;

/** Deflate (what Odoo and this platform write) and stored (what other zip tools may write for small files). */
const DEFLATED = 8;
const STORED = 0;

interface OpenArchive {
  /** yauzl's view: the central directory and the local headers (its own descriptor, closed by `zip.close()`). */
  zip: yauzl.ZipFile;
  /** The descriptor the entries' data is read through, in large reads. */
  handle: FileHandle;
  /** The central directory's next entry other than a directory, undefined after the last: one at a time, whatever their number. */
  nextEntry(): Promise<yauzl.Entry | undefined>;
}

async function openArchive(path: string): Promise<OpenArchive> {
  const zip = await yauzl.openPromise(path, { lazyEntries: true, validateEntrySizes: true, autoClose: false });
  const nextEntry = async (): Promise<yauzl.Entry | undefined> => {
    for (;;) {
      const entry = await new Promise<yauzl.Entry | undefined>((resolve, reject) => {
        zip.once('entry', resolve);
        zip.once('end', () => resolve(undefined));
        zip.once('error', reject);
        zip.readEntry();
      });
      zip.removeAllListeners('entry').removeAllListeners('end').removeAllListeners('error');
      if (!entry?.fileName.endsWith('/')) return entry; // else a directory entry
    }
  };
  try {
    return { zip, handle: await open(path, 'r'), nextEntry };
  } catch (error) {
    zip.close();
    throw error;
  }
}

async function closeArchive({ zip, handle }: OpenArchive): Promise<void> {
  zip.close();
  await handle.close(); // after the reads in flight, if any
}

/** `length` bytes of the file from `start`, a mebibyte a read. */
function rangeStream(handle: FileHandle, start: number, length: number): Readable {
  let position = start;
  const end = start + length;
  return new Readable({
    highWaterMark: CHUNK_BYTES,
    read() {
      const size = Math.min(CHUNK_BYTES, end - position);
      if (size <= 0) {
        this.push(null);
        return;
      }
      handle.read(Buffer.allocUnsafe(size), 0, size, position).then(
        ({ bytesRead, buffer }) => {
          if (bytesRead === 0) return this.destroy(new Error('the archive ends before its entries do: it is truncated'));
          position += bytesRead;
          this.push(bytesRead === size ? buffer : buffer.subarray(0, bytesRead));
        },
        (error: Error) => this.destroy(error),
      );
    },
  });
}

/**
 * One entry's content, inflated, its size and CRC-32 checked against the central directory as it
 * flows (a damaged or truncated archive fails the stream at its end, before a consumer settles).
 */
async function openEntry({ zip, handle }: OpenArchive, entry: yauzl.Entry): Promise<Readable> {
  if (entry.isEncrypted()) throw new Error(`${entry.fileName} is encrypted in the archive`);
  if (entry.compressionMethod !== DEFLATED && entry.compressionMethod !== STORED)
    throw new Error(`${entry.fileName} uses zip compression method ${entry.compressionMethod}; only deflate and stored are read`);
  const { fileDataStart } = await zip.readLocalFileHeaderPromise(entry, { minimal: true });
  const compressed = rangeStream(handle, fileDataStart, entry.compressedSize);
  const checked = entryCheck(entry);
  const stages =
    entry.compressionMethod === DEFLATED ? [compressed, createInflateRaw({ chunkSize: CHUNK_BYTES }), checked] : [compressed, checked];
  // A failure anywhere fails what the consumer reads; a consumer that stops early closes the rest.
  pipeline(stages, (error) => {
    if (error) checked.destroy(error);
  });
  return checked;
}

function entryCheck(entry: yauzl.Entry): Transform {
  let bytes = 0;
  let crc = 0;
  return new Transform({
    highWaterMark: CHUNK_BYTES,
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes > entry.uncompressedSize)
        return callback(new Error(`${entry.fileName} holds more than the ${entry.uncompressedSize} bytes the archive records`));
      crc = crc32(chunk, crc);
      callback(null, chunk);
    },
    flush(callback) {
      if (bytes !== entry.uncompressedSize)
        return callback(
          new Error(`${entry.fileName} holds ${bytes} bytes, the archive records ${entry.uncompressedSize}: it is truncated`),
        );
      if (crc >>> 0 !== entry.crc32 >>> 0) return callback(new Error(`${entry.fileName} fails its CRC-32 check: the archive is damaged`));
      callback();
    },
  });
}

async function readText(archive: OpenArchive, entry: yauzl.Entry): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await openEntry(archive, entry)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Hands the dump and the filestore files to the visitor at the same time: the dump's pace is
 * PostgreSQL's, and inflating and writing the files meanwhile uses the other core instead of
 * waiting for it (raw `unzip` does one after the other). The first failure stops both, and this
 * answers only once neither is still running.
 */
export async function readBackupArchive(path: string, visitor: ArchiveVisitor): Promise<{ hasDump: boolean; files: number }> {
  const archive = await openArchive(path);
  const stop = new AbortController();
  const reading = new Set<Readable>();
  /** An entry's stream, destroyed with the first failure of either side. */
  const entryStream = async (entry: yauzl.Entry): Promise<Readable> => {
    stop.signal.throwIfAborted();
    const stream = await openEntry(archive, entry);
    if (stop.signal.aborted) stream.destroy(stop.signal.reason as Error);
    reading.add(stream);
    stream.once('close', () => reading.delete(stream));
    return stream;
  };
  const failed = (error: unknown): never => {
    if (!stop.signal.aborted) {
      stop.abort(error);
      for (const stream of reading) stream.destroy(error as Error);
    }
    throw error;
  };
  let dump: Promise<void> | undefined;
  let files = 0;
  try {
    // Odoo writes dump.sql first: its load starts at once and runs while the files are read.
    const entries = (async () => {
      for (let entry = await archive.nextEntry(); entry; entry = await archive.nextEntry()) {
        stop.signal.throwIfAborted();
        if (entry.fileName === 'dump.sql') {
          if (dump) continue; // a second one (yauzl allows duplicate names): the first is the dump
          dump = entryStream(entry)
            .then((stream) => visitor.dump(stream))
            .catch(failed);
          dump.catch(() => undefined); // settled below, after the files: never an unhandled rejection meanwhile
        } else if (entry.fileName === 'manifest.json') visitor.manifest?.(await readText(archive, entry));
        else if (entry.fileName.startsWith('filestore/')) {
          files += 1;
          await visitor.file(entry.fileName.slice('filestore/'.length), await entryStream(entry), entry.uncompressedSize);
        }
      }
    })().catch(failed);
    await Promise.allSettled([entries]);
    await Promise.allSettled([dump]);
    if (stop.signal.aborted) throw stop.signal.reason;
    return { hasDump: dump !== undefined, files };
  } finally {
    await closeArchive(archive);
  }
}

/**
 * Only what an import checks before anything is made: whether the zip has `dump.sql`, and its
 * `manifest.json` text. The central directory is read; of the entries only the manifest is inflated.
 */
export async function readArchiveManifest(path: string): Promise<{ hasDump: boolean; manifest: string | undefined }> {
  const archive = await openArchive(path);
  let hasDump = false;
  let manifest: string | undefined;
  try {
    for (let entry = await archive.nextEntry(); entry; entry = await archive.nextEntry()) {
      if (entry.fileName === 'dump.sql') hasDump = true;
      else if (entry.fileName === 'manifest.json' && entry.uncompressedSize < 16 * 1024 * 1024) manifest = await readText(archive, entry);
    }
    return { hasDump, manifest };
  } finally {
    await closeArchive(archive);
  }
}
