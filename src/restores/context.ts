import type { BackupService, BackupStorage } from '../backups/index.js';
import type { BackupRow, Db, RestoreRow, TenantRow } from '../db/index.js';
import type { Logger } from '../logging/index.js';
import type { DatabaseServerOperations, DatabaseServerRegistry } from '../postgres/index.js';
import type { TenantOperations } from '../provisioning/index.js';
import type { RuntimeRegistry } from '../runtimes/index.js';

export interface RestoreDependencies {
  db: Db;
  backups: BackupService;
  storage: BackupStorage;
  servers: DatabaseServerRegistry;
  runtimes: RuntimeRegistry;
  operations: Pick<TenantOperations, 'enqueue'>;
  odooDataDir: string;
  /** Where archives are fetched to while a restore runs (one file per restore, removed at its end). */
  scratchDir: string;
  logger: Logger;
  /** Test-only: the process is killed (SIGKILL) after this restore step or at this point (`restore:swapping`). */
  crashAt?: string | undefined;
}

/** PostgreSQL's limit on names. */
const MAX_IDENTIFIER_BYTES = 63;

/** `name` with `suffix`, the name shortened so the whole stays a valid PostgreSQL identifier. */
export function suffixedName(name: string, suffix: string): string {
  let prefix = name;
  while (Buffer.byteLength(prefix) + Buffer.byteLength(suffix) > MAX_IDENTIFIER_BYTES) prefix = prefix.slice(0, -1);
  return `${prefix}${suffix}`;
}

/**
 * The names a restore in place works with: the live database (and filestore) keeps its name;
 * the archive is loaded under `side`; the swap renames live -> `previous`, side -> live. Both
 * side names carry the restore's id, so a leftover of another restore is never mistaken for ours.
 */
export function restoreNames(databaseName: string, restoreId: string): { live: string; side: string; previous: string } {
  const tag = restoreId.replaceAll('-', '').slice(0, 8);
  return { live: databaseName, side: suffixedName(databaseName, `_rs${tag}`), previous: suffixedName(databaseName, `_pre${tag}`) };
}

export interface InPlaceContext {
  deps: RestoreDependencies;
  restore: RestoreRow;
  tenant: TenantRow & { server_id: string };
  backup: BackupRow;
  ops: DatabaseServerOperations;
  adminUrl: string;
  names: ReturnType<typeof restoreNames>;
  /** The fetched archive. */
  archiveFile: string;
  crashPoint(point: string): void;
}
