/** Settings of the process runtime, with their defaults. */
import type { Logger } from '../../logging/index.js';
import type { PoolAccess, TenantServeSpec } from '../types.js';
import { type BackoffPolicy, resolveBackoff } from './backoff.js';
import type { ResourceLimiterOptions } from './cgroups.js';
import { type Clock, systemClock } from './clock.js';
import { type ConnectionShape, DEFAULT_DEDICATED_DB_MAXCONN, DEFAULT_POOL_DB_MAXCONN } from './connection-budget.js';
import { DEFAULT_HEALTH_CHECK, type HealthCheckPolicy } from './health.js';
import { DEFAULT_POOL_MAX_TENANTS } from './pool-placement.js';
import type { PortRange } from './ports.js';

export interface ProcessRuntimeOptions {
  /** The Odoo executable (`odoo-bin`, or a launcher that passes its arguments on) of the default series. */
  odooBin?: string;
  addonsPath?: readonly string[];
  /**
   * The Odoo of a series (undefined: the default series), when several run side by side: a tenant
   * runs its spec's `odooSeries`. Rejects (saying what to install) when that series cannot run.
   * Without it every tenant runs `odooBin`.
   */
  odooFor?: (series: string | undefined) => Promise<OdooCommand>;
  /** Directory of the runtime: a subdirectory per workload (config, log, pid files) and state.json. */
  workDir: string;
  /** Odoo's data_dir, shared by every workload: filestores live in `<odooDataDir>/filestore/<db>`. */
  odooDataDir: string;
  logger: Logger;
  poolAccess: PoolAccess;
  /**
   * Odoo's `dbfilter` for pools: `%d` (the host's first label) or `%h` (the host) picks the
   * database, e.g. `^t_%d$`. Tenant naming belongs to tenants/, so the composition passes it.
   */
  poolDbfilter: string;
  /** The tenants that should be served: what start() restores. */
  desiredTenants(): Promise<TenantServeSpec[]>;
  /** Odoo workers of a pool's web process (0 = threaded). Default 2. */
  poolWorkers?: number;
  /** Tenants per pool before a new pool is started. Default 100. */
  poolMaxTenants?: number;
  /** A separate cron-only process per pool (default true); false runs one cron thread in the web process. */
  poolCronProcess?: boolean;
  /**
   * Cron workers of a pool's cron process (prefork): tenants whose scheduled actions run at the
   * same time. Default 2.
   */
  poolCronWorkers?: number;
  /** Odoo's `db_maxconn` of every pool process (connection-budget.ts). Default 16. */
  poolDbMaxconn?: number;
  /** Odoo's `db_maxconn` of a dedicated tenant's process. Default 16. */
  dedicatedDbMaxconn?: number;
  /** Odoo's own per-process limits for pools (limit_memory_soft / _hard). Default Odoo's: 2048 / 2560 MiB. */
  poolOdooMemoryMiB?: { soft: number; hard: number };
  /**
   * Tenants' registries each pool worker keeps, least recently used dropped first (Odoo's
   * `registry_lru_size`). Default: Odoo's own sizing, limit_memory_soft / 15 MiB (136).
   */
  poolRegistryCacheSize?: number;
  /** Resident memory (MiB) past which a pool worker is replaced after its request. Default: never. */
  poolWorkerRecycleMiB?: number;
  /** Operating-system limits of a whole pool (web and cron together), where cgroups are available. */
  poolOsLimits?: { cpu?: number; memoryMiB?: number };
  /** Odoo workers of a dedicated process (0 = threaded, the default). */
  dedicatedWorkers?: number;
  /** Interface Odoo listens on. Default 127.0.0.1: tenants are reached through the gateway only. */
  httpInterface?: string;
  /** Ports for Odoo; default: ports the kernel picks. */
  portRange?: PortRange;
  /** How long a starting Odoo may take to answer /web/health. Default 60 s. */
  healthTimeoutMs?: number;
  healthCheck?: Partial<HealthCheckPolicy>;
  backoff?: Partial<BackoffPolicy>;
  /** Crashes or failed starts in a row after which a process is left `failed`. Default 10. */
  maxFailuresInARow?: number;
  /** Time between SIGTERM and SIGKILL when stopping. Default 10 s. */
  stopGraceMs?: number;
  clock?: Clock;
  /** Where to look for cgroups, or false to rely on Odoo's own limits only. */
  cgroups?: ResourceLimiterOptions | false;
  /** Extra environment for Odoo; it otherwise gets only PATH, HOME, locale and Python variables. */
  env?: Record<string, string>;
  /** A log larger than this is moved aside when its workload starts. Default 100 MiB. */
  maxLogBytes?: number;
  /** Workloads started at once by start(). Default 4. */
  restoreConcurrency?: number;
}

/** The Odoo a workload runs: its executable, addons path and series. */
export interface OdooCommand {
  bin: string;
  addonsPath?: readonly string[] | undefined;
  series: string;
}

