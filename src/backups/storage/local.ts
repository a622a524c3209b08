import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BackupStorage } from './types.js';

/**
 * Archives as files under one directory (default `DATA_DIR/backups`), one directory per tenant,
 * every directory 0700 and file 0600: backups hold every secret of a tenant's database. A file
 * is written as `<key>.partial` and renamed when complete, so a crash mid-write never leaves a
 * short archive under the real name.
 */
export function localBackupStorage(root: string): BackupStorage {
  const base = resolve(root);
  const pathOf = (key: string) => {
    const path = resolve(base, key);
    // Keys are built by the platform; this guards a future caller from writing outside the root.
    if (!path.startsWith(base + sep)) throw new Error(`backup key ${JSON.stringify(key)} leaves the backup directory`);
    return path;
  };
  const partialOf = (key: string) => `${pathOf(key)}.partial`;

  return {
    kind: 'local',
    async put(key, body) {
      const path = pathOf(key);
      await mkdir(base, { recursive: true, mode: 0o700 });
      await chmod(base, 0o700);
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await chmod(dirname(path), 0o700);
      const partial = partialOf(key);
      await pipeline(body, createWriteStream(partial, { mode: 0o600 }));
      await rename(partial, path);
    },
    async get(key, range) {
      const path = pathOf(key);
      await stat(path); // a missing archive fails here, not later inside the stream
      return createReadStream(path, range ? { start: range.start, end: range.end - 1 } : {});
    },
    async size(key) {
      return stat(pathOf(key)).then(
        (s) => s.size,
        () => undefined,
      );
    },
    async delete(key) {
      await rm(pathOf(key), { force: true });
      await rm(partialOf(key), { force: true });
    },
    describe: (key) => `file://${join(base, key)}`,
  };
}
