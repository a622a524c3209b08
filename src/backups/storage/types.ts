import type { Readable } from 'node:stream';

/**
 * Where archives are kept: a local directory or an S3-compatible bucket. Keys are relative
 * (`<tenant>/<file>.zip`); `describe` turns one into the location shown to operators.
 */
export interface BackupStorage {
  readonly kind: 'local' | 's3';
  /** Stores the whole stream under `key`; the object exists under `key` only once complete. */
  put(key: string, body: Readable): Promise<void>;
  /** Reads an object back (a byte range when given: inclusive `start`, exclusive `end`). */
  get(key: string, range?: { start: number; end: number }): Promise<Readable>;
  /** Size of a stored object, undefined when there is none. */
  size(key: string): Promise<number | undefined>;
  /** Removes an object and anything a crashed `put` left of it; missing is fine. */
  delete(key: string): Promise<void>;
  describe(key: string): string;
}
