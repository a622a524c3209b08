/**
 * Migration planning, pure: what a move of a tenant changes (its database server, its process
 * strategy, its plan) and how long its customers would see the maintenance page. No I/O: the
 * service hands in the tenant's placement, the target and the sizes.
 */

export type DatabaseStrategy = 'shared' | 'dedicated';
export type ProcessStrategy = 'pool' | 'dedicated';

export interface Placement {
  serverId: string;
  databaseStrategy: DatabaseStrategy;
  processStrategy: ProcessStrategy;
  plan: string;
}

export interface MigrationTarget {
  /** A named server; undefined: chosen when the migration runs (a new dedicated server, the least-loaded shared one). */
  serverId: string | undefined;
  databaseStrategy: DatabaseStrategy;
  processStrategy: ProcessStrategy;
  plan: string;
}

export interface MigrationPlan {
  /** The database is copied to another server (a backup loaded there); false: it stays where it is. */
  movesDatabase: boolean;
  /** Odoo serves it from another kind of process (pool <-> dedicated). */
  changesProcess: boolean;
  changesPlan: boolean;
  estimatedDowntimeMs: number;
  /** What will happen, in order, in words an operator or customer reads. */
  actions: string[];
}

/** Measured on this kind of machine: stopping and starting Odoo, the admin login, the switch. */
const FIXED_DOWNTIME_MS = 3_000;
/** pg_dump -> zip -> storage, read back, then psql on the target: about this many bytes a second end to end. */
const DATABASE_BYTES_PER_SECOND = 20 * 1024 * 1024;
/** Filestore files are zipped and checked, not copied (the filestore stays on this machine's disk). */
const FILESTORE_BYTES_PER_SECOND = 80 * 1024 * 1024;

/** How long the tenant's route would answer the maintenance page, from its sizes. */
export function estimateDowntimeMs(sizes: { databaseBytes: number; filestoreBytes: number }, movesDatabase: boolean): number {
  const backup = (sizes.databaseBytes / DATABASE_BYTES_PER_SECOND + sizes.filestoreBytes / FILESTORE_BYTES_PER_SECOND) * 1000;
  const load = movesDatabase ? (sizes.databaseBytes / DATABASE_BYTES_PER_SECOND) * 1000 : 0;
  return Math.round(FIXED_DOWNTIME_MS + backup + load);
}

/** Nothing to do: the target is where the tenant already is. */
export class NothingToMigrate extends Error {
  override name = 'NothingToMigrate';
}

export function planMigration(
  source: Placement,
  target: MigrationTarget,
  sizes: { databaseBytes: number; filestoreBytes: number },
): MigrationPlan {
  // No named server: one is chosen when it runs, never the one the tenant leaves (a new dedicated one, a drain's target).
  const movesDatabase = target.serverId === undefined || target.serverId !== source.serverId;
  const changesProcess = target.processStrategy !== source.processStrategy;
  const changesPlan = target.plan !== source.plan;
  if (!movesDatabase && !changesProcess && !changesPlan) throw new NothingToMigrate('the tenant is already there');
  const actions: string[] = [];
  if (!movesDatabase && !changesProcess) {
    actions.push(`apply the limits of plan ${target.plan} at once`);
    return { movesDatabase, changesProcess, changesPlan, estimatedDowntimeMs: 0, actions };
  }
  actions.push('show the maintenance page and stop Odoo', 'back up the tenant (verified)');
  if (movesDatabase) {
    const where =
      target.serverId ??
      (target.databaseStrategy === 'dedicated' ? 'a new dedicated database server' : 'the least-loaded shared database server');
    actions.push(`load the backup on ${where} and check its row and file counts`);
  }
  if (changesProcess)
    actions.push(target.processStrategy === 'dedicated' ? 'serve it from Odoo processes of its own' : 'serve it from the shared Odoo pool');
  if (changesPlan) actions.push(`apply plan ${target.plan}`);
  actions.push('log in as the admin through its host name; on failure, go back to where it was');
  if (movesDatabase) actions.push('keep the old database for the grace period, then drop it');
  return { movesDatabase, changesProcess, changesPlan, estimatedDowntimeMs: estimateDowntimeMs(sizes, movesDatabase), actions };
}

/** Percentile (nearest rank) of durations, for the benchmark and the drain summary. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? 0;
}
