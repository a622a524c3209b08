import { describe, expect, it } from 'vitest';
import { describePools, describeSeries } from '../../src/cli/doctor.js';
import { majorSeries } from '../../src/odoo/index.js';
import { createSeriesRegistry } from '../../src/odoo-installs/index.js';
import { requireSameSeries } from '../../src/restores/series.js';

describe('Odoo installations by series', () => {
  const installed = [{ series: '17.0', bin: '/data/odoo/17.0/odoo-bin' }];

  it('runs the override for the series it reports, and the registered installation for another', async () => {
    let asked = 0;
    const registry = createSeriesRegistry({
      override: { bin: '/opt/odoo16/odoo-bin' },
      configuredDefault: '17.0',
      addonsPath: ['/opt/odoo16/addons'],
      detectSeries: async () => {
        asked += 1;
        return '16.0';
      },
      installations: async () => installed,
    });
    expect(await registry.defaultSeries()).toBe('16.0');
    expect(await registry.resolve(null)).toEqual({ bin: '/opt/odoo16/odoo-bin', series: '16.0', addonsPath: ['/opt/odoo16/addons'] });
    // ODOO_ADDONS_PATH is the default series' only: 17.0's addons are its own.
    expect(await registry.resolve('17.0')).toEqual({ bin: '/data/odoo/17.0/odoo-bin', series: '17.0' });
    expect(await registry.resolve('18.0')).toBeUndefined();
    expect(await registry.available()).toEqual(['16.0', '17.0']);
    expect(asked).toBe(1);
  });

  it('without an override, the default series is ODOO_SERIES, runnable once installed', async () => {
    const registry = createSeriesRegistry({
      override: undefined,
      configuredDefault: '16.0',
      detectSeries: async () => {
        throw new Error('not asked');
      },
      installations: async () => installed,
    });
    expect(await registry.defaultSeries()).toBe('16.0');
    expect(await registry.resolve(undefined)).toBeUndefined();
    expect(await registry.resolve('17.0')).toMatchObject({ series: '17.0' });
    expect(await registry.overrideSeries()).toBeUndefined();
  });
});

describe('restores keep the Odoo major version', () => {
  it('reads the major version of Odoo version strings', () => {
    expect(majorSeries('16.0')).toBe('16.0');
    expect(majorSeries('17.0+e')).toBe('17.0');
    expect(majorSeries('16.0.1.3')).toBe('16.0');
    expect(majorSeries('saas~17.2')).toBe('17.2');
  });

  it('refuses a backup of another major version, naming both; unknown on either side is not compared', () => {
    expect(() => requireSameSeries({ version: '16.0', what: 'Backup b1' }, { name: 'acme', series: '17.0' })).toThrow(
      'Backup b1 was made with Odoo 16.0, and acme runs Odoo 17.0',
    );
    expect(() => requireSameSeries({ version: '17.0+e', what: 'Backup b1' }, { name: 'acme', series: '17.0' })).not.toThrow();
    expect(() => requireSameSeries({ version: null, what: 'Backup b1' }, { name: 'acme', series: '17.0' })).not.toThrow();
    expect(() => requireSameSeries({ version: '16.0', what: 'Backup b1' }, { name: 'acme', series: null })).not.toThrow();
  });
});

describe('saasctl doctor: pools of several series', () => {
  it("names each pool's series", () => {
    const pool = {
      name: 'pool-abc-2',
      databaseServer: 'default',
      tenants: 1,
      processes: [],
      memoryBytes: null,
      connections: { used: 0, budget: 16, serverMax: 300 },
      cron: { oldestDueAt: null, lagSeconds: null, unreadable: 0 },
    };
    expect(describePools([{ ...pool, odooSeries: '17.0' }])[0]).toBe('  pool-abc-2 (Odoo 17.0) on default: 1 tenant(s), memory unknown');
    expect(describePools([pool])[0]).toBe('  pool-abc-2 on default: 1 tenant(s), memory unknown');
  });
});

describe('saasctl doctor: each Odoo series', () => {
  it('says what runs each series, what uses it, and what to install for templates that wait for a series', () => {
    const used = (templates: string[], tenants: number) => ({ templates, tenants });
    expect(
      describeSeries([
        { series: '16.0', status: 'not_installed', bin: null, overridden: true, error: null, usedBy: used(['blank'], 2) },
        { series: '17.0', status: 'ready', bin: '/data/odoo/17.0/odoo-bin', overridden: false, error: null, usedBy: used([], 1) },
        { series: '18.0', status: 'failed', bin: null, overridden: false, error: 'pip failed', usedBy: used(['blank18'], 0) },
      ]),
    ).toEqual([
      '  Odoo 16.0: ODOO_BIN override; 2 tenant(s); templates blank',
      '  Odoo 17.0: /data/odoo/17.0/odoo-bin; 1 tenant(s)',
      '! Odoo 18.0: failed; 0 tenant(s); templates blank18',
      '      no instance of blank18 can be created: install it with saasctl odoo install 18.0 (last attempt failed: pip failed)',
    ]);
  });
});
