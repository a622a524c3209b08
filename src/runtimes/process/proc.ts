/**
 * What Linux's /proc says about processes: liveness, command lines, process trees and memory.
 * Every reader tolerates a process vanishing between two reads (it returns "nothing").
 */
import { readdirSync, readFileSync } from 'node:fs';

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

interface ProcStat {
  state: string;
  ppid: number;
  pgrp: number;
  /** utime + stime, in clock ticks. */
  cpuTicks: number;
}

/** USER_HZ: /proc reports CPU time in these ticks; 100 on every Linux architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/** Fields of /proc/<pid>/stat after the command name (which may itself contain spaces and parentheses). */
function stat(pid: number): ProcStat | undefined {
  const text = read(`/proc/${pid}/stat`);
  if (!text) return undefined;
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state = '', ppid = '', pgrp = ''] = fields;
  // utime and stime are fields 14 and 15 of the line, 11 and 12 after the command name.
  return { state, ppid: Number(ppid), pgrp: Number(pgrp), cpuTicks: Number(fields[11] ?? 0) + Number(fields[12] ?? 0) };
}

/** Alive and not a zombie (a zombie has exited; only its exit status is left to collect). */
export function isAlive(pid: number): boolean {
  const status = stat(pid);
  return status !== undefined && status.state !== 'Z' && status.state !== 'X';
}

/** The process's arguments, or undefined when it is gone. */
export function commandLine(pid: number): string[] | undefined {
  const text = read(`/proc/${pid}/cmdline`);
  if (text === undefined || text === '') return undefined;
  return text.split('\0').filter((arg) => arg !== '');
}

export function parentPid(pid: number): number | undefined {
  return stat(pid)?.ppid;
}

export function processGroup(pid: number): number | undefined {
  return stat(pid)?.pgrp;
}

/** Every process id in /proc. */
export function allPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .map(Number);
  } catch {
    return [];
  }
}

/** `pid` and all its live descendants (Odoo's prefork workers, a launcher's interpreter...). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const candidate of allPids()) {
    const status = stat(candidate);
    if (!status || status.state === 'Z') continue;
    const siblings = children.get(status.ppid) ?? [];
    siblings.push(candidate);
    children.set(status.ppid, siblings);
  }
  if (!isAlive(pid)) return [];
  const tree: number[] = [];
  const queue = [pid];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    tree.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return tree;
}

/** CPU time (user + system) used so far by a process and its live descendants, in ms. */
export function treeCpuMs(pid: number): number {
  const ticks = processTree(pid).reduce((sum, member) => sum + (stat(member)?.cpuTicks ?? 0), 0);
  return (ticks * 1000) / TICKS_PER_SECOND;
}

/** Live members of a process group. */
export function groupMembers(pgid: number): number[] {
  return allPids().filter((pid) => {
    const status = stat(pid);
    return status !== undefined && status.pgrp === pgid && status.state !== 'Z';
  });
}

/** Resident memory of one process in bytes (VmRSS), 0 when unknown (kernel threads, gone). */
export function residentBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(read(`/proc/${pid}/status`) ?? '');
  return match ? Number(match[1]) * 1024 : 0;
}

/** Resident memory of a process and its descendants: Odoo's workers are separate processes. */
export function treeResidentBytes(pid: number): number {
  return processTree(pid).reduce((sum, member) => sum + residentBytes(member), 0);
}

/**
 * Sends a signal; false when there is no such process (gone already) or it is not ours to
 * signal (EPERM: the id now belongs to another user's process). Never throws for those, because
 * it is called from exit handlers and timers, where an exception would take the platform down.
 */
function send(target: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(target, signal);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH' || code === 'EPERM') return false;
    throw error;
  }
}

/** Signals every member of a process group. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  return pgid > 1 && send(-pgid, signal);
}

export function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  return pid > 1 && send(pid, signal);
}
