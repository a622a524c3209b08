import { sql } from 'kysely';
import type { TenantRow } from '../../db/index.js';
import { updateTenant } from '../../tenants/index.js';
import { connectionRoomProblem } from '../connection-room.js';
import type { PlacementContext } from '../context.js';
import { loadTenant, type ProvisioningDependencies } from '../dependencies.js';
import type { Step } from '../runner.js';

/**
 * Chooses the tenant's database server: a staging copy goes on its source's server (it is
 * cloned with CREATE DATABASE ... TEMPLATE source), a dedicated-server plan gets a new managed
 * server, anything else the least-loaded active shared server with a ready template whose
 * connection budget has room for it (docs/architecture.md, "Connection budget").
 */
export const placementStep: Step<PlacementContext, 'placement'> = {
  name: 'placement',
  async run(context) {
    if (!context.tenant.server_id) context.tenant = await place(context);
  },
  async endStateProblems({ tenant }) {
    return tenant.server_id ? [] : ['no database server is chosen'];
  },
};

async function place({ deps, tenant, plan }: PlacementContext): Promise<TenantRow> {
  const { db, servers } = deps;
  if (tenant.source_tenant_id) {
    const source = await loadTenant(db, tenant.source_tenant_id);
    if (!source?.server_id) throw new Error('The tenant to duplicate has no database any more.');
    return updateTenant(tenant.id, { server_id: source.server_id }, db);
  }
  // Serialise placement across replicas so two creations never take the last slot of a server.
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext('tenant-placement'))`.execute(trx);
    const serverId =
      plan.placement.databaseStrategy === 'dedicated'
        ? (await servers.createDedicated(tenant.name)).id
        : await leastLoadedSharedServer(deps, tenant.template_code, plan.placement.processStrategy);
    return updateTenant(tenant.id, { server_id: serverId }, trx);
  });
}

async function leastLoadedSharedServer(
  deps: ProvisioningDependencies,
  templateCode: string,
  processStrategy: 'pool' | 'dedicated',
): Promise<string> {
  const ready = new Set(await deps.templates.readyServers(templateCode));
  const candidates = (await deps.servers.list()).filter(
    (s) => s.kind === 'shared' && s.status === 'active' && s.tenantCount < s.capacity && ready.has(s.id),
  );
  candidates.sort((a, b) => a.tenantCount / a.capacity - b.tenantCount / b.capacity);
  if (candidates.length === 0) throw new Error(`No shared database server has room and a ready "${templateCode}" template.`);
  const refusals: string[] = [];
  for (const candidate of candidates) {
    const problem = await connectionRoomProblem(deps, candidate.id, processStrategy);
    if (!problem) return candidate.id;
    refusals.push(`${candidate.name}: ${problem}`);
  }
  throw new Error(
    `No shared database server has connections left for another ${processStrategy} tenant (${refusals.join('; ')}). ` +
      'An operator must add a database server (saasctl servers add) or raise its max_connections.',
  );
}
