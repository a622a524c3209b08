/** Settings of the process runtime, with their defaults. */
import type { Logger } from '../../logging/index.js';
import type { PoolAccess, TenantServeSpec } from '../types.js';
import type { LoadReading } from '../upstream-load.js';
import { type BackoffPolicy, resolveBackoff } from './backoff.js';
import type { ResourceLimiterOptions } from './cgroups.js';
import { type Clock, systemClock } from './clock.js';
import { type ConnectionShape, DEFAULT_DEDICATED_DB_MAXCONN, DEFAULT_POOL_DB_MAXCONN } from './connection-budget.js';
import { DEFAULT_HEALTH_CHECK, type HealthCheckPolicy } from './health.js';
import { DEFAULT_POOL_MAX_TENANTS } from './pool-placement.js';
import type { PortRange } from './ports.js';
import { DEFAULT_SCALE_DOWN_AFTER_MS, DEFAULT_SCALING_TICK_MS } from './worker-scaling.js';

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
  /**
   * Odoo workers of a pool's web process (0 = threaded); with `poolWorkersMin` below it, the most
   * it grows to under load (the connection budget counts this many). Default 2.
   */
  poolWorkers?: number;
  /**
   * Workers a pool's web process starts with and shrinks back to when idle (worker-scaling.ts).
   * Default `poolWorkers`: a fixed count. Sizing by load needs `poolLoad` too.
   */
  poolWorkersMin?: number;
  /** Requests in flight at a pool's address, with the peak since the previous call (the gateway counts them). */
  poolLoad?: (upstream: { host: string; port: number }) => LoadReading;
  /** How long a pool worker must have been idle all along before it is removed. Default 120 s. */
  poolScaleDownAfterMs?: number;
  /** How often a pool's load is read and its worker count moved one step. Default 1 s. */
  poolScalingTickMs?: number;
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
      | 'poolLoad'
      | 'portRange'
      | 'healthCheck'
      | 'backoff'
      | 'cgroups'
      | 'env'
    >
  > {
  poolRegistryCacheSize: number | undefined;
  poolWorkerRecycleMiB: number | undefined;
  poolLoad: ((upstream: { host: string; port: number }) => LoadReading) | undefined;
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
  const poolWorkers = count('poolWorkers', options.poolWorkers ?? 2, 0);
  const poolWorkersMin = count('poolWorkersMin', options.poolWorkersMin ?? poolWorkers, poolWorkers > 0 ? 1 : 0);
  if (poolWorkersMin > poolWorkers) {
    throw new RangeError(`poolWorkersMin (${poolWorkersMin}) must not exceed poolWorkers (${poolWorkers}), the most a pool grows to`);
  }
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
    poolWorkers,
    poolWorkersMin,
    poolLoad: options.poolLoad,
    poolScaleDownAfterMs: positive('poolScaleDownAfterMs', options.poolScaleDownAfterMs ?? DEFAULT_SCALE_DOWN_AFTER_MS),
    poolScalingTickMs: positive('poolScalingTickMs', options.poolScalingTickMs ?? DEFAULT_SCALING_TICK_MS),
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
