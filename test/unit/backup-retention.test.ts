import { describe, expect, it } from 'vitest';
import { DEFAULT_RETENTION, type RetainedBackup, type RetentionPolicy, retentionDecisions } from '../../src/backups/index.js';

/**
 * Grandfather-father-son retention, a pure function: checked over every policy up to 4/3/3, over
 * daily histories of every length up to 200 days with gaps and failures, against a direct model
 * of the rule, and on the cases that matter most written out.
 */
const DAY = 86_400_000;
const NOW = new Date('2026-06-30T12:00:00Z');

function daily(days: number, options: { missing?: (day: number) => boolean; failed?: (day: number) => boolean } = {}): RetainedBackup[] {
  const backups: RetainedBackup[] = [];
  for (let day = 0; day < days; day++) {
    if (options.missing?.(day)) continue;
    backups.push({
      id: `d${day}`,
      trigger: 'schedule',
      state: options.failed?.(day) ? 'failed' : 'verified',
      startedAt: new Date(Date.UTC(2026, 5, 30, 2, 17) - day * DAY),
      keepUntil: null,
    });
  }
  return backups;
}

const kept = (backups: RetainedBackup[], policy: RetentionPolicy, now = NOW) =>
  new Set(
    retentionDecisions(backups, policy, now)
      .filter((d) => d.keep)
      .map((d) => d.id),
  );

/** The rule, written the slow and obvious way: a backup is kept if it is the newest of one of the newest N periods. */
function model(backups: RetainedBackup[], policy: RetentionPolicy): Set<string> {
  const verified = backups.filter((b) => b.state === 'verified').sort((a, b) => b.startedAt.getTime() - a.startedAt.getTime());
  const result = new Set<string>();
  if (verified[0]) result.add(verified[0].id);
  const period = (kind: 'day' | 'week' | 'month', date: Date) => {
    if (kind === 'day') return date.toISOString().slice(0, 10);
    if (kind === 'month') return date.toISOString().slice(0, 7);
    // Monday of the ISO week
    const monday = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()) - ((date.getUTCDay() + 6) % 7) * DAY);
    return monday.toISOString().slice(0, 10);
  };
  for (const [kind, count] of [
    ['day', policy.daily],
    ['week', policy.weekly],
    ['month', policy.monthly],
  ] as const) {
    const periods: string[] = [];
    for (const backup of verified) {
      const p = period(kind, backup.startedAt);
      if (periods.includes(p)) continue;
      periods.push(p);
      if (periods.length > count) break;
      result.add(backup.id);
    }
  }
  for (const backup of backups)
    if (backup.state === 'failed' && backup.startedAt.getTime() > NOW.getTime() - policy.otherDays * DAY) result.add(backup.id);
  return result;
}

