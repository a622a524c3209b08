/**
 * Which tenants each pool serves, kept on disk in the runtime's work directory. It exists for
 * isolation across restarts: a pool's database role keeps its grants when the platform stops, so
 * after a restart tenants must return to the same pool (or the grants of the old pool must be
 * revoked). The record is written before a grant and removed after a revoke, so a crash in
 * between leaves a record that start() cleans up, never a silent grant.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

export interface PoolMemberRecord {
  tenantId: string;
  /** The tenant's database role granted to the pool's role. */
  roleName: string;
  databaseName: string;
}

export interface PoolRecord {
  name: string;
  databaseServerId: string;
  /** The Odoo series its processes run; absent in files written before series: the default series. */
  series?: string;
  tenants: PoolMemberRecord[];
}

export interface RuntimeStateFile {
  version: 1;
  pools: PoolRecord[];
}

function isMember(value: unknown): value is PoolMemberRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record.tenantId === 'string' && typeof record.roleName === 'string' && typeof record.databaseName === 'string';
}

function isPool(value: unknown): value is PoolRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.name === 'string' &&
    typeof record.databaseServerId === 'string' &&
    (record.series === undefined || typeof record.series === 'string') &&
    Array.isArray(record.tenants) &&
    record.tenants.every(isMember)
  );
}

/** The recorded state; empty when there is none yet. A corrupt file is an error: it holds grants to undo. */
export function loadRuntimeState(path: string): RuntimeStateFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, pools: [] };
    throw error;
  }
  const parsed: unknown = JSON.parse(text);
  const pools = (parsed as { pools?: unknown }).pools;
  if ((parsed as { version?: unknown }).version !== 1 || !Array.isArray(pools) || !pools.every(isPool)) {
    throw new Error(`${path} is not a process runtime state file (version 1)`);
  }
  return { version: 1, pools };
}

/** Written to a temporary file and renamed: a crash leaves the old or the new state, never half. */
export function saveRuntimeState(path: string, state: RuntimeStateFile): void {
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, path);
}
