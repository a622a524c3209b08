/**
 * One workload on disk and in the process table: its directory (config files with secrets, the
 * log, pid files), its ports, its cgroup and the supervised Odoo processes ("units": `web`, and
 * `cron` for pools). Creating one writes the files and reserves the resources; `stop()` gives
 * them all back, including the config files, which hold database passwords.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type OdooServerOptions, renderOdooConfig } from '../../odoo/index.js';
import type { SharedProcessView, Upstream, WorkloadMetrics } from '../types.js';
import type { OsLimits, ResourceLimiter, WorkloadCgroup } from './cgroups.js';
import { rotateLogIfLarge } from './log-file.js';
import type { ResolvedProcessRuntimeOptions } from './options.js';
import type { PortAllocator } from './ports.js';
import { processTree } from './proc.js';
import { SupervisedProcess, type SupervisedProcessStatus } from './supervisor.js';
import { WebWorkerScaler, type WebWorkerScalerOptions, type WebWorkerStatus } from './web-workers.js';

/** Sizing the web unit's workers by load (pools); see web-workers.ts. */
export type WorkloadScaling = Pick<WebWorkerScalerOptions, 'policy' | 'startWorkers' | 'tickMs' | 'load'>;

export type UnitName = 'web' | 'cron';

export interface WorkloadPaths {
  dir: string;
  logFile: string;
  config(unit: UnitName): string;
  pidFile(unit: UnitName): string;
}

export function workloadPaths(workDir: string, name: string): WorkloadPaths {
  const dir = join(workDir, name);
  return {
    dir,
    logFile: join(dir, 'odoo.log'),
    config: (unit) => join(dir, `${unit}.conf`),
    pidFile: (unit) => join(dir, `${unit}.pid`),
  };
}

/** A master password nobody knows: it only has to differ from Odoo's default "admin". */
export function randomAdminPassword(): string {
  return randomBytes(24).toString('hex');
}

export interface WorkloadPorts {
  http: number;
  gevent?: number;
  /** Only for a pool's cron process (see poolCronConfig). */
  cronHttp?: number;
}

export interface WorkloadResources {
  ports: WorkloadPorts;
  cgroup: WorkloadCgroup | undefined;
  paths: WorkloadPaths;
}

export interface WorkloadDeps {
  options: ResolvedProcessRuntimeOptions;
  ports: PortAllocator;
  limiter: ResourceLimiter;
  env: NodeJS.ProcessEnv;
}

/** Directory, log rotation, ports and cgroup of a workload about to start. */
export async function reserveWorkload(
  deps: WorkloadDeps,
  name: string,
  wanted: { gevent: boolean; cronHttp: boolean; limits: OsLimits },
): Promise<WorkloadResources> {
  const paths = workloadPaths(deps.options.workDir, name);
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  rotateLogIfLarge(paths.logFile, deps.options.maxLogBytes);
  const allocated: number[] = [];
  try {
    const take = async () => {
      const port = await deps.ports.allocate();
      allocated.push(port);
      return port;
    };
    const ports: WorkloadPorts = {
      http: await take(),
      gevent: wanted.gevent ? await take() : undefined,
      cronHttp: wanted.cronHttp ? await take() : undefined,
    };
    let cgroup: WorkloadCgroup | undefined;
    try {
      cgroup = deps.limiter.create(name, wanted.limits);
    } catch (error) {
      deps.options.logger.warn({ workload: name, err: error }, 'could not create the cgroup of the workload; only Odoo limits apply to it');
    }
    return { ports, cgroup, paths };
  } catch (error) {
    for (const port of allocated) deps.ports.release(port);
    throw error;
  }
}

/** Gives back what reserveWorkload took, and removes the config files (they hold passwords). */
export function releaseWorkload(deps: WorkloadDeps, resources: WorkloadResources): void {
  const { ports, cgroup, paths } = resources;
  deps.ports.release(ports.http);
  deps.ports.release(ports.gevent);
  deps.ports.release(ports.cronHttp);
  cgroup?.remove();
  for (const unit of ['web', 'cron'] as const) rmSync(paths.config(unit), { force: true });
}

export interface UnitDefinition {
  unit: UnitName;
  config: OdooServerOptions;
  /** Units without HTTP (a pool's cron process) count as running while alive. */
  healthCheck: boolean;
  /** The odoo-bin of the workload's series. */
  command: string;
}

export class Workload {
  readonly units = new Map<UnitName, SupervisedProcess>();
  private readonly scaler: WebWorkerScaler | undefined;

