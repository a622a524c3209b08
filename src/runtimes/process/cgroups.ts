/**
 * Operating-system limits per workload through Linux control groups: a group per workload with
 * its memory ceiling and CPU quota, the Odoo process moved into it (its workers, forked later,
 * inherit it). Odoo's own `limit_memory_*` only recycle a worker after a request; the kernel's
 * limit also holds for a runaway process and covers the whole process tree.
 *
 * Both hierarchies are supported because hosts differ: cgroup v2 (unified, current distributions)
 * and cgroup v1 (older hosts and some VMs, e.g. with `memory` and `cpu` mounted separately).
 * When neither can be written (not root, read-only /sys, v2 delegation refused) the runtime
 * falls back to Odoo's own limits only, and says so once in the log.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type ResourceLimitMechanism = 'cgroup-v2' | 'cgroup-v1' | 'none';

export interface OsLimits {
  /** CPU cores (fractions allowed), e.g. 0.5. */
  cpu?: number;
  memoryBytes?: number;
}

export interface WorkloadCgroup {
  /** The directories of the group (one per hierarchy with cgroup v1). */
  readonly paths: readonly string[];
  addProcess(pid: number): void;
  /** Changes the group's limits; they hold at once for every process in it (a live plan change). */
  setLimits(limits: OsLimits): void;
  /** Processes the kernel killed in this group for exceeding its memory limit, so far. */
  oomKills(): number;
  /** CPU and memory accounting of the group, where the kernel reports it (undefined fields: not reported). */
  stats(): CgroupStats;
  /** Removes the group; only possible once its processes are gone (errors are ignored). */
  remove(): void;
}

/** What the kernel accounts for a group: the process runtime reports it per workload (metrics). */
export interface CgroupStats {
  cpuSeconds?: number;
  /** CFS periods in which the group was held back by its CPU quota. */
  throttledPeriods?: number;
  throttledSeconds?: number;
  memoryBytes?: number;
}

export interface ResourceLimiter {
  readonly mechanism: ResourceLimitMechanism;
  /** Where the groups live, or why there are none. */
  readonly detail: string;
  /** A group for the workload with these limits, or undefined when the mechanism is `none`. */
  create(workload: string, limits: OsLimits): WorkloadCgroup | undefined;
  /** Removes the parent group once it is empty, so nothing of ours outlives the runtime. */
  release(): void;
}

/** The CFS period Linux uses by default: quotas are expressed against it. */
export const CPU_PERIOD_US = 100_000;

/** Microseconds of CPU time per period for `cores` cores; at least 1 ms (the kernel's minimum). */
export function cpuQuotaUs(cores: number): number {
  if (!Number.isFinite(cores) || cores <= 0) throw new RangeError(`cpu must be a positive number of cores, got ${cores}`);
  return Math.max(1_000, Math.round(cores * CPU_PERIOD_US));
}

/**
 * `/proc/self/cgroup` as controller -> path. v1 lines are `N:memory:/path` (several controllers
 * may share a line: `N:cpu,cpuacct:/path`); the v2 line is `0::/path`, returned under ''.
 */
export function parseProcCgroup(text: string): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, controllers = '', path = '/'] = match;
    for (const controller of controllers.split(',')) paths.set(controller, path);
  }
  return paths;
}

/** The count after `oom_kill` in memory.events (v2) or memory.oom_control (v1). */
export function parseOomKills(text: string): number {
  const match = /^oom_kill\s+(\d+)$/m.exec(text);
  return match ? Number(match[1]) : 0;
}

/** `key value` lines (cpu.stat, memory.events) as a map of numbers. */
function keyedNumbers(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\w+)\s+(\d+)$/.exec(line.trim());
    if (match?.[1] && match[2]) values.set(match[1], Number(match[2]));
  }
  return values;
}

/** cgroup v2: `cpu.stat` (microseconds) and `memory.current`. */
export function parseCgroupV2Stats(cpuStat: string | undefined, memoryCurrent: string | undefined): CgroupStats {
  const cpu = keyedNumbers(cpuStat ?? '');
  const usage = cpu.get('usage_usec');
  const periods = cpu.get('nr_throttled');
  const throttled = cpu.get('throttled_usec');
  const memory = Number.parseInt(memoryCurrent ?? '', 10);
  return {
    ...(usage === undefined ? {} : { cpuSeconds: usage / 1e6 }),
    ...(periods === undefined ? {} : { throttledPeriods: periods }),
    ...(throttled === undefined ? {} : { throttledSeconds: throttled / 1e6 }),
    ...(Number.isFinite(memory) ? { memoryBytes: memory } : {}),
  };
}

