import { describe, expect, it } from 'vitest';
import { DEFAULT_HEALTH_CHECK, type HealthFailures, judgeHealthCheck, NO_HEALTH_FAILURES } from '../../src/runtimes/process/health.js';

const policy = { ...DEFAULT_HEALTH_CHECK, failureThreshold: 3, busyFailureThreshold: 6, busyCpuMs: 500 };

/** Runs a sequence of checks (answered?, CPU ms used since the previous) and returns the verdicts' kill reasons. */
function run(checks: Array<[boolean, number]>): Array<string | false> {
  let failures: HealthFailures = NO_HEALTH_FAILURES;
  return checks.map(([answered, cpuMs]) => {
    const verdict = judgeHealthCheck(policy, failures, answered, cpuMs);
    failures = verdict.failures;
    return verdict.kill ? verdict.reason : false;
  });
}

describe('judging a health check', () => {
  it('kills an idle process after failureThreshold unanswered checks in a row', () => {
    expect(
      run([
        [false, 0],
        [false, 10],
        [false, 499],
      ]),
    ).toEqual([false, false, 'hung: 3 health checks failed in a row while it sat idle']);
  });

  it('gives a process that keeps working up to busyFailureThreshold checks', () => {
    const busy: Array<[boolean, number]> = Array.from({ length: 6 }, () => [false, 1_500]);
    expect(run(busy)).toEqual([false, false, false, false, false, 'hung: 6 health checks failed in a row although it kept working']);
  });

  it('counts idle checks among busy ones towards the idle threshold', () => {
    expect(
      run([
        [false, 0],
        [false, 2_000],
        [false, 0],
        [false, 2_000],
        [false, 0],
      ]),
    ).toEqual([false, false, false, false, 'hung: 3 health checks failed in a row while it sat idle']);
  });

  it('starts over after an answered check', () => {
    expect(
      run([
        [false, 0],
        [false, 0],
        [true, 0],
        [false, 0],
        [false, 0],
        [true, 3_000],
        [false, 900],
      ]),
    ).toEqual([false, false, false, false, false, false, false]);
    expect(judgeHealthCheck(policy, { failed: 5, idle: 2 }, true, 0)).toEqual({ failures: NO_HEALTH_FAILURES, kill: false });
  });

  it('treats exactly busyCpuMs as busy and one ms less as idle', () => {
    expect(judgeHealthCheck(policy, { failed: 2, idle: 2 }, false, 500).kill).toBe(false);
    expect(judgeHealthCheck(policy, { failed: 2, idle: 2 }, false, 499).kill).toBe(true);
  });
});
