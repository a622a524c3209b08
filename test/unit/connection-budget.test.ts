import { describe, expect, it } from 'vitest';
import { type DoctorPool, describePools } from '../../src/cli/doctor.js';
import {
  connectionBudgetProblem,
  connectionCosts,
  connectionShapeOf,
  connectionsNeeded,
  RESERVED_CONNECTIONS,
  requiredMaxConnections,
} from '../../src/runtimes/process/index.js';

/** The arithmetic of docs/architecture.md "Connection budget", with the runtime's defaults. */
describe('connection budget', () => {
  const costs = connectionCosts(connectionShapeOf());

  it('counts a pool in processes: 2 HTTP workers + the evented one + 2 cron workers, 16 connections each', () => {
    expect(costs).toEqual({ perPool: 80, poolMaxTenants: 100, perDedicatedTenant: 16 });
    // A threaded pool with its cron in the web process is one process.
    expect(connectionCosts(connectionShapeOf({ poolWorkers: 0, poolCronProcess: false })).perPool).toBe(16);
    // A dedicated tenant with workers: its workers, the evented process and one cron worker.
    expect(connectionCosts(connectionShapeOf({ dedicatedWorkers: 2, dedicatedDbMaxconn: 8 })).perDedicatedTenant).toBe(32);
  });

  it('charges pool tenants per started pool, dedicated tenants each', () => {
    expect(connectionsNeeded({ poolTenants: 0, dedicatedTenants: 0 }, costs)).toBe(0);
    expect(connectionsNeeded({ poolTenants: 1, dedicatedTenants: 0 }, costs)).toBe(80);
    expect(connectionsNeeded({ poolTenants: 100, dedicatedTenants: 0 }, costs)).toBe(80);
    expect(connectionsNeeded({ poolTenants: 101, dedicatedTenants: 2 }, costs)).toBe(2 * 80 + 2 * 16);
  });

  it('refuses the tenant that would need more than max_connections, saying why', () => {
    // 300 connections: 20 reserved, 3 pools (240) and 2 dedicated tenants (32) fit; a 4th pool does not.
    const tenants = { poolTenants: 300, dedicatedTenants: 1 };
    expect(connectionBudgetProblem({ maxConnections: 300, tenants, adding: 'dedicated' }, costs)).toBe(undefined);
    const full = { poolTenants: 300, dedicatedTenants: 2 };
    expect(connectionBudgetProblem({ maxConnections: 300, tenants: { ...full, poolTenants: 299 }, adding: 'pool' }, costs)).toBe(undefined);
    const problem = connectionBudgetProblem({ maxConnections: 300, tenants: full, adding: 'pool' }, costs);
    expect(problem).toMatch(
      /max_connections \(300\) is below .* 372 \(301 pool tenants in 4 pool\(s\) x 80, 2 dedicated x 16, 20 reserved\)/,
    );
  });

  it('sizes a managed server for its capacity whatever the mix of plans', () => {
    const required = requiredMaxConnections(50, costs);
    expect(required).toBe(RESERVED_CONNECTIONS + 50 * 16 + 80);
    for (let pool = 0; pool <= 50; pool += 1) {
      const tenants = { poolTenants: pool, dedicatedTenants: 50 - pool };
      expect(connectionsNeeded(tenants, costs) + RESERVED_CONNECTIONS).toBeLessThanOrEqual(required);
    }
  });
});

describe('saasctl doctor: the pools', () => {
  const pool: DoctorPool = {
    name: 'pool-abc-1',
    databaseServer: 'default',
    tenants: 30,
    processes: [
      { unit: 'web', state: 'running', pid: 10, processes: 4, memoryBytes: 700 * 1024 * 1024 },
      { unit: 'cron', state: 'running', pid: 11, processes: 3, memoryBytes: 200 * 1024 * 1024 },
    ],
    memoryBytes: 900 * 1024 * 1024,
    connections: { used: 12, budget: 80, serverMax: 900 },
    cron: { oldestDueAt: null, lagSeconds: null, unreadable: 0 },
  };

  it('prints tenants, processes, memory, connections of the budget and the cron lag', () => {
    expect(describePools([pool])).toEqual([
      '  pool-abc-1 on default: 30 tenant(s), 900 MiB',
      '      processes: web running (4 processes, 700 MiB), cron running (3 processes, 200 MiB)',
      '      connections: 12 used of a budget of 80 (server max_connections 900)',
      '      cron: no scheduled action due',
    ]);
  });

  it('prints the web workers of a pool sized by load', () => {
    const lines = describePools([{ ...pool, webWorkers: { min: 1, max: 4, target: 3, population: 2, alive: 2 } }]);
    expect(lines[2]).toBe('      web workers: 2 (sized by load between 1 and 4; load asks 3, 2 alive)');
    expect(lines[3]).toMatch(/^ {6}connections:/);
  });

  it('flags a pool whose due scheduled actions wait, and says what to look at', () => {
    const lines = describePools([{ ...pool, cron: { oldestDueAt: '2026-01-01T00:00:00.000Z', lagSeconds: 3600, unreadable: 1 } }]);
    expect(lines[0]).toMatch(/^! pool-abc-1/);
    expect(lines[3]).toBe(
      '      cron: oldest due scheduled action waiting 3600 s (since 2026-01-01T00:00:00.000Z); 1 tenant database(s) unreadable',
    );
    expect(lines[4]).toMatch(/to fix: look at the cron unit/);
    expect(describePools([])).toEqual(['  no Odoo pool is running']);
  });
});
