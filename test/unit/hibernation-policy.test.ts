import { describe, expect, it } from 'vitest';
import {
  CRON_WAKE_GRACE_MS,
  createFairLimiter,
  cronWakeTime,
  databaseServerSleepDue,
  hibernationDue,
  MIN_CRON_WAKE_DELAY_MS,
} from '../../src/hibernation/index.js';

const MINUTE = 60_000;
const now = new Date('2026-12-07T12:00:00Z');
const ago = (minutes: number) => new Date(now.getTime() - minutes * MINUTE);
const awake = { last_request_at: null, hibernated_at: null, last_woken_at: null, last_wake_reason: null } as const;

describe('hibernationDue', () => {
  const base = { processStrategy: 'dedicated' as const, idleMinutes: 30, runningSince: ago(120), row: undefined };

  it('hibernates a dedicated tenant idle for its plan minutes, counting from the newest of request, wake and start', () => {
    expect(hibernationDue(base, now)).toBe(true);
    expect(hibernationDue({ ...base, row: { ...awake, last_request_at: ago(29) } }, now)).toBe(false);
    expect(hibernationDue({ ...base, row: { ...awake, last_request_at: ago(30) } }, now)).toBe(true);
    expect(hibernationDue({ ...base, runningSince: ago(10) }, now)).toBe(false);
    expect(hibernationDue({ ...base, row: { ...awake, last_woken_at: ago(10), last_wake_reason: 'request' } }, now)).toBe(false);
  });

  it('never hibernates pool tenants, plans without a policy, or a tenant already asleep', () => {
    expect(hibernationDue({ ...base, processStrategy: 'pool' }, now)).toBe(false);
    expect(hibernationDue({ ...base, idleMinutes: null }, now)).toBe(false);
    expect(hibernationDue({ ...base, idleMinutes: undefined }, now)).toBe(false);
    expect(hibernationDue({ ...base, row: { ...awake, hibernated_at: ago(5) } }, now)).toBe(false);
  });

  it('lets a tenant woken only for its crons sleep again after the cron grace', () => {
    const cronWake = {
      ...awake,
      last_request_at: ago(200),
      last_woken_at: new Date(now.getTime() - CRON_WAKE_GRACE_MS),
      last_wake_reason: 'cron' as const,
    };
    expect(hibernationDue({ ...base, row: cronWake }, now)).toBe(true);
    expect(hibernationDue({ ...base, row: { ...cronWake, last_woken_at: ago(4) } }, now)).toBe(false);
    // A request after the cron wake: the plan's idle minutes apply again.
    expect(hibernationDue({ ...base, row: { ...cronWake, last_request_at: ago(4.5) } }, now)).toBe(false);
  });
});

describe('cronWakeTime', () => {
  it('is the earliest nextcall, never sooner than a minute from now, and none without crons', () => {
    expect(cronWakeTime(null, now)).toBeNull();
    const later = new Date(now.getTime() + 3 * 3600_000);
    expect(cronWakeTime(later, now)).toEqual(later);
    expect(cronWakeTime(ago(60), now)).toEqual(new Date(now.getTime() + MIN_CRON_WAKE_DELAY_MS));
  });
});

describe('createFairLimiter', () => {
  it('runs at most `limit` at once and the rest in the order they asked', async () => {
    const limiter = createFairLimiter(2);
    const started: number[] = [];
    const gates = [0, 1, 2, 3, 4].map(() => {
      let resolve = () => {};
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      return { promise, resolve };
    });
    const runs = gates.map((gate, n) =>
      limiter.run(async () => {
        started.push(n);
        await gate.promise;
        return n;
      }),
    );
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    await settle();
    expect(started).toEqual([0, 1]);
    expect(limiter.load()).toEqual({ running: 2, waiting: 3 });
    gates[1]?.resolve();
    await settle();
    expect(started).toEqual([0, 1, 2]);
    gates[0]?.resolve();
    await settle();
    expect(started).toEqual([0, 1, 2, 3]);
    gates[2]?.resolve();
    await settle();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    gates[3]?.resolve();
    gates[4]?.resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3, 4]);
    expect(limiter.load()).toEqual({ running: 0, waiting: 0 });
  });

  it('frees the place of a holder that throws', async () => {
    const limiter = createFairLimiter(1);
    await expect(limiter.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limiter.run(async () => 'next')).toBe('next');
  });
});

describe('databaseServerSleepDue', () => {
  const asleep = { ...awake, hibernated_at: ago(60) };
  const base = { idleMinutes: 1440, runningSince: ago(3000), row: { ...asleep, last_request_at: ago(1440) } };

  it("stops a hibernated tenant's server once it is idle for the plan's minutes since its last request", () => {
    expect(databaseServerSleepDue(base, now)).toBe(true);
    expect(databaseServerSleepDue({ ...base, row: { ...asleep, last_request_at: ago(1439) } }, now)).toBe(false);
    expect(databaseServerSleepDue({ ...base, runningSince: ago(100), row: { ...asleep } }, now)).toBe(false);
  });

  it('counts a wake for a request as activity, not a cron wake', () => {
    const woken = { ...base.row, last_woken_at: ago(10) };
    expect(databaseServerSleepDue({ ...base, row: { ...woken, last_wake_reason: 'request' } }, now)).toBe(false);
    expect(databaseServerSleepDue({ ...base, row: { ...woken, last_wake_reason: 'cron' } }, now)).toBe(true);
  });

  it('never stops the server of an awake tenant, or of a plan without the policy', () => {
    expect(databaseServerSleepDue({ ...base, row: { ...base.row, hibernated_at: null } }, now)).toBe(false);
    expect(databaseServerSleepDue({ ...base, row: undefined }, now)).toBe(false);
    expect(databaseServerSleepDue({ ...base, idleMinutes: null }, now)).toBe(false);
    expect(databaseServerSleepDue({ ...base, idleMinutes: undefined }, now)).toBe(false);
  });
});
