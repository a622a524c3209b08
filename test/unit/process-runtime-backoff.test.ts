import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, failuresAfterExit, resolveBackoff, restartDelayMs } from '../../src/runtimes/process/index.js';

describe('process runtime back-off', () => {
  it('starts at 1 s and doubles up to 60 s by default', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 20].map((failures) => restartDelayMs(DEFAULT_BACKOFF, failures));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });

  it('does not wait before anything has failed and never overflows', () => {
    expect(restartDelayMs(DEFAULT_BACKOFF, 0)).toBe(0);
    expect(restartDelayMs(DEFAULT_BACKOFF, 10_000)).toBe(60_000);
  });

  it('takes overrides for tests and refuses nonsense', () => {
    const fast = resolveBackoff({ initialMs: 50, maxMs: 400 });
    expect([1, 2, 3, 4, 5].map((n) => restartDelayMs(fast, n))).toEqual([50, 100, 200, 400, 400]);
    expect(() => resolveBackoff({ initialMs: -1 })).toThrow(RangeError);
    expect(() => resolveBackoff({ factor: 0.5 })).toThrow(/factor/);
    expect(() => resolveBackoff({ initialMs: 500, maxMs: 100 })).toThrow(/maxMs/);
  });

  it('counts failures in a row, starting over after a long enough healthy period', () => {
    const policy = resolveBackoff({ resetAfterMs: 60_000 });
    // Never became healthy: the count grows.
    expect(failuresAfterExit(policy, 3, undefined, 1_000_000)).toBe(4);
    // Healthy, but only briefly: still growing (a crash loop after a few seconds of service).
    expect(failuresAfterExit(policy, 3, 1_000_000, 1_030_000)).toBe(4);
    // Healthy for the reset period: the crash counts as the first one.
    expect(failuresAfterExit(policy, 6, 1_000_000, 1_060_000)).toBe(1);
  });
});
