/**
 * The PostgreSQL connections the process runtime's Odoo processes may hold, and the budget of a
 * database server. Pure arithmetic (docs/architecture.md, "Connection budget").
 *
 * Odoo keeps up to `db_maxconn` connections per process, across all the databases it serves
 * (odoo/sql_db.py ConnectionPool: idle ones are kept, the oldest idle one is closed when the pool
 * is full). Unbounded (Odoo's default 64) a pool's web workers kept one or more connections per
 * tenant they had served: 94 connections for 30 tenants, past a server's 300 at 100 tenants. So
 * every process the runtime starts gets a `db_maxconn`, and a server's tenants are counted in
 * processes, not databases:
 *
 * - a pool: HTTP workers + the evented (websocket) process (or one process when threaded) +
 *   the cron process's cron workers; one pool per `poolMaxTenants` tenants of a server;
 * - a dedicated tenant: one process when threaded, else its workers + evented + one cron worker.
 *
 * Prefork masters close their connections before forking (`odoo.sql_db.close_all`) and are not
 * counted. `RESERVED_CONNECTIONS` keeps room for PostgreSQL's superuser slots, the platform's own
 * connections to a server (DDL, clones, pg_dump) and its platform database when they share it.
 */

/** db_maxconn of every pool process: one request at a time per HTTP worker, bursts in the evented one. */
export const DEFAULT_POOL_DB_MAXCONN = 16;
/** db_maxconn of a dedicated (threaded) process: its concurrent requests. */
export const DEFAULT_DEDICATED_DB_MAXCONN = 16;
export const RESERVED_CONNECTIONS = 20;

export interface ConnectionShape {
  poolWorkers: number;
  poolCronProcess: boolean;
  poolCronWorkers: number;
  poolMaxTenants: number;
  poolDbMaxconn: number;
  dedicatedWorkers: number;
  dedicatedDbMaxconn: number;
}

export interface ConnectionCosts {
  /** Connections one pool may hold (all its processes). */
  perPool: number;
  poolMaxTenants: number;
  /** Connections one dedicated tenant's process(es) may hold. */
  perDedicatedTenant: number;
}

export function poolProcessCount(shape: Pick<ConnectionShape, 'poolWorkers' | 'poolCronProcess' | 'poolCronWorkers'>): number {
  const web = shape.poolWorkers > 0 ? shape.poolWorkers + 1 : 1;
  return web + (shape.poolCronProcess ? shape.poolCronWorkers : 0);
}

export function dedicatedProcessCount(dedicatedWorkers: number): number {
  return dedicatedWorkers > 0 ? dedicatedWorkers + 2 : 1;
}

export function connectionCosts(shape: ConnectionShape): ConnectionCosts {
  return {
    perPool: poolProcessCount(shape) * shape.poolDbMaxconn,
    poolMaxTenants: shape.poolMaxTenants,
    perDedicatedTenant: dedicatedProcessCount(shape.dedicatedWorkers) * shape.dedicatedDbMaxconn,
  };
}

/** Tenants of one server, by how their Odoo runs. */
export interface ServerTenants {
  poolTenants: number;
  dedicatedTenants: number;
}

/** Connections the Odoo processes of these tenants may hold at most. */
export function connectionsNeeded(tenants: ServerTenants, costs: ConnectionCosts): number {
  return Math.ceil(tenants.poolTenants / costs.poolMaxTenants) * costs.perPool + tenants.dedicatedTenants * costs.perDedicatedTenant;
}

/**
 * Why one more tenant does not fit in a server's `max_connections`, or undefined when it does.
 * A pool tenant costs nothing until it needs a new pool.
 */
export function connectionBudgetProblem(
  input: { maxConnections: number; tenants: ServerTenants; adding: 'pool' | 'dedicated' },
  costs: ConnectionCosts,
): string | undefined {
  const after: ServerTenants = {
    poolTenants: input.tenants.poolTenants + (input.adding === 'pool' ? 1 : 0),
    dedicatedTenants: input.tenants.dedicatedTenants + (input.adding === 'dedicated' ? 1 : 0),
  };
  const needed = connectionsNeeded(after, costs) + RESERVED_CONNECTIONS;
  if (needed <= input.maxConnections) return undefined;
  return (
    `its max_connections (${input.maxConnections}) is below what its Odoo processes may hold with one more ` +
    `${input.adding} tenant: ${needed} (${after.poolTenants} pool tenants in ${Math.ceil(after.poolTenants / costs.poolMaxTenants)} ` +
    `pool(s) x ${costs.perPool}, ${after.dedicatedTenants} dedicated x ${costs.perDedicatedTenant}, ${RESERVED_CONNECTIONS} reserved)`
  );
}

/** The max_connections a managed server needs for `capacity` tenants of any mix. */
export function requiredMaxConnections(capacity: number, costs: ConnectionCosts): number {
  const allPool = connectionsNeeded({ poolTenants: capacity, dedicatedTenants: 0 }, costs);
  const allDedicated = connectionsNeeded({ poolTenants: 0, dedicatedTenants: capacity }, costs);
  // A mix never needs more than the dearer of the two plus one pool.
  return RESERVED_CONNECTIONS + Math.max(allPool, allDedicated) + costs.perPool;
}
