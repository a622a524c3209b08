import { describe, expect, it } from 'vitest';
import { enforcementOf, type PlanEnforcement, STORAGE_ENFORCEMENTS } from '../../src/plans/index.js';
import {
  decideLimit,
  LIMIT_LEVELS,
  LIMIT_RESOURCES,
  type LimitLevel,
  type LimitStanding,
  levelOf,
  percentOf,
  roundStart,
  sampleOffsetSeconds,
  seriesStepFor,
} from '../../src/usage/index.js';

/**
 * The limit policy, exhaustively: every resource x level before x level now x policy, with a
 * previous standing or none, inside and past the grace period; each outcome is checked against
 * the rules written out independently below.
 */
const LIMIT = 10;
/** A usage that lands on each level for a limit of 10 and a warning at 80 %. */
const USED_AT: Record<LimitLevel, number> = { ok: 7, warning: 8, reached: 10, over: 12 };
const RANK: Record<LimitLevel, number> = { ok: 0, warning: 1, reached: 2, over: 3 };
const T0 = new Date('2026-01-01T00:00:00Z');
const hours = (n: number) => new Date(T0.getTime() + n * 3600_000);

const POLICIES: PlanEnforcement[] = [];
for (const blockNewUsers of [false, true])
  for (const deactivateExcessUsersAfterHours of [null, 0, 24])
    for (const storageAtLimit of STORAGE_ENFORCEMENTS)
      POLICIES.push({ warnAtPercent: 80, blockNewUsers, deactivateExcessUsersAfterHours, storageAtLimit });

describe('limit levels', () => {
  it('puts usage on the level its percentage of the limit says', () => {
    expect(levelOf(0, 10, 80)).toBe('ok');
    expect(levelOf(7, 10, 80)).toBe('ok');
    expect(levelOf(8, 10, 80)).toBe('warning');
    expect(levelOf(9, 10, 80)).toBe('warning');
    expect(levelOf(10, 10, 80)).toBe('reached');
    expect(levelOf(11, 10, 80)).toBe('over');
    // Bytes: exact integer arithmetic, no float drift at the boundary.
    expect(levelOf(4 * 1024 ** 3 - 1, 5 * 1024 ** 3, 80)).toBe('ok');
    expect(levelOf(4 * 1024 ** 3, 5 * 1024 ** 3, 80)).toBe('warning');
    expect(levelOf(3, 3, 80)).toBe('reached');
    expect(levelOf(2, 3, 50)).toBe('warning');
    expect(percentOf(5, 3)).toBe(166);
    for (const level of LIMIT_LEVELS) expect(levelOf(USED_AT[level], LIMIT, 80)).toBe(level);
  });
});

