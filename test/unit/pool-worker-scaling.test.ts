import { describe, expect, it } from 'vitest';
import { UpstreamLoad } from '../../src/runtimes/index.js';
import {
  decideWorkers,
  initialScalingState,
  nextSignal,
  resolveProcessRuntimeOptions,
  type ScalingState,
  scalingEnabled,
  type WorkerScalingPolicy,
} from '../../src/runtimes/process/index.js';

/** The decision of runtimes/process/worker-scaling.ts: up fast when requests queue, down slowly when idle. */
describe('sizing pool workers by load', () => {
  const policy: WorkerScalingPolicy = { min: 1, max: 4, downAfterMs: 60_000 };

  /** Feeds peaks one second apart and returns the target after each. */
  function run(peaks: number[], start: ScalingState = initialScalingState(policy, 0)): number[] {
    let state = start;
    return peaks.map((peak, index) => {
      state = decideWorkers(policy, state, { now: (index + 1) * 1000, peak });
      return state.target;
    });
  }

  it('starts at the minimum and is enabled only for a range', () => {
    expect(initialScalingState(policy, 0).target).toBe(1);
    expect(scalingEnabled(policy)).toBe(true);
    expect(scalingEnabled({ min: 2, max: 2 })).toBe(false);
  });

  it('jumps to the peak as soon as requests queue, never past the maximum', () => {
    expect(run([1, 3])).toEqual([1, 3]);
    expect(run([9])).toEqual([4]);
  });

  it('keeps its workers while the load fills them (no flapping in the band)', () => {
    const targets = run([3, ...Array.from({ length: 200 }, () => 3)]);
    expect(new Set(targets)).toEqual(new Set([3]));
  });

  it('removes one worker per quiet period, down to the minimum', () => {
    const idle = Array.from({ length: 200 }, () => 0);
    const targets = run([4, ...idle]);
    // Second 1: 4 workers; each further step waits 60 s of a peak below the target.
    expect(targets[60]).toBe(4);
    expect(targets[61]).toBe(3);
    expect(targets[121]).toBe(2);
    expect(targets[181]).toBe(1);
    expect(targets[200]).toBe(1);
  });

  it('starts the quiet period again when the load reaches the target', () => {
    const targets = run([2, ...Array.from({ length: 50 }, () => 0), 2, ...Array.from({ length: 50 }, () => 0)]);
    // 50 s idle, one busy second, 50 s idle: never 60 s quiet in a row.
    expect(targets.at(-1)).toBe(2);
  });

  it('signals one step at a time towards the target', () => {
    expect(nextSignal(1, 3)).toBe('SIGTTIN');
    expect(nextSignal(3, 1)).toBe('SIGTTOU');
    expect(nextSignal(2, 2)).toBeUndefined();
  });

  it('refuses a minimum above the maximum, naming both', () => {
    const base = { odooBin: 'odoo-bin', workDir: '/tmp/x', odooDataDir: '/tmp/x/d', poolDbfilter: '^%d$' } as const;
    const rest = { logger: undefined as never, poolAccess: undefined as never, desiredTenants: async () => [] };
    expect(() => resolveProcessRuntimeOptions({ ...base, ...rest, poolWorkers: 2, poolWorkersMin: 3 })).toThrow(
      /poolWorkersMin \(3\) must not exceed poolWorkers \(2\)/,
    );
    const resolved = resolveProcessRuntimeOptions({ ...base, ...rest, poolWorkers: 3 });
    expect([resolved.poolWorkersMin, resolved.poolWorkers]).toEqual([3, 3]);
  });
});

describe('requests in flight per upstream', () => {
  const upstream = { host: '127.0.0.1', port: 8069 };

  it('reports the peak since the previous reading, then starts a new window', () => {
    const load = new UpstreamLoad();
    const ends = [load.begin(upstream), load.begin(upstream), load.begin(upstream)];
    for (const end of ends.slice(0, 2)) end();
    expect(load.take(upstream)).toEqual({ inFlight: 1, peak: 3 });
    expect(load.take(upstream)).toEqual({ inFlight: 1, peak: 1 });
    ends[2]?.();
    ends[2]?.(); // a second call (close after error) counts once
    expect(load.take(upstream)).toEqual({ inFlight: 0, peak: 1 });
    expect(load.take(upstream)).toEqual({ inFlight: 0, peak: 0 });
    expect(load.take({ host: '127.0.0.1', port: 1 })).toEqual({ inFlight: 0, peak: 0 });
  });
});
