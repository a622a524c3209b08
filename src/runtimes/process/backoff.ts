/**
 * When to restart a crashed Odoo: exponential back-off, so a process that dies at start-up (bad
 * module, database gone) does not spin the CPU, reset once the process has proved itself healthy
 * for a while, so a crash after days of service is retried quickly.
 */
export interface BackoffPolicy {
  /** Delay before the first restart after a failure. */
  initialMs: number;
  /** Ceiling of the delay. */
  maxMs: number;
  factor: number;
  /** A process healthy for at least this long counts as recovered: the next failure starts over. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 60_000, factor: 2, resetAfterMs: 60_000 };

export function resolveBackoff(overrides: Partial<BackoffPolicy> = {}): BackoffPolicy {
  const policy = { ...DEFAULT_BACKOFF, ...overrides };
  for (const [key, value] of Object.entries(policy)) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`back-off ${key} must be a non-negative number, got ${value}`);
  }
  if (policy.factor < 1) throw new RangeError(`back-off factor must be at least 1, got ${policy.factor}`);
  if (policy.maxMs < policy.initialMs) throw new RangeError('back-off maxMs must not be below initialMs');
  return policy;
}

/** Delay before restart number `failures` (1 = the first failure in a row). */
export function restartDelayMs(policy: BackoffPolicy, failures: number): number {
  if (failures <= 0) return 0;
  // Computed without Math.pow overflow games: the ceiling is reached after a few dozen steps.
  let delay = policy.initialMs;
  for (let step = 1; step < failures && delay < policy.maxMs; step += 1) delay *= policy.factor;
  return Math.min(policy.maxMs, Math.round(delay));
}

/**
 * Failures in a row after the process exited at `exitedAt`: one more than before, unless it had
 * been healthy since `healthySince` for at least `resetAfterMs`, in which case this is the first.
 */
export function failuresAfterExit(
  policy: BackoffPolicy,
  previousFailures: number,
  healthySince: number | undefined,
  exitedAt: number,
): number {
  if (healthySince !== undefined && exitedAt - healthySince >= policy.resetAfterMs) return 1;
  return previousFailures + 1;
}