describe('limit decisions, every combination', () => {
  const cases: Array<{
    resource: (typeof LIMIT_RESOURCES)[number];
    before: LimitLevel | null;
    now: LimitLevel;
    policy: PlanEnforcement;
    at: number;
  }> = [];
  for (const resource of LIMIT_RESOURCES)
    for (const before of [null, ...LIMIT_LEVELS])
      for (const now of LIMIT_LEVELS)
        for (const policy of POLICIES) for (const at of [1, 30]) cases.push({ resource, before, now, policy, at });

  it(`covers ${cases.length} cases`, () => {
    expect(cases.length).toBe(2 * 5 * 4 * POLICIES.length * 2);
    for (const { resource, before, now, policy, at } of cases) {
      const previous: LimitStanding | undefined =
        before === null
          ? undefined
          : {
              level: before,
              since: T0,
              blockNewUsers: resource === 'odoo_users' && policy.blockNewUsers && RANK[before] >= 2,
              readOnly: resource === 'storage' && policy.storageAtLimit === 'read_only' && RANK[before] >= 2,
            };
      const decision = decideLimit({ resource, used: USED_AT[now], limit: LIMIT, policy, previous, now: hours(at) });
      const label = JSON.stringify({ resource, before, now, policy, at });
      const rose = RANK[now] > RANK[before ?? 'ok'];
      const atLimit = RANK[now] >= 2;

      expect(decision.next.level, label).toBe(now);
      expect(decision.next.since.getTime(), label).toBe(before === now ? T0.getTime() : hours(at).getTime());
      expect(decision.next.blockNewUsers, label).toBe(resource === 'odoo_users' && policy.blockNewUsers && atLimit);
      expect(decision.next.readOnly, label).toBe(resource === 'storage' && policy.storageAtLimit === 'read_only' && atLimit);

      const mails = decision.actions.filter((a) => a.kind === 'notify').map((a) => (a.kind === 'notify' ? a.template : ''));
      const expectedMails = !rose ? [] : now === 'warning' ? ['limit_warning'] : RANK[before ?? 'ok'] < 2 ? ['limit_reached'] : [];
      expect(mails, label).toEqual(expectedMails);

      const suspends = decision.actions.filter((a) => a.kind === 'suspend').length;
      expect(suspends, label).toBe(
        resource === 'storage' && policy.storageAtLimit === 'suspend' && atLimit && RANK[before ?? 'ok'] < 2 ? 1 : 0,
      );

      const deactivations = decision.actions.filter((a) => a.kind === 'deactivate_users');
      const graceOver =
        policy.deactivateExcessUsersAfterHours !== null &&
        hours(at).getTime() - decision.next.since.getTime() >= policy.deactivateExcessUsersAfterHours * 3600_000;
      expect(deactivations, label).toEqual(
        resource === 'odoo_users' && now === 'over' && graceOver ? [{ kind: 'deactivate_users', count: 2 }] : [],
      );

      const changed =
        previous === undefined
          ? now !== 'ok' || decision.next.blockNewUsers || decision.next.readOnly
          : before !== now || previous.blockNewUsers !== decision.next.blockNewUsers || previous.readOnly !== decision.next.readOnly;
      expect(decision.changed, label).toBe(changed);
    }
  });

  it('deactivates only after the grace period counted from when the tenant went over', () => {
    const policy: PlanEnforcement = {
      warnAtPercent: 80,
      blockNewUsers: true,
      deactivateExcessUsersAfterHours: 72,
      storageAtLimit: 'read_only',
    };
    const first = decideLimit({ resource: 'odoo_users', used: 5, limit: 3, policy, previous: undefined, now: T0 });
    expect(first.actions).toEqual([{ kind: 'notify', template: 'limit_reached', percent: 166 }]);
    const inGrace = decideLimit({ resource: 'odoo_users', used: 5, limit: 3, policy, previous: first.next, now: hours(71.9) });
    expect(inGrace.actions).toEqual([]);
    expect(inGrace.changed).toBe(false);
    const after = decideLimit({ resource: 'odoo_users', used: 5, limit: 3, policy, previous: inGrace.next, now: hours(72) });
    expect(after.actions).toEqual([{ kind: 'deactivate_users', count: 2 }]);
    // Back at the limit: no deactivation, still blocked; back under: unblocked, and told again next time.
    const atLimit = decideLimit({ resource: 'odoo_users', used: 3, limit: 3, policy, previous: after.next, now: hours(73) });
    expect(atLimit.actions).toEqual([]);
    expect(atLimit.next.blockNewUsers).toBe(true);
    const under = decideLimit({ resource: 'odoo_users', used: 1, limit: 3, policy, previous: atLimit.next, now: hours(74) });
    expect(under.next).toMatchObject({ level: 'ok', blockNewUsers: false });
    expect(under.changed).toBe(true);
    const again = decideLimit({ resource: 'odoo_users', used: 3, limit: 3, policy, previous: under.next, now: hours(75) });
    expect(again.actions).toEqual([{ kind: 'notify', template: 'limit_reached', percent: 100 }]);
  });
});

describe('plan enforcement', () => {
  it('is the plan’s own, or derived from its older limitPolicy', () => {
    const own: PlanEnforcement = { warnAtPercent: 90, blockNewUsers: false, deactivateExcessUsersAfterHours: 5, storageAtLimit: 'suspend' };
    expect(enforcementOf({ limits: { enforcement: own }, placement: { limitPolicy: 'block' } })).toBe(own);
    expect(enforcementOf({ limits: {}, placement: { limitPolicy: 'warn' } })).toEqual({
      warnAtPercent: 80,
      blockNewUsers: false,
      deactivateExcessUsersAfterHours: null,
      storageAtLimit: 'warn',
    });
    expect(enforcementOf({ limits: {}, placement: { limitPolicy: 'block' } })).toMatchObject({
      blockNewUsers: true,
      storageAtLimit: 'read_only',
    });
    expect(enforcementOf({ limits: {}, placement: { limitPolicy: 'suspend' } })).toMatchObject({
      blockNewUsers: true,
      storageAtLimit: 'suspend',
    });
  });
});

describe('sampling rounds', () => {
  it('aligns rounds and spreads 1,000 tenants over the first 90 % of a round', () => {
    expect(roundStart(new Date('2026-01-01T10:07:31Z'), 300).toISOString()).toBe('2026-01-01T10:05:00.000Z');
    expect(roundStart(new Date('2026-01-01T10:05:00Z'), 300).toISOString()).toBe('2026-01-01T10:05:00.000Z');
    const offsets = Array.from({ length: 1000 }, (_, i) =>
      sampleOffsetSeconds(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, 300),
    );
    expect(Math.min(...offsets)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...offsets)).toBeLessThan(270);
    // No second of the round gets more than a handful of tenants (about 3.7 on average).
    const perSecond = new Map<number, number>();
    for (const offset of offsets) perSecond.set(offset, (perSecond.get(offset) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(12);
    expect(perSecond.size).toBeGreaterThan(200);
    // Stable: a tenant keeps its offset.
    expect(sampleOffsetSeconds('abc', 300)).toBe(sampleOffsetSeconds('abc', 300));
  });

  it('answers a range with raw samples up to 2 days, hours up to 60 days, then days', () => {
    expect(seriesStepFor(T0, hours(48))).toBe('raw');
    expect(seriesStepFor(T0, hours(49))).toBe('hour');
    expect(seriesStepFor(T0, hours(60 * 24))).toBe('hour');
    expect(seriesStepFor(T0, hours(60 * 24 + 1))).toBe('day');
  });
});