  constructor(
    readonly name: string,
    private readonly deps: WorkloadDeps,
    private readonly resources: WorkloadResources,
    readonly upstream: Upstream,
    definitions: readonly UnitDefinition[],
    scaling?: WorkloadScaling,
  ) {
    const { options } = deps;
    const { paths } = resources;
    if (scaling) {
      this.scaler = new WebWorkerScaler({
        ...scaling,
        label: `${name} web`,
        clock: options.clock,
        logger: options.logger,
        rootPid: () => this.units.get('web')?.status().pid,
        // The login check warms each worker: it asks the upstream how many there are now.
        onWorkers: (workers) => {
          upstream.webWorkers = workers;
        },
      });
    }
    for (const definition of definitions) {
      const configPath = paths.config(definition.unit);
      // Removed first so that mode 0600 applies even when an older file exists.
      rmSync(configPath, { force: true });
      writeFileSync(configPath, renderOdooConfig(definition.config), { mode: 0o600 });
      this.units.set(
        definition.unit,
        new SupervisedProcess({
          label: `${name} ${definition.unit}`,
          command: definition.command,
          args: ['-c', configPath],
          env: deps.env,
          cwd: paths.dir,
          pidFile: paths.pidFile(definition.unit),
          logFile: paths.logFile,
          healthUrl: definition.healthCheck ? `http://${upstream.host}:${upstream.port}/web/health` : undefined,
          cgroup: resources.cgroup,
          logger: options.logger,
          clock: options.clock,
          backoff: options.backoff,
          health: options.healthCheck,
          startTimeoutMs: options.healthTimeoutMs,
          maxFailuresInARow: options.maxFailuresInARow,
          stopGraceMs: options.stopGraceMs,
        }),
      );
    }
  }

  get logFile(): string {
    return this.resources.paths.logFile;
  }

  /** Starts what is not running and resolves once every unit is (the web unit: healthy). */
  async ensureRunning(): Promise<Upstream> {
    await Promise.all([...this.units.values()].map((unit) => unit.ensureRunning()));
    this.scaler?.start();
    return this.upstream;
  }

  /** The web workers sized by load, when they are (undefined: a fixed count). */
  webWorkers(): WebWorkerStatus | undefined {
    return this.scaler?.status();
  }

  pids(): number[] {
    return [...this.units.values()].flatMap((unit) => unit.status().pid ?? []);
  }

  /** Each unit's state, pid, process count (with its forked workers) and memory. */
  processes(): SharedProcessView[] {
    return [...this.units.entries()].map(([unit, process]) => {
      const status = process.status();
      return {
        unit,
        state: status.state,
        ...(status.pid === undefined ? {} : { pid: status.pid }),
        processes: status.pid === undefined ? 0 : processTree(status.pid).length,
        ...(status.memoryBytes === undefined ? {} : { memoryBytes: status.memoryBytes }),
      };
    });
  }

  /**
   * One status for the workload: the web unit's state and pid; restarts, memory and the latest
   * exit reason of all units together.
   */
  status(): SupervisedProcessStatus {
    const statuses = [...this.units.entries()];
    const web = statuses.find(([unit]) => unit === 'web')?.[1].status() ?? { state: 'stopped', restarts: 0 };
    const all = statuses.map(([, unit]) => unit.status());
    const latestExit = all.filter((status) => status.lastExitAt !== undefined).sort((a, b) => (b.lastExitAt ?? 0) - (a.lastExitAt ?? 0))[0];
    const memories = all.map((status) => status.memoryBytes).filter((bytes): bytes is number => bytes !== undefined);
    return {
      state: web.state,
      pid: web.pid,
      restarts: all.reduce((sum, status) => sum + status.restarts, 0),
      lastExitReason: latestExit?.lastExitReason,
      lastExitAt: latestExit?.lastExitAt,
      memoryBytes: memories.length > 0 ? memories.reduce((sum, bytes) => sum + bytes, 0) : undefined,
    };
  }

  /** Applies new OS limits to the running processes at once; false when the workload has no cgroup. */
  setLimits(limits: OsLimits): boolean {
    const { cgroup } = this.resources;
    if (!cgroup) return false;
    cgroup.setLimits(limits);
    return true;
  }

  /** Restarts of all units, OOM kills and CPU of the workload's cgroup, memory (cgroup, else the process trees). */
  metrics(): Omit<WorkloadMetrics, 'kind' | 'name' | 'tenantIds'> {
    const status = this.status();
    const { cgroup } = this.resources;
    const stats = cgroup?.stats() ?? {};
    const memoryBytes = stats.memoryBytes ?? status.memoryBytes;
    return {
      up: status.state === 'running',
      restarts: status.restarts,
      ...(cgroup ? { oomKills: cgroup.oomKills() } : {}),
      ...stats,
      ...(memoryBytes === undefined ? {} : { memoryBytes }),
    };
  }

  /** Stops every unit and gives back ports, cgroup and config files (the log stays). */
  async stop(): Promise<void> {
    this.scaler?.stop();
    await Promise.all([...this.units.values()].map((unit) => unit.stop()));
    releaseWorkload(this.deps, this.resources);
  }
}
