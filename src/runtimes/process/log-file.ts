/** Reading and rotating the log file of a workload. */
import { closeSync, openSync, readSync, renameSync, statSync } from 'node:fs';
import { splitTail } from './log-filter.js';

/** How much of the end of a log is read to answer a request: bounds the cost of a huge log. */
export const DEFAULT_TAIL_BYTES = 4 * 1024 * 1024;

/** The lines in the last `maxBytes` of the file (none when it does not exist). */
export function readTailLines(path: string, maxBytes = DEFAULT_TAIL_BYTES): string[] {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  try {
    const size = statSync(path).size;
    const start = Math.max(0, size - maxBytes);
    // One byte more before the chunk tells whether the chunk starts on a line boundary.
    const readFrom = Math.max(0, start - 1);
    const buffer = Buffer.alloc(size - readFrom);
    let filled = 0;
    while (filled < buffer.length) {
      const read = readSync(fd, buffer, filled, buffer.length - filled, readFrom + filled);
      if (read === 0) break;
      filled += read;
    }
    const firstLineComplete = start === 0 || buffer[0] === 0x0a;
    const text = buffer.subarray(start - readFrom, filled).toString('utf8');
    return splitTail(text, firstLineComplete);
  } finally {
    closeSync(fd);
  }
}

/**
 * Moves a log that grew past `maxBytes` to `<path>.1` (replacing the previous one). Called
 * when a workload starts; Odoo reopens its `logfile` when it is moved (WatchedFileHandler).
 */
export function rotateLogIfLarge(path: string, maxBytes: number): boolean {
  try {
    if (statSync(path).size <= maxBytes) return false;
  } catch {
    return false;
  }
  renameSync(path, `${path}.1`);
  return true;
}
