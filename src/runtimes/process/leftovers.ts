/**
 * Odoo processes left behind by a previous run of the platform (it crashed or was killed; its
 * Odoo processes, in process groups of their own, kept running). They hold ports, database
 * connections and memory, and would serve with outdated configuration, so start() ends them
 * before restoring. A pid file alone is not proof: after a reboot the pid may belong to anything,
 * so the process must also carry the workload's config file path on its command line. Nor is it
 * complete: a kill between a spawn and its pid file's write leaves a process with no pid file, so
 * the processes started with a config file of `workDir` are looked for as well.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../logging/index.js';
import { type Clock, sleep } from './clock.js';
import { allPids, commandLine, isAlive, processGroup, signalGroup, signalProcess } from './proc.js';

export interface PidFileEntry {
  pidFile: string;
  pid: number;
  /** The config file the process was started with (`<unit>.conf` next to `<unit>.pid`). */
  configPath: string;
}

/** Pid files in the workload directories below `workDir` (`<workDir>/<workload>/<unit>.pid`). */
export function findPidFiles(workDir: string): PidFileEntry[] {
  const entries: PidFileEntry[] = [];
  let workloads: string[];
  try {
    workloads = readdirSync(workDir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
  for (const workload of workloads) {
    const dir = join(workDir, workload);
    let files: string[];
    try {
      files = readdirSync(dir).filter((name) => name.endsWith('.pid'));
    } catch {
      continue;
    }
    for (const file of files) {
      const pidFile = join(dir, file);
      let pid: number;
      try {
        pid = Number(readFileSync(pidFile, 'utf8').trim());
      } catch {
        continue;
      }
      entries.push({ pidFile, pid, configPath: join(dir, `${file.slice(0, -'.pid'.length)}.conf`) });
    }
  }
  return entries;
}

/** The config file below `workDir` a command line was started with (`-c <path>`, `--config=<path>`), if any. */
export function configUnder(workDir: string, args: readonly string[]): string | undefined {
  for (const arg of args) {
    const path = arg.startsWith('--config=') ? arg.slice('--config='.length) : arg;
    if (path.startsWith(`${workDir}/`) && path.endsWith('.conf')) return path;
  }
  return undefined;
}

/**
 * Group leaders started with a config file of `workDir` that no pid file names (their pid file
 * was never written, or is gone). Members of such a group go with their leader.
 */
function unlistedProcesses(workDir: string, listed: ReadonlySet<number>): PidFileEntry[] {
  const found: PidFileEntry[] = [];
  for (const pid of allPids()) {
    if (pid === process.pid || listed.has(pid) || processGroup(pid) !== pid) continue;
    const configPath = configUnder(workDir, commandLine(pid) ?? []);
    if (configPath) found.push({ pidFile: `${configPath.slice(0, -'.conf'.length)}.pid`, pid, configPath });
  }
  return found;
}

/** Whether `pid` is alive and was started with `configPath`. */
export function runsWithConfig(pid: number, configPath: string): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 1 || !isAlive(pid)) return false;
  return (commandLine(pid) ?? []).some((arg) => arg === configPath || arg.endsWith(`=${configPath}`));
}

function signal(victim: Victim, name: NodeJS.Signals): void {
  if (victim.leadsGroup) signalGroup(victim.pid, name);
  else signalProcess(victim.pid, name);
}

interface Victim extends PidFileEntry {
  /** Our processes lead their own group, which also holds their workers. */
  leadsGroup: boolean;
}

/**
 * Ends the processes the pid files point at (SIGTERM, SIGKILL after `graceMs`), except `keep`
 * (processes of this runtime), and removes the pid files. Returns the pids it ended.
 */
export async function killLeftovers(
  workDir: string,
  options: { graceMs: number; clock: Clock; logger: Logger; keep?: ReadonlySet<number> },
): Promise<number[]> {
  const victims: Victim[] = [];
  const pidFiles = findPidFiles(workDir);
  for (const entry of pidFiles) {
    if (options.keep?.has(entry.pid)) continue;
    if (runsWithConfig(entry.pid, entry.configPath)) victims.push({ ...entry, leadsGroup: processGroup(entry.pid) === entry.pid });
    else rmSync(entry.pidFile, { force: true });
  }
  const listed = new Set([...pidFiles.map((entry) => entry.pid), ...(options.keep ?? [])]);
  for (const entry of unlistedProcesses(workDir, listed)) victims.push({ ...entry, leadsGroup: true });
  for (const victim of victims) {
    options.logger.warn({ pid: victim.pid, config: victim.configPath }, 'ending an Odoo process left over from a previous run');
    signal(victim, 'SIGTERM');
  }
  const deadline = options.clock.now() + options.graceMs;
  while (victims.some((v) => isAlive(v.pid)) && options.clock.now() < deadline) await sleep(options.clock, 50);
  for (const victim of victims) {
    // Also when the leader is gone: members of its group that outlived it go as well.
    signal(victim, 'SIGKILL');
    rmSync(victim.pidFile, { force: true });
  }
  const killDeadline = options.clock.now() + 5_000;
  while (victims.some((v) => isAlive(v.pid)) && options.clock.now() < killDeadline) await sleep(options.clock, 50);
  return victims.map((v) => v.pid);
}
