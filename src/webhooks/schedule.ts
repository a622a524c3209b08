/**
 * When a failed delivery is tried again: exponential back-off from `baseSeconds` (doubling, capped
 * at `capSeconds`), for as long as the delivery is younger than `windowSeconds` (24 h). Pure.
 * With the defaults: 30 s, 1, 2, 4, 8, 16, 32 min, then hourly: about 30 attempts over a day.
 */
export interface RetryPolicy {
  baseSeconds: number;
  capSeconds: number;
  windowSeconds: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseSeconds: 30, capSeconds: 3600, windowSeconds: 24 * 3600 };

/** Seconds until the next attempt after `failedAttempts` failures, or undefined: give up. */
export function nextRetryDelay(policy: RetryPolicy, failedAttempts: number, createdAt: Date, now: Date): number | undefined {
  const delay = Math.min(policy.baseSeconds * 2 ** Math.max(failedAttempts - 1, 0), policy.capSeconds);
  const deadline = createdAt.getTime() + policy.windowSeconds * 1000;
  return now.getTime() + delay * 1000 <= deadline ? delay : undefined;
}
