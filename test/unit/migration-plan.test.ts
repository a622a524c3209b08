import { describe, expect, it } from 'vitest';
import { estimateDowntimeMs, percentile, planMigration } from '../../src/migration/index.js';
import { planChangeRefusals } from '../../src/tenants/index.js';

const GIB = 1024 ** 3;
const source = { serverId: 'a', databaseStrategy: 'shared', processStrategy: 'pool', plan: 'basic' } as const;
const small = { databaseBytes: 10 * 1024 * 1024, filestoreBytes: 1024 * 1024 };

describe('migration planning', () => {
  it('moves the database only when the server changes', () => {
    const plan = planMigration(source, { ...source, serverId: 'b' }, small);
    expect(plan).toMatchObject({ movesDatabase: true, changesProcess: false, changesPlan: false });
    expect(plan.actions.some((a) => a.includes('load the backup on b'))).toBe(true);
    expect(plan.actions.some((a) => a.includes('keep the old database'))).toBe(true);
  });

  it('changes only the process strategy on the same server (no load, no kept source)', () => {
    const plan = planMigration(source, { ...source, processStrategy: 'dedicated', plan: 'standard' }, small);
    expect(plan).toMatchObject({ movesDatabase: false, changesProcess: true, changesPlan: true });
    expect(plan.actions.some((a) => a.includes('load the backup'))).toBe(false);
    expect(plan.estimatedDowntimeMs).toBe(estimateDowntimeMs(small, false));
  });

  it('a target server chosen later (a new dedicated one) is a move when the database strategy differs', () => {
    const plan = planMigration(
      source,
      { serverId: undefined, databaseStrategy: 'dedicated', processStrategy: 'dedicated', plan: 'premium' },
      small,
    );
    expect(plan.movesDatabase).toBe(true);
    expect(plan.actions.some((a) => a.includes('a new dedicated database server'))).toBe(true);
  });

  it('a plan change on the same placement is applied at once, without downtime', () => {
    const plan = planMigration(source, { ...source, plan: 'basic-plus' }, small);
    expect(plan).toMatchObject({ movesDatabase: false, changesProcess: false, changesPlan: true, estimatedDowntimeMs: 0 });
  });

  it('a drain (no server named, same strategy) moves the database off the server it leaves', () => {
    const plan = planMigration(source, { ...source, serverId: undefined }, small);
    expect(plan.movesDatabase).toBe(true);
    expect(plan.actions.some((a) => a.includes('the least-loaded shared database server'))).toBe(true);
  });

  it('refuses a move to where the tenant already is', () => {
    expect(() => planMigration(source, { ...source }, small)).toThrow(/already there/);
  });

  it('estimates more downtime for bigger tenants, and more for a move than for a process change', () => {
    const big = { databaseBytes: 2 * GIB, filestoreBytes: GIB };
    expect(estimateDowntimeMs(big, true)).toBeGreaterThan(estimateDowntimeMs(small, true));
    expect(estimateDowntimeMs(big, true)).toBeGreaterThan(estimateDowntimeMs(big, false));
    expect(estimateDowntimeMs({ databaseBytes: 0, filestoreBytes: 0 }, true)).toBeGreaterThan(0);
  });

  it('percentiles by nearest rank', () => {
    expect(percentile([], 50)).toBe(0);
    expect(percentile([5], 95)).toBe(5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(percentile([10, 1, 9, 2, 8, 3, 7, 4, 6, 5], 95)).toBe(10);
  });
});

describe('plan change refusals', () => {
  const basic = { code: 'basic', limits: { odooUsers: 3, storageGiB: 5 } };

  it('accepts a tenant within the new limits, at the edge included', () => {
    expect(planChangeRefusals(basic, { odooUsers: 3, databaseBytes: 4 * GIB, filestoreBytes: GIB })).toEqual([]);
    expect(planChangeRefusals(basic, { odooUsers: null, databaseBytes: null, filestoreBytes: 0 })).toEqual([]);
  });

  it('names the user limit and by how much', () => {
    const [refusal] = planChangeRefusals(basic, { odooUsers: 7, databaseBytes: 0, filestoreBytes: 0 });
    expect(refusal).toMatchObject({ limit: 'odooUsers', allowed: 3, used: 7 });
    expect(refusal?.message).toBe('7 active Odoo users, plan basic allows 3: archive 4 user(s) first');
  });

  it('names the storage limit and by how much, database and filestore together', () => {
    const refusals = planChangeRefusals(basic, { odooUsers: 1, databaseBytes: 4 * GIB, filestoreBytes: 1.5 * GIB });
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ limit: 'storageGiB', allowed: 5, used: 5.5 });
    expect(refusals[0]?.message).toBe('5.5 GiB of storage used, plan basic allows 5 GiB: free 0.5 GiB first');
  });

  it('names both when both are exceeded', () => {
    const refusals = planChangeRefusals(basic, { odooUsers: 4, databaseBytes: 6 * GIB, filestoreBytes: 0 });
    expect(refusals.map((r) => r.limit)).toEqual(['odooUsers', 'storageGiB']);
  });
});
