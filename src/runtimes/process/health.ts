/**
 * When an Odoo that does not answer `/web/health` counts as hung. An Odoo whose workers are all
 * busy (loading the registries of a hundred pool tenants after a restart, a long report) does
 * not answer either, but it is working: killing it throws that work away and starts it again,
 * under the very load that made it slow. A process that used the CPU since the last check is
 * given more time; one that sat idle (deadlocked, stopped, waiting on nothing) is not.
 * Odoo's own `limit_time_cpu`/`limit_time_real` end a runaway request long before the busy
 * allowance runs out.
 */
export interface HealthCheckPolicy {
  /** Between two checks of a running process. */
  intervalMs: number;
  /** Failed checks in a row, while the process sat idle, after which it counts as hung. */
  failureThreshold: number;
  /** Failed checks in a row, however busy the process was, after which it counts as hung. */
  busyFailureThreshold: number;
  /** CPU time the process tree must have used between two checks to count as busy. */
  busyCpuMs: number;
  /** Time one check may take. */
  requestTimeoutMs: number;
  /** Between two checks while the process is starting. */
  startPollMs: number;
}

export const DEFAULT_HEALTH_CHECK: HealthCheckPolicy = {
  intervalMs: 10_000,
  failureThreshold: 3,
  busyFailureThreshold: 12,
  busyCpuMs: 500,
  requestTimeoutMs: 5_000,
  startPollMs: 150,
};

/** Failed checks in a row: all of them, and those during which the process sat idle. */
export interface HealthFailures {
  failed: number;
  idle: number;
}

export const NO_HEALTH_FAILURES: HealthFailures = { failed: 0, idle: 0 };

export type HealthVerdict = { failures: HealthFailures; kill: false } | { failures: HealthFailures; kill: true; reason: string };

/** The outcome of one check, given the failures before it and the CPU time used since the last check. */
export function judgeHealthCheck(
  policy: HealthCheckPolicy,
  before: HealthFailures,
  answered: boolean,
  cpuMsSinceLastCheck: number,
): HealthVerdict {
  if (answered) return { failures: NO_HEALTH_FAILURES, kill: false };
  const busy = cpuMsSinceLastCheck >= policy.busyCpuMs;
  const failures = { failed: before.failed + 1, idle: busy ? before.idle : before.idle + 1 };
  if (failures.idle >= policy.failureThreshold)
    return { failures, kill: true, reason: `hung: ${failures.idle} health checks failed in a row while it sat idle` };
  if (failures.failed >= policy.busyFailureThreshold)
    return { failures, kill: true, reason: `hung: ${failures.failed} health checks failed in a row although it kept working` };
  return { failures, kill: false };
}