describe('retention (grandfather-father-son)', () => {
  it('keeps 7 daily, 4 weekly and 3 monthly by default out of 120 days of daily backups', () => {
    const decisions = retentionDecisions(daily(120), DEFAULT_RETENTION, NOW);
    const reasons = decisions.filter((d) => d.keep).map((d) => d.reason);
    expect(reasons.filter((r) => r === 'daily' || r === 'newest')).toHaveLength(7);
    // 2026-06-30 is a Tuesday: the 7 dailies are Jun 24-30; the weeklies (newest of each ISO week)
    // add Sun Jun 21 and Sun Jun 14 (this week's and last week's newest are dailies); the monthlies
    // add May 31 and Apr 30 (June's newest is a daily).
    expect([...kept(daily(120), DEFAULT_RETENTION)].sort()).toEqual(
      ['d0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd9', 'd16', 'd30', 'd61'].sort(),
    );
  });

  it('agrees with a direct model of the rule for every policy up to 4/3/3 and every history length up to 200 days, with gaps and failures', () => {
    let cases = 0;
    for (let length = 0; length <= 200; length += 7) {
      for (const gaps of [undefined, (d: number) => d % 3 === 1, (d: number) => d > 5 && d < 40]) {
        const backups = daily(length, { missing: gaps, failed: (d) => d % 11 === 4 });
        for (let d = 0; d <= 4; d++)
          for (let w = 0; w <= 3; w++)
            for (let m = 0; m <= 3; m++) {
              const policy = { daily: d, weekly: w, monthly: m, otherDays: 30 };
              expect([...kept(backups, policy)].sort(), `length ${length} policy ${d}/${w}/${m}`).toEqual(
                [...model(backups, policy)].sort(),
              );
              cases++;
            }
      }
    }
    expect(cases).toBe(29 * 3 * 80);
  });

  it('gives every backup exactly one decision', () => {
    const backups = daily(90, { failed: (d) => d % 5 === 0 });
    const decisions = retentionDecisions(backups, DEFAULT_RETENTION, NOW);
    expect(decisions.map((d) => d.id).sort()).toEqual(backups.map((b) => b.id).sort());
  });

  it('never counts failed backups: the newest verified one is kept even when newer ones failed, and the days they failed on are not "covered"', () => {
    const backups = daily(20, { failed: (d) => d < 10 });
    const keptIds = kept(backups, { daily: 3, weekly: 0, monthly: 0, otherDays: 30 });
    expect(keptIds.has('d10')).toBe(true);
    expect(keptIds.has('d11')).toBe(true);
    expect(keptIds.has('d12')).toBe(true);
    expect(keptIds.has('d13')).toBe(false);
    // Failed records stay visible for the window, then go.
    const old = daily(60, { failed: () => true });
    const decisions = retentionDecisions(old, DEFAULT_RETENTION, NOW);
    expect(decisions.find((d) => d.id === 'd10')).toMatchObject({ keep: true, reason: 'kept-window' });
    expect(decisions.find((d) => d.id === 'd45')).toMatchObject({ keep: false, reason: 'failed-expired' });
  });

  it('keeps running backups, the newest verified one whatever the policy, on-demand ones for the window and pre-operation ones until their date', () => {
    const backups: RetainedBackup[] = [
      { id: 'running', trigger: 'schedule', state: 'running', startedAt: new Date(NOW.getTime() - 400 * DAY), keepUntil: null },
      { id: 'newest', trigger: 'schedule', state: 'verified', startedAt: new Date(NOW.getTime() - 300 * DAY), keepUntil: null },
      { id: 'old-schedule', trigger: 'schedule', state: 'verified', startedAt: new Date(NOW.getTime() - 310 * DAY), keepUntil: null },
      { id: 'recent-manual', trigger: 'on_demand', state: 'verified', startedAt: new Date(NOW.getTime() - 400 * DAY), keepUntil: null },
      { id: 'fresh-manual', trigger: 'on_demand', state: 'verified', startedAt: new Date(NOW.getTime() - 29 * DAY), keepUntil: null },
      {
        id: 'final',
        trigger: 'before_delete',
        state: 'verified',
        startedAt: new Date(NOW.getTime() - 500 * DAY),
        keepUntil: new Date(NOW.getTime() + DAY),
      },
      {
        id: 'final-over',
        trigger: 'before_delete',
        state: 'verified',
        startedAt: new Date(NOW.getTime() - 35 * DAY),
        keepUntil: new Date(NOW.getTime() - 1),
      },
    ];
    const decisions = Object.fromEntries(
      retentionDecisions(backups, { daily: 0, weekly: 0, monthly: 0, otherDays: 30 }, NOW).map((d) => [d.id, d]),
    );
    expect(decisions.running).toMatchObject({ keep: true, reason: 'running' });
    expect(decisions['fresh-manual']).toMatchObject({ keep: true, reason: 'newest' });
    expect(decisions.newest).toMatchObject({ keep: false, reason: 'expired' });
    expect(decisions['old-schedule']?.keep).toBe(false);
    expect(decisions['recent-manual']?.keep).toBe(false);
    expect(decisions.final).toMatchObject({ keep: true, reason: 'kept-window' });
    // A date of its own replaces the window: once it passed, the backup goes.
    expect(decisions['final-over']).toMatchObject({ keep: false, reason: 'expired' });
  });

  it('does not depend on the order of its input', () => {
    const backups = daily(50, { failed: (d) => d % 7 === 3 });
    const shuffled = [...backups].reverse();
    expect(kept(shuffled, DEFAULT_RETENTION)).toEqual(kept(backups, DEFAULT_RETENTION));
  });
});
