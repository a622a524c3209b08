import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { readBackupArchive } from '../../src/backups/archive-reader.js';
import { readArchiveManifest } from '../../src/backups/index.js';

const dir = mkdtempSync(join(tmpdir(), 'archive-reader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const dump = Buffer.from('CREATE TABLE t (id int);\n'.repeat(200_000)); // several MiB: several reads and inflate chunks
const image = randomBytes(3 * 1_048_576 + 17);
const note = Buffer.from('a small attachment\n');

/** An Odoo-layout zip: dump.sql and a text file deflated, the image stored (as other zip tools do). */
async function writeZip(name: string): Promise<string> {
  const zip = new yazl.ZipFile();
  zip.addBuffer(dump, 'dump.sql');
  zip.addBuffer(Buffer.from('{"version": "16.0"}'), 'manifest.json');
  zip.addEmptyDirectory('filestore/ab');
  zip.addBuffer(image, 'filestore/ab/image', { compress: false });
  zip.addBuffer(note, 'filestore/cd/note');
  zip.addBuffer(Buffer.from('ignored'), 'elsewhere.txt');
  zip.end();
  const file = join(dir, name);
  await pipeline(zip.outputStream, createWriteStream(file));
  return file;
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('reading an Odoo backup zip', () => {
  it('hands out the dump, the manifest and the filestore files byte for byte, and nothing else', async () => {
    const file = await writeZip('whole.zip');
    const files = new Map<string, string>();
    let dumpHash = '';
    let manifest = '';
    const result = await readBackupArchive(file, {
      dump: async (stream) => {
        dumpHash = sha(await collect(stream));
      },
      manifest: (text) => {
        manifest = text;
      },
      file: async (path, stream, size) => {
        const data = await collect(stream);
        expect(data.length).toBe(size);
        files.set(path, sha(data));
      },
    });
    expect(result).toEqual({ hasDump: true, files: 2 });
    expect(dumpHash).toBe(sha(dump));
    expect(manifest).toBe('{"version": "16.0"}');
    expect(Object.fromEntries(files)).toEqual({ 'ab/image': sha(image), 'cd/note': sha(note) });
    expect(await readArchiveManifest(file)).toEqual({ hasDump: true, manifest: '{"version": "16.0"}' });
  });

  it('fails an entry whose bytes changed (CRC-32) or that the archive cuts short', async () => {
    const whole = readFileSync(await writeZip('source.zip'));
    // A byte of the stored image flipped: the data still "reads", only its CRC-32 tells.
    const flipped = Buffer.from(whole);
    const at = flipped.indexOf(image.subarray(0, 64)) + 1_000_000;
    flipped[at] = (flipped[at] ?? 0) ^ 0xff;
    writeFileSync(join(dir, 'flipped.zip'), flipped);
    const readAll = (file: string) =>
      readBackupArchive(join(dir, file), {
        dump: async (stream) => void (await collect(stream)),
        file: async (_path, stream) => void (await collect(stream)),
      });
    await expect(readAll('flipped.zip')).rejects.toThrow('filestore/ab/image fails its CRC-32 check: the archive is damaged');

    // The central directory kept, the image's data half gone: its entry reads short.
    const start = whole.indexOf(image.subarray(0, 64));
    const cut = Buffer.concat([whole.subarray(0, start + 1_000_000), whole.subarray(start + image.length)]);
    writeFileSync(join(dir, 'cut.zip'), cut);
    await expect(readAll('cut.zip')).rejects.toThrow();
  });

  it('stops the dump when a file fails, and answers only once both sides stopped', async () => {
    const file = await writeZip('failing.zip');
    let dumpEnded = false;
    const failure = readBackupArchive(file, {
      dump: async (stream) => {
        try {
          await collect(stream);
        } finally {
          dumpEnded = true;
        }
      },
      file: async () => {
        throw new Error('disk full');
      },
    });
    await expect(failure).rejects.toThrow('disk full');
    expect(dumpEnded).toBe(true);
  });
});
