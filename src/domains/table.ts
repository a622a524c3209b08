/**
 * Each replica's in-memory map of routed custom domains, so the gateway classifies a host and the
 * TLS ask endpoint answers without a query. Kept true like the route table: subscribed to domain
 * events before the first load, reloading the one tenant an event is about.
 */
import type { Db } from '../db/index.js';
import type { DomainEventSubscriptions } from '../events/index.js';
import { tenantIdOf } from '../events/index.js';
import { routedDomains } from './store.js';

export interface DomainTable {
  /** The tenant name a routed domain belongs to. */
  resolve(hostname: string): string | undefined;
  /** The primary domain of a tenant, if it has one. */
  primaryOf(tenantName: string): string | undefined;
  reload(): Promise<void>;
  size(): number;
}

export async function createDomainTable(deps: { db: Db; events: DomainEventSubscriptions }): Promise<DomainTable> {
  const byDomain = new Map<string, { tenantId: string; tenantName: string }>();
  const primaryByTenant = new Map<string, { tenantId: string; domain: string }>();

  async function load(tenantId?: string): Promise<void> {
    const rows = await routedDomains(deps.db, tenantId);
    if (tenantId) {
      for (const [domain, entry] of byDomain) if (entry.tenantId === tenantId) byDomain.delete(domain);
      for (const [name, entry] of primaryByTenant) if (entry.tenantId === tenantId) primaryByTenant.delete(name);
    } else {
      byDomain.clear();
      primaryByTenant.clear();
    }
    for (const row of rows) {
      byDomain.set(row.domain, { tenantId: row.tenant_id, tenantName: row.tenant_name });
      if (row.is_primary) primaryByTenant.set(row.tenant_name, { tenantId: row.tenant_id, domain: row.domain });
    }
  }

  deps.events.subscribe('domain-table', async (event) => {
    // Domain changes, and a tenant deleted (its domains stop routing) or renamed by a reuse of its name.
    if (event.type === 'domain.changed' || event.type === 'tenant.deleted' || event.type === 'tenant.created') {
      const tenantId = tenantIdOf(event);
      if (tenantId) await load(tenantId);
    }
  });
  await load();

  return {
    resolve: (hostname) => byDomain.get(hostname)?.tenantName,
    primaryOf: (tenantName) => primaryByTenant.get(tenantName)?.domain,
    reload: () => load(),
    size: () => byDomain.size,
  };
}
