/**
 * Sizing a pool's Odoo web workers by load: the decision only (no I/O; web-workers.ts applies it
 * with SIGTTIN / SIGTTOU to Odoo's prefork master).
 *
 * Each prefork worker keeps the registry of every tenant it served, so a pool's memory grows with
 * workers x tenants; most of the time a pool of mostly idle tenants needs one worker. With hysteresis:
 * - up fast: as soon as requests queued (more in flight at once than workers), the target jumps
 *   to the peak seen (bounded by `max`), so a burst gets its workers within a tick or two;
 * - down slowly: one worker fewer after `downAfterMs` in which the peak stayed below the target
 *   (a worker idle all along), then again only after another such period. The band between the
 *   two (peak = target) changes nothing, so a steady load does not flap.
 */

export interface WorkerScalingPolicy {
  /** Workers kept when idle (>= 1). */
  min: number;
  /** Workers at most (the connection budget counts this many). */
  max: number;
  /** How long a worker must have been idle throughout before it is removed. */
  downAfterMs: number;
}

export const DEFAULT_SCALE_DOWN_AFTER_MS = 120_000;
/** How often the platform reads a pool's load and moves its worker count one step. */
export const DEFAULT_SCALING_TICK_MS = 1_000;

export interface ScalingState {
  target: number;
  /** Since when the peak stayed below the target (undefined: it did not in the last reading). */
  quietSince: number | undefined;
}

export interface LoadSample {
  now: number;
  /** Most requests in flight at once since the previous sample. */
  peak: number;
}

export function scalingEnabled(policy: Pick<WorkerScalingPolicy, 'min' | 'max'>): boolean {
  return policy.min < policy.max;
}

export function initialScalingState(policy: WorkerScalingPolicy, now: number): ScalingState {
  return { target: policy.min, quietSince: now };
}

function clamp(policy: WorkerScalingPolicy, workers: number): number {
  return Math.min(policy.max, Math.max(policy.min, workers));
}

/** The next target from one load sample. */
export function decideWorkers(policy: WorkerScalingPolicy, state: ScalingState, sample: LoadSample): ScalingState {
  const target = clamp(policy, state.target);
  if (sample.peak > target) {
    // Requests waited for a worker: enough workers for that peak at once.
    return { target: clamp(policy, sample.peak), quietSince: undefined };
  }
  if (sample.peak === target) return { target, quietSince: undefined };
  const quietSince = state.quietSince ?? sample.now;
  if (target > policy.min && sample.now - quietSince >= policy.downAfterMs) {
    // One step, and the next one only after another quiet period.
    return { target: target - 1, quietSince: sample.now };
  }
  return { target, quietSince };
}

/**
 * The signal that moves Odoo's worker count (its `population`) one step towards the target, or
 * undefined when it is there. One per tick: Odoo's master handles signals from a queue fed by a
 * handler, and the same signal sent twice before it runs arrives once.
 */
export function nextSignal(population: number, target: number): 'SIGTTIN' | 'SIGTTOU' | undefined {
  if (population < target) return 'SIGTTIN';
  if (population > target) return 'SIGTTOU';
  return undefined;
}
