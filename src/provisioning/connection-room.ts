import type { Db } from '../db/index.js';
import type { DatabaseServerRegistry } from '../postgres/index.js';
import { withConnection } from '../postgres/index.js';
import { type ConnectionCosts, connectionBudgetProblem } from '../runtimes/index.js';
import { tenantCountsPerProcessOnServer } from '../tenants/index.js';

/**
 * Why a database server's max_connections has no room for one more tenant whose Odoo runs
 * `adding`, or undefined when it has (docs/architecture.md, "Connection budget"). Shared by
 * placement (a new tenant) and migration (a tenant moved there, or changing its process strategy
 * there: `exceptTenantId` leaves that tenant's current place out of the count). Tenants are
 * counted by their own process strategy, which an operator's move may have set apart from the plan's.
 */
export async function connectionRoomProblem(
  deps: { db: Db; servers: Pick<DatabaseServerRegistry, 'adminUrl'>; connectionCosts?: ConnectionCosts | undefined },
  serverId: string,
  adding: 'pool' | 'dedicated',
  exceptTenantId?: string,
): Promise<string | undefined> {
  const costs = deps.connectionCosts;
  if (!costs) return undefined;
  const tenants = await tenantCountsPerProcessOnServer(serverId, deps.db, exceptTenantId);
  const maxConnections = await withConnection(await deps.servers.adminUrl(serverId), async (client) => {
    const result = await client.query<{ max_connections: string }>('SHOW max_connections');
    return Number(result.rows[0]?.max_connections);
  });
  return connectionBudgetProblem({ maxConnections, tenants, adding }, costs);
}
