import childProcess, { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

/**
 * Records the command line of every process started below the test process, to check that no
 * secret is ever passed as an argument (any local user can read /proc/<pid>/cmdline).
 *
 * Two sources, because neither is enough alone:
 * - In-process: every spawn of this process (the platform runs in it) is recorded at the call,
 *   with its argv. This is deterministic: a pg_dump living 50 ms is never missed.
 * - /proc: the argv (and process titles, which PostgreSQL rewrites) of processes those children
 *   start themselves — the postmaster pg_ctl forks, its backends, Odoo's workers — read by a
 *   poller. A grandchild that lives shorter than one poll can be missed; the deterministic
 *   guarantee is for direct children only.
 * A process counts as ours when its parent is ours, or when it runs in a session led by one of
 * ours: `detached` children lead their own session and their daemons (the postmaster, whose
 * parent pg_ctl exits) stay in it after being re-parented.
 */
export interface RecordedCommand {
  source: 'spawn' | 'proc';
  pid: number | undefined;
  argv: string[];
}

export interface ChildCommandWatch {
  commands(): RecordedCommand[];
  /** Called after each in-process spawn (e.g. to snapshot secrets while they still exist). */
  onSpawn(listener: (command: RecordedCommand) => void): void;
  stop(): void;
}

interface InternalSpawnOptions {
  file?: string;
  args?: string[];
}

type AnyFunction = (...args: never[]) => unknown;

interface ProcStat {
  pid: number;
  ppid: number;
  session: number;
  startTime: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after its last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(fields[1]), session: Number(fields[3]), startTime: Number(fields[19]) };
  } catch {
    return undefined; // gone, or not ours to read
  }
}

function readCmdline(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.length === 0 ? undefined : raw.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

export function watchChildCommandLines(options: { pollMs?: number } = {}): ChildCommandWatch {
  const recorded: RecordedCommand[] = [];
  const seen = new Set<string>();
  const listeners: Array<(command: RecordedCommand) => void> = [];
  /** pid -> start time of every process known to be ours. */
  const ours = new Map<number, number>([[process.pid, readStat(process.pid)?.startTime ?? 0]]);

  const record = (command: RecordedCommand) => {
    const key = `${command.source}:${command.pid}:${command.argv.join('\0')}`;
    if (seen.has(key)) return;
    seen.add(key);
    recorded.push(command);
  };

  // Every asynchronous spawn (spawn, execFile, exec, fork) ends in ChildProcess#spawn (internal,
  // untyped): its options carry the final argv, argv[0] included.
  const prototype = ChildProcess.prototype as unknown as { spawn(this: ChildProcess, options: InternalSpawnOptions): unknown };
  const originalSpawn = prototype.spawn;
  prototype.spawn = function spawnRecorded(this: ChildProcess, spawnOptions: InternalSpawnOptions) {
    const result = originalSpawn.call(this, spawnOptions);
    const command: RecordedCommand = { source: 'spawn', pid: this.pid, argv: [...(spawnOptions.args ?? [spawnOptions.file ?? '?'])] };
    if (this.pid !== undefined) ours.set(this.pid, readStat(this.pid)?.startTime ?? 0);
    record(command);
    for (const listener of listeners) listener(command);
    return result;
  };
  // The synchronous ones do not: wrap the module's functions (and refresh the ESM named exports).
  const syncNames = ['spawnSync', 'execFileSync', 'execSync'] as const;
  const originals = new Map<string, AnyFunction>();
  const mutable = childProcess as unknown as Record<string, AnyFunction>;
  for (const name of syncNames) {
    const original = mutable[name] as AnyFunction;
    originals.set(name, original);
    mutable[name] = ((file: string, ...rest: unknown[]) => {
      const args = Array.isArray(rest[0]) ? (rest[0] as unknown[]).map(String) : [];
      const command: RecordedCommand = { source: 'spawn', pid: undefined, argv: [file, ...args] };
      record(command);
      for (const listener of listeners) listener(command);
      return (original as (...a: unknown[]) => unknown)(file, ...rest);
    }) as AnyFunction;
  }
  syncBuiltinESMExports();

  const poll = () => {
    const stats: ProcStat[] = [];
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid)) continue;
      const stat = readStat(pid);
      if (stat) stats.push(stat);
    }
    const isOurs = (stat: ProcStat) => {
      const parent = ours.get(stat.ppid);
      if (parent !== undefined && parent <= stat.startTime) return true;
      const leader = ours.get(stat.session);
      return stat.session !== stat.pid && leader !== undefined && leader <= stat.startTime;
    };
    // Parents are usually listed before children; repeat until no new process joins.
    for (let added = true; added; ) {
      added = false;
      for (const stat of stats) {
        if (ours.get(stat.pid) !== stat.startTime && isOurs(stat)) {
          ours.set(stat.pid, stat.startTime);
          added = true;
        }
      }
    }
    for (const stat of stats) {
      if (stat.pid === process.pid || ours.get(stat.pid) !== stat.startTime) continue;
      const argv = readCmdline(stat.pid);
      if (argv) record({ source: 'proc', pid: stat.pid, argv });
    }
  };
  const timer = setInterval(poll, options.pollMs ?? 25);
  timer.unref();

  return {
    commands: () => {
      poll();
      return [...recorded];
    },
    onSpawn: (listener) => {
      listeners.push(listener);
    },
    stop: () => {
      clearInterval(timer);
      prototype.spawn = originalSpawn;
      for (const [name, original] of originals) mutable[name] = original;
      syncBuiltinESMExports();
    },
  };
}

/**
 * The recorded commands whose argv holds one of `secrets` (value -> what it is), as given or
 * URL-encoded; described with the secret masked, so a failure names the program and the kind.
 */
export function commandsLeaking(commands: RecordedCommand[], secrets: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const forms = [...secrets]
    .filter(([value]) => value.length >= 8) // shorter ones would match by chance
    .flatMap(([value, kinds]) => [...new Set([value, encodeURIComponent(value)])].map((form) => ({ form, kind: [...kinds].join(' = ') })));
  const leaks: string[] = [];
  for (const command of commands) {
    const line = command.argv.join(' ');
    const hits = forms.filter(({ form }) => line.includes(form));
    if (hits.length === 0) continue;
    const masked = hits.reduce((text, { form }) => text.replaceAll(form, '<secret>'), line);
    leaks.push(`${[...new Set(hits.map((hit) => hit.kind))].join(', ')} in ${command.source} pid ${command.pid ?? '-'}: ${masked}`);
  }
  return leaks;
}