export interface ResolvedProcessRuntimeOptions
  extends Required<
    Omit<
      ProcessRuntimeOptions,
      | 'odooBin'
      | 'odooFor'
      | 'addonsPath'
      | 'poolOsLimits'
      | 'poolRegistryCacheSize'
      | 'poolWorkerRecycleMiB'
      | 'portRange'
      | 'healthCheck'
      | 'backoff'
      | 'cgroups'
      | 'env'
    >
  > {
  poolRegistryCacheSize: number | undefined;
  poolWorkerRecycleMiB: number | undefined;
  odooBin: string | undefined;
  odooFor: ((series: string | undefined) => Promise<OdooCommand>) | undefined;
  addonsPath: readonly string[] | undefined;
  poolOsLimits: { cpu?: number; memoryMiB?: number };
  portRange: PortRange | undefined;
  healthCheck: HealthCheckPolicy;
  backoff: BackoffPolicy;
  cgroups: ResourceLimiterOptions | false;
  env: Record<string, string>;
}

function count(name: string, value: number, minimum: number): number {
  if (!Number.isInteger(value) || value < minimum) throw new RangeError(`${name} must be an integer >= ${minimum}, got ${value}`);
  return value;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${value}`);
  return value;
}

export function resolveProcessRuntimeOptions(options: ProcessRuntimeOptions): ResolvedProcessRuntimeOptions {
  const poolOdooMemoryMiB = options.poolOdooMemoryMiB ?? { soft: 2048, hard: 2560 };
  positive('poolOdooMemoryMiB.soft', poolOdooMemoryMiB.soft);
  positive('poolOdooMemoryMiB.hard', poolOdooMemoryMiB.hard);
  const healthCheck = { ...DEFAULT_HEALTH_CHECK, ...options.healthCheck };
  for (const [key, value] of Object.entries(healthCheck)) positive(`healthCheck.${key}`, value);
  if (!options.odooBin && !options.odooFor) throw new RangeError('the process runtime needs odooBin or odooFor');
  return {
    odooBin: options.odooBin,
    odooFor: options.odooFor,
    addonsPath: options.addonsPath,
    workDir: options.workDir,
    odooDataDir: options.odooDataDir,
    logger: options.logger,
    poolAccess: options.poolAccess,
    poolDbfilter: options.poolDbfilter,
    desiredTenants: options.desiredTenants,
    poolWorkers: count('poolWorkers', options.poolWorkers ?? 2, 0),
    poolMaxTenants: count('poolMaxTenants', options.poolMaxTenants ?? DEFAULT_POOL_MAX_TENANTS, 1),
    poolCronProcess: options.poolCronProcess ?? true,
    poolCronWorkers: count('poolCronWorkers', options.poolCronWorkers ?? 2, 1),
    poolOdooMemoryMiB,
    poolDbMaxconn: count('poolDbMaxconn', options.poolDbMaxconn ?? DEFAULT_POOL_DB_MAXCONN, 2),
    dedicatedDbMaxconn: count('dedicatedDbMaxconn', options.dedicatedDbMaxconn ?? DEFAULT_DEDICATED_DB_MAXCONN, 2),
    poolOsLimits: options.poolOsLimits ?? {},
    poolRegistryCacheSize:
      options.poolRegistryCacheSize === undefined ? undefined : count('poolRegistryCacheSize', options.poolRegistryCacheSize, 1),
    poolWorkerRecycleMiB:
      options.poolWorkerRecycleMiB === undefined ? undefined : positive('poolWorkerRecycleMiB', options.poolWorkerRecycleMiB),
    dedicatedWorkers: count('dedicatedWorkers', options.dedicatedWorkers ?? 0, 0),
    httpInterface: options.httpInterface ?? '127.0.0.1',
    portRange: options.portRange,
    healthTimeoutMs: positive('healthTimeoutMs', options.healthTimeoutMs ?? 60_000),
    healthCheck,
    backoff: resolveBackoff(options.backoff),
    maxFailuresInARow: count('maxFailuresInARow', options.maxFailuresInARow ?? 10, 1),
    stopGraceMs: positive('stopGraceMs', options.stopGraceMs ?? 10_000),
    clock: options.clock ?? systemClock,
    cgroups: options.cgroups ?? {},
    env: options.env ?? {},
    maxLogBytes: positive('maxLogBytes', options.maxLogBytes ?? 100 * 1024 * 1024),
    restoreConcurrency: count('restoreConcurrency', options.restoreConcurrency ?? 4, 1),
  };
}

/** What the connection budget counts, from runtime options (defaults where not given). */
export function connectionShapeOf(
  options: Pick<
    ProcessRuntimeOptions,
    'poolWorkers' | 'poolCronProcess' | 'poolCronWorkers' | 'poolMaxTenants' | 'poolDbMaxconn' | 'dedicatedWorkers' | 'dedicatedDbMaxconn'
  > = {},
): ConnectionShape {
  return {
    poolWorkers: options.poolWorkers ?? 2,
    poolCronProcess: options.poolCronProcess ?? true,
    poolCronWorkers: options.poolCronWorkers ?? 2,
    poolMaxTenants: options.poolMaxTenants ?? DEFAULT_POOL_MAX_TENANTS,
    poolDbMaxconn: options.poolDbMaxconn ?? DEFAULT_POOL_DB_MAXCONN,
    dedicatedWorkers: options.dedicatedWorkers ?? 0,
    dedicatedDbMaxconn: options.dedicatedDbMaxconn ?? DEFAULT_DEDICATED_DB_MAXCONN,
  };
}