/** cgroup v1: `cpuacct.usage` (nanoseconds), `cpu.stat` (`throttled_time` in nanoseconds), `memory.usage_in_bytes`. */
export function parseCgroupV1Stats(
  cpuacctUsage: string | undefined,
  cpuStat: string | undefined,
  memoryUsage: string | undefined,
): CgroupStats {
  const cpu = keyedNumbers(cpuStat ?? '');
  const usage = Number.parseInt(cpuacctUsage ?? '', 10);
  const periods = cpu.get('nr_throttled');
  const throttled = cpu.get('throttled_time');
  const memory = Number.parseInt(memoryUsage ?? '', 10);
  return {
    ...(Number.isFinite(usage) ? { cpuSeconds: usage / 1e9 } : {}),
    ...(periods === undefined ? {} : { throttledPeriods: periods }),
    ...(throttled === undefined ? {} : { throttledSeconds: throttled / 1e9 }),
    ...(Number.isFinite(memory) ? { memoryBytes: memory } : {}),
  };
}

const WORKLOAD_NAME = /^[a-z0-9][a-z0-9-]{0,80}$/;

function tryRead(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function removeDirectories(paths: readonly string[]): void {
  for (const path of paths) {
    try {
      rmdirSync(path);
    } catch {
      // Still populated (a process that has not exited yet, another workload) or already gone.
    }
  }
}

class Cgroup implements WorkloadCgroup {
  constructor(
    readonly paths: readonly string[],
    private readonly oomFile: string,
    private readonly readStats: () => CgroupStats,
    private readonly writeLimits: (limits: OsLimits) => void,
  ) {}

  setLimits(limits: OsLimits): void {
    this.writeLimits(limits);
  }

  stats(): CgroupStats {
    return this.readStats();
  }

  addProcess(pid: number): void {
    for (const path of this.paths) writeFileSync(join(path, 'cgroup.procs'), String(pid));
  }

  oomKills(): number {
    return parseOomKills(tryRead(this.oomFile) ?? '');
  }

  remove(): void {
    removeDirectories(this.paths);
  }
}

function none(reason: string): ResourceLimiter {
  return { mechanism: 'none', detail: reason, create: () => undefined, release: () => {} };
}

function checkedName(workload: string): string {
  if (!WORKLOAD_NAME.test(workload)) throw new RangeError(`invalid workload name for a cgroup: ${JSON.stringify(workload)}`);
  return workload;
}

function unifiedLimiter(root: string, groupName: string): ResourceLimiter {
  const controllers = (tryRead(join(root, 'cgroup.controllers')) ?? '').trim().split(/\s+/);
  if (!controllers.includes('memory')) return none(`cgroup v2 at ${root} offers no memory controller`);
  const wanted = ['memory', ...(controllers.includes('cpu') ? ['cpu'] : [])];
  const base = join(root, groupName);
  try {
    // Controllers must be enabled on every level above the groups that use them. On a
    // delegated or namespaced hierarchy whose top holds processes the kernel refuses (EBUSY).
    writeFileSync(join(root, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' '));
    mkdirSync(base, { recursive: true });
    writeFileSync(join(base, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' '));
  } catch (error) {
    return none(`cgroup v2 at ${root} is not writable for us: ${errorText(error)}`);
  }
  const withCpu = wanted.includes('cpu');
  return {
    mechanism: 'cgroup-v2',
    detail: `${base} (memory${withCpu ? ', cpu' : ''})`,
    create(workload, limits) {
      const path = join(base, checkedName(workload));
      mkdirSync(path, { recursive: true });
      const writeLimits = (wanted: OsLimits) => {
        writeFileSync(join(path, 'memory.max'), wanted.memoryBytes === undefined ? 'max' : String(Math.round(wanted.memoryBytes)));
        if (withCpu) {
          writeFileSync(join(path, 'cpu.max'), `${wanted.cpu === undefined ? 'max' : cpuQuotaUs(wanted.cpu)} ${CPU_PERIOD_US}`);
        }
      };
      writeLimits(limits);
      return new Cgroup(
        [path],
        join(path, 'memory.events'),
        () => parseCgroupV2Stats(tryRead(join(path, 'cpu.stat')), tryRead(join(path, 'memory.current'))),
        writeLimits,
      );
    },
    release: () => removeDirectories([base]),
  };
}

/**
 * cgroup v1: groups are created below the platform's own group in each hierarchy (read from
 * /proc/self/cgroup) rather than at the top, so Odoo stays inside whatever limits and accounting
 * the platform itself was started under (a service manager's slice, a container).
 */
function legacyLimiter(root: string, own: Map<string, string>, groupName: string): ResourceLimiter {
  const memoryMount = join(root, 'memory');
  const cpuMount = ['cpu', 'cpu,cpuacct', 'cpuacct,cpu']
    .map((name) => join(root, name))
    .find((dir) => existsSync(join(dir, 'cpu.cfs_quota_us')));
  const memoryBase = join(memoryMount, own.get('memory') ?? '/', groupName);
  const cpuBase = cpuMount ? join(cpuMount, own.get('cpu') ?? '/', groupName) : undefined;
  // CPU accounting (for metrics only): in the cpu hierarchy when mounted together, else in a
  // cpuacct hierarchy of its own, where a group is made too if we may (no accounting otherwise).
  const cpuacctMount = cpuMount && existsSync(join(cpuMount, 'cpuacct.usage')) ? cpuMount : join(root, 'cpuacct');
  let cpuacctBase: string | undefined = cpuacctMount === cpuMount ? cpuBase : join(cpuacctMount, own.get('cpuacct') ?? '/', groupName);
  try {
    mkdirSync(memoryBase, { recursive: true });
    if (cpuBase) mkdirSync(cpuBase, { recursive: true });
  } catch (error) {
    return none(`cgroup v1 at ${root} is not writable for us: ${errorText(error)}`);
  }
  if (cpuacctBase && cpuacctBase !== cpuBase) {
    try {
      if (!existsSync(join(cpuacctMount, 'cpuacct.usage'))) throw new Error('no cpuacct hierarchy');
      mkdirSync(cpuacctBase, { recursive: true });
    } catch {
      cpuacctBase = undefined;
    }
  }
  return {
    mechanism: 'cgroup-v1',
    detail: `${memoryBase}${cpuBase ? ` and ${cpuBase}` : ' (no cpu controller mounted)'}`,
    create(workload, limits) {
      const name = checkedName(workload);
      const memoryPath = join(memoryBase, name);
      mkdirSync(memoryPath, { recursive: true });
      const paths = [memoryPath];
      let cpuPath: string | undefined;
      const cpuacctPath = cpuacctBase && join(cpuacctBase, name);
      if (cpuacctPath && cpuacctBase !== cpuBase) {
        mkdirSync(cpuacctPath, { recursive: true });
        paths.push(cpuacctPath);
      }
      if (cpuBase) {
        cpuPath = join(cpuBase, name);
        mkdirSync(cpuPath, { recursive: true });
        writeFileSync(join(cpuPath, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
        paths.push(cpuPath);
      }
      const writeLimits = (wanted: OsLimits) => {
        // The kernel refuses a memory limit below what the group uses now (EBUSY): that error is the caller's to report.
        writeFileSync(
          join(memoryPath, 'memory.limit_in_bytes'),
          wanted.memoryBytes === undefined ? '-1' : String(Math.round(wanted.memoryBytes)),
        );
        if (cpuPath) writeFileSync(join(cpuPath, 'cpu.cfs_quota_us'), wanted.cpu === undefined ? '-1' : String(cpuQuotaUs(wanted.cpu)));
      };
      writeLimits(limits);
      return new Cgroup(
        paths,
        join(memoryPath, 'memory.oom_control'),
        () =>
          parseCgroupV1Stats(
            cpuacctPath && tryRead(join(cpuacctPath, 'cpuacct.usage')),
            cpuPath && tryRead(join(cpuPath, 'cpu.stat')),
            tryRead(join(memoryPath, 'memory.usage_in_bytes')),
          ),
        writeLimits,
      );
    },
    release: () =>
      removeDirectories([memoryBase, ...(cpuBase ? [cpuBase] : []), ...(cpuacctBase && cpuacctBase !== cpuBase ? [cpuacctBase] : [])]),
  };
}

export interface ResourceLimiterOptions {
  /** Where cgroups are mounted; default /sys/fs/cgroup. */
  root?: string;
  /** Default /proc/self/cgroup. */
  selfCgroupFile?: string;
  /** Directory that holds the platform's groups; default `saas-odoo`. */
  groupName?: string;
}

/** Finds the cgroup mechanism this host lets us use (creating our parent group on the way). */
export function detectResourceLimiter(options: ResourceLimiterOptions = {}): ResourceLimiter {
  const root = options.root ?? '/sys/fs/cgroup';
  const groupName = checkedName(options.groupName ?? 'saas-odoo');
  if (existsSync(join(root, 'cgroup.controllers'))) return unifiedLimiter(root, groupName);
  if (existsSync(join(root, 'memory', 'memory.limit_in_bytes'))) {
    const own = parseProcCgroup(tryRead(options.selfCgroupFile ?? '/proc/self/cgroup') ?? '');
    return legacyLimiter(root, own, groupName);
  }
  return none(`no writable cgroup hierarchy with a memory controller under ${root}`);
}

export function disabledResourceLimiter(reason: string): ResourceLimiter {
  return none(reason);
}
