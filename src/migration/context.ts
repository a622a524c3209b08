import type { BackupService, BackupStorage } from '../backups/index.js';
import type { Db, MigrationRow, TenantRow } from '../db/index.js';
import type { JobQueue } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';
import type { PlanService } from '../plans/index.js';
import type { DatabaseServerOperations, DatabaseServerRegistry } from '../postgres/index.js';
import type { TenantOperations } from '../provisioning/index.js';
import type { ConnectionCosts, RuntimeRegistry } from '../runtimes/index.js';
import type { SecretBox } from '../secrets/index.js';

export interface MigrationDependencies {
  db: Db;
  jobs: JobQueue;
  backups: BackupService;
  storage: BackupStorage;
  servers: DatabaseServerRegistry;
  runtimes: RuntimeRegistry;
  plans: PlanService;
  secretBox: SecretBox;
  operations: Pick<TenantOperations, 'enqueue' | 'usage'>;
  tenantHostName: (tenantName: string) => string;
  odooDataDir: string;
  /** Where the backup's archive is fetched to while it is loaded on the target (one file per migration). */
  scratchDir: string;
  /** How long a moved tenant's source database is kept (MIGRATION_SOURCE_GRACE_HOURS). */
  sourceGraceMs: number;
  /** What Odoo processes may hold in connections: a target server must have room for the tenant (connection-budget.ts). */
  connectionCosts?: ConnectionCosts | undefined;
  logger: Logger;
  /** Test-only: the process is killed (SIGKILL) after this migration step or at this point (`migration:switching`). */
  crashAt?: string | undefined;
  /** Test-only: `migration:verify:<tenant>` makes that tenant's verification log in with a wrong password (a real refused login). */
  failAt?: string | undefined;
}

/** What the steps of one migration share; `target*` are set once the `target` step chose the server. */
export interface MigrationContext {
  deps: MigrationDependencies;
  migration: MigrationRow;
  tenant: TenantRow & { server_id: string };
  /** Operations on the target server (undefined until the target step). */
  targetOps: DatabaseServerOperations | undefined;
  targetAdminUrl: string | undefined;
  archiveFile: string;
  /** The database name the backup is loaded under on the target before it is checked. */
  sideName: string;
  crashPoint(point: string): void;
  /**
   * What the running step spent its time on ("fetch 120 ms"), written beside the step's own
   * duration on the timeline ("migration: load done in 700 ms (fetch 120 ms, restore 540 ms)")
   * and emptied for the next step: where a maintenance window goes (bench/migrate.ts sums them).
   */
  parts: string[];
  /** The side database was made empty by this attempt's `target` step, before the maintenance page (steps.ts createSideDatabase). */
  sideDatabaseFresh?: boolean | undefined;
  /** The one-time password of the admin's verification login and its hash, computed before the maintenance page (PBKDF2 is CPU). */
  oneTimeLogin?: Promise<{ password: string; hash: string }> | undefined;
}

/** Runs `work` as a named part of the current step: its duration goes on the step's timeline entry. */
export async function timed<T>(context: Pick<MigrationContext, 'parts'>, part: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    context.parts.push(`${part} ${Math.round(performance.now() - started)} ms`);
  }
}

/** The migration's target server once chosen. */
export function targetOf(context: MigrationContext): { ops: DatabaseServerOperations; adminUrl: string; serverId: string } {
  const { targetOps, targetAdminUrl, migration } = context;
  if (!targetOps || !targetAdminUrl || !migration.target_server_id) throw new Error('the target server is not chosen yet');
  return { ops: targetOps, adminUrl: targetAdminUrl, serverId: migration.target_server_id };
}

/** The database moves to another server (false: only the process strategy or the plan changes). */
export const movesDatabase = (migration: MigrationRow): boolean =>
  migration.target_server_id !== null && migration.target_server_id !== migration.source_server_id;
