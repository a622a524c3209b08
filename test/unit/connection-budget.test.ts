import { describe, expect, it } from 'vitest';
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
