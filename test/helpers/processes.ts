import { readdirSync, readFileSync } from 'node:fs';

/** What /proc says about one process: its parent, whether it is a zombie, its command line. */
export interface ProcessInfo {
  pid: number;
  parent: number;
  zombie: boolean;
  cmdline: string;
}

function processInfo(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may hold spaces: the fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    return { pid, parent: Number(fields[1]), zombie: fields[0] === 'Z', cmdline };
  } catch {
    return undefined; // gone meanwhile
  }
}

function allProcesses(): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = processInfo(Number(entry));
    if (info) found.push(info);
  }
  return found;
}

/** Every live (non-zombie) descendant of `root`: children, their children, and so on. */
export function liveDescendants(root: number): ProcessInfo[] {
  const children = new Map<number, ProcessInfo[]>();
  for (const info of allProcesses()) children.set(info.parent, [...(children.get(info.parent) ?? []), info]);
  const found: ProcessInfo[] = [];
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of children.get(pid) ?? []) {
      if (!child.zombie) found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/** Every live process whose command line mentions `text` (a data directory, say). */
export function liveProcessesMentioning(text: string): ProcessInfo[] {
  return allProcesses().filter((info) => !info.zombie && info.cmdline.includes(text));
}

/** Those of `processes` still running (a zombie nobody reaps counts as gone). */
export function stillRunning(processes: readonly ProcessInfo[]): ProcessInfo[] {
  return processes.filter((known) => {
    const now = processInfo(known.pid);
    // Same pid and same command line: not a recycled pid.
    return now !== undefined && !now.zombie && now.cmdline === known.cmdline;
  });
}
