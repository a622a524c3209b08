/**
 * Each replica's in-memory map of the tenants the gateway holds to a limit (new internal users
 * refused, read-only), so the gateway decides without a query. Kept true like the route table:
 * subscribed to `usage.limit_changed` before the first load, reloading the one tenant an event is about.
 */
import type { Db } from '../db/index.js';
import type { DomainEventSubscriptions } from '../events/index.js';
import { restrictingStandings } from './store.js';

export interface TenantLimitRestrictions {
  userLimit?: number;
  readOnly?: boolean;
}

export interface LimitTable {
  restrictionsOf(tenantId: string): TenantLimitRestrictions | undefined;
  reload(tenantId?: string): Promise<void>;
}

export async function createLimitTable(deps: { db: Db; events: DomainEventSubscriptions }): Promise<LimitTable> {
  const byTenant = new Map<string, TenantLimitRestrictions>();

  async function load(tenantId?: string): Promise<void> {
    const rows = await restrictingStandings(tenantId, deps.db);
    if (tenantId) byTenant.delete(tenantId);
    else byTenant.clear();
    for (const row of rows) {
      const entry = byTenant.get(row.tenant_id) ?? {};
      if (row.block_new_users) entry.userLimit = row.limit_value;
      if (row.read_only) entry.readOnly = true;
      byTenant.set(row.tenant_id, entry);
    }
  }

  deps.events.subscribe('limit-table', async (event) => {
    if (event.type === 'usage.limit_changed') await load(event.payload.tenantId);
  });
  await load();

  return { restrictionsOf: (tenantId) => byTenant.get(tenantId), reload: load };
}
