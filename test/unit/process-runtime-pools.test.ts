import { describe, expect, it } from 'vitest';
import { choosePool, poolFilterSelects, poolName, serverTag } from '../../src/runtimes/process/index.js';
import { POOL_DBFILTER } from '../../src/tenants/index.js';

const SERVER = '3f2a9c1e-7b4d-4e5f-8a9b-0c1d2e3f4a5b';
const OTHER = '9d8c7b6a-0000-4000-8000-000000000000';

describe('pool placement', () => {
  it('names pools after a short tag of their database server', () => {
    expect(serverTag(SERVER)).toBe('3f2a9c1e');
    expect(serverTag('Local_Default!')).toBe('localdef');
    expect(serverTag('---')).toBe('server');
    expect(poolName(SERVER, 2)).toBe('pool-3f2a9c1e-2');
  });

  it('starts the first pool of a server', () => {
    expect(choosePool([], SERVER, 100)).toEqual({ kind: 'new', name: 'pool-3f2a9c1e-1' });
  });

  it('fills a pool up to its capacity, then starts the next one', () => {
    const pools = [{ name: 'pool-3f2a9c1e-1', databaseServerId: SERVER, tenantCount: 99 }];
    expect(choosePool(pools, SERVER, 100)).toEqual({ kind: 'existing', name: 'pool-3f2a9c1e-1' });
    const full = [{ name: 'pool-3f2a9c1e-1', databaseServerId: SERVER, tenantCount: 100 }];
    expect(choosePool(full, SERVER, 100)).toEqual({ kind: 'new', name: 'pool-3f2a9c1e-2' });
  });

  it('fills gaps in lower-numbered pools first (numeric order, not text order)', () => {
    const pools = [
      { name: 'pool-3f2a9c1e-10', databaseServerId: SERVER, tenantCount: 1 },
      { name: 'pool-3f2a9c1e-2', databaseServerId: SERVER, tenantCount: 3 },
      { name: 'pool-3f2a9c1e-1', databaseServerId: SERVER, tenantCount: 3 },
    ];
    expect(choosePool(pools, SERVER, 3)).toEqual({ kind: 'existing', name: 'pool-3f2a9c1e-10' });
    pools[1] = { name: 'pool-3f2a9c1e-2', databaseServerId: SERVER, tenantCount: 2 };
    expect(choosePool(pools, SERVER, 3)).toEqual({ kind: 'existing', name: 'pool-3f2a9c1e-2' });
  });

  it('never puts a tenant in a pool of another database server', () => {
    const pools = [{ name: 'pool-9d8c7b6a-1', databaseServerId: OTHER, tenantCount: 0 }];
    expect(choosePool(pools, SERVER, 100)).toEqual({ kind: 'new', name: 'pool-3f2a9c1e-1' });
  });

  it('gives servers whose ids share a tag distinct pool names', () => {
    const twin = '3f2a9c1e-ffff-4fff-8fff-ffffffffffff';
    const pools = [{ name: 'pool-3f2a9c1e-1', databaseServerId: SERVER, tenantCount: 5 }];
    expect(choosePool(pools, twin, 100)).toEqual({ kind: 'new', name: 'pool-3f2a9c1e-2' });
  });

  it('never puts a tenant in a pool of another Odoo series on the same server', () => {
    const pools = [{ name: 'pool-3f2a9c1e-1', databaseServerId: SERVER, series: '16.0', tenantCount: 1 }];
    expect(choosePool(pools, SERVER, 100, '17.0')).toEqual({ kind: 'new', name: 'pool-3f2a9c1e-2' });
    expect(choosePool(pools, SERVER, 100, '16.0')).toEqual({ kind: 'existing', name: 'pool-3f2a9c1e-1' });
  });

  it("names another runtime's pools (and so their roles) with its own prefix", () => {
    const pools = [{ name: 'dpool-3f2a9c1e-1', databaseServerId: SERVER, series: '17.0', tenantCount: 2 }];
    expect(poolName(SERVER, 3, 'dpool')).toBe('dpool-3f2a9c1e-3');
    expect(choosePool(pools, SERVER, 2, '17.0', 'dpool')).toEqual({ kind: 'new', name: 'dpool-3f2a9c1e-2' });
    expect(choosePool(pools, SERVER, 3, '17.0', 'dpool')).toEqual({ kind: 'existing', name: 'dpool-3f2a9c1e-1' });
  });

  it('refuses a capacity below one', () => {
    expect(() => choosePool([], SERVER, 0)).toThrow(RangeError);
  });
});

describe('pool host filter', () => {
  it('selects t_<first label> for the tenant host, as Odoo evaluates %d', () => {
    expect(poolFilterSelects(POOL_DBFILTER, 'acme.example.com', 't_acme')).toBe(true);
    expect(poolFilterSelects(POOL_DBFILTER, 'ACME.example.com:8443', 't_acme')).toBe(true);
    expect(poolFilterSelects(POOL_DBFILTER, 'my-shop.example.com', 't_my-shop')).toBe(true);
    expect(poolFilterSelects(POOL_DBFILTER, 'acme.example.com', 't_acme2')).toBe(false);
    expect(poolFilterSelects(POOL_DBFILTER, 'acme.example.com', 't_other')).toBe(false);
    expect(poolFilterSelects(POOL_DBFILTER, 'acme.example.com', 'acme')).toBe(false);
  });
});
