import { readFileSync, readlinkSync } from 'node:fs';

/**
 * Who runs a job, precisely enough to prove later that this process is gone: the kernel boot,
 * the pid namespace, the pid and the process's start time (which tells a reused pid apart).
 * Undefined where /proc does not say (not Linux): such jobs are left to heartbeat expiry.
 */
export function currentProcessIdentity(): string | undefined {
  const startTicks = processStartTicks(process.pid);
  const context = kernelContext();
  if (startTicks === undefined || !context) return undefined;
  return [context, process.pid, startTicks].join('/');
}

/**
 * True only when `identity` names a process of this kernel boot and pid namespace that no
 * longer runs. A process on another host, in another container or before a reboot cannot be
 * checked from here, so it is never declared dead.
 */
export function isProvablyDead(identity: string): boolean {
  const context = kernelContext();
  const parts = identity.split('/');
  if (!context || parts.length !== 4 || `${parts[0]}/${parts[1]}` !== context) return false;
  const [pid, startTicks] = [Number(parts[2]), parts[3]];
  if (!Number.isInteger(pid) || pid <= 0) return false;
  return processStartTicks(pid) !== startTicks;
}

function kernelContext(): string | undefined {
  try {
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const pidNamespace = readlinkSync('/proc/self/ns/pid').replace(/\D/g, '');
    return bootId && pidNamespace ? `${bootId}/${pidNamespace}` : undefined;
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat (after the parenthesised command name, which may hold spaces). */
function processStartTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    if (state === 'Z' || state === 'X') return undefined; // exited, not yet reaped
    return fields[19];
  } catch {
    return undefined;
  }
}
