import type { Db } from '../db/index.js';
import type { DomainEventSubscriptions } from '../events/index.js';
import type { Logger } from '../logging/index.js';
import { recordedUpstream, recordedUpstreams, type Upstream } from '../runtimes/index.js';
import { routableTenants, type TenantRouting, tenantRouting } from '../tenants/index.js';
import type { RouteConfirmer, RouteResolver, TenantRoute } from './types.js';

interface Entry {
  tenantId: string;
  tenantName: string;
  databaseName: string;
  state: string;
  /** Where the runtime serving the tenant recorded it answers (on any replica). */
  upstream: Upstream | undefined;
}

/**
 * The gateway's view of tenants, held in memory so routing costs no query. Every replica keeps
 * it true through the tenants' domain events (delivered after commit, at least once, in order:
 * a missed wake-up is made up by the event bus, not by reloading everything), so a state change
 * anywhere takes effect on the next request everywhere. Upstreams come from the database too
 * (recorded by whichever replica's runtime serves the tenant, with a `tenant.upstream_changed`
 * event), so a replica without workers routes tenants served by another.
 */
export async function createRouteTable(deps: {
  db: Db;
  events: DomainEventSubscriptions;
  logger: Logger;
}): Promise<{ resolve: RouteResolver; confirm: RouteConfirmer; reload(): Promise<void>; size(): number }> {
  const byName = new Map<string, Entry>();
  const nameById = new Map<string, string>();
  /** One database read per tenant at a time: a burst of page views shares it. */
  const confirming = new Map<string, Promise<void>>();

  function put(row: TenantRouting, upstream: Upstream | undefined): void {
    const previousName = nameById.get(row.id);
    if (previousName && previousName !== row.name) byName.delete(previousName);
    if (row.state === 'deleted') {
      // A deleted tenant's name may be taken again: only drop it if it is still ours.
      if (byName.get(row.name)?.tenantId === row.id) byName.delete(row.name);
      nameById.delete(row.id);
      return;
    }
    byName.set(row.name, { tenantId: row.id, tenantName: row.name, databaseName: row.database_name, state: row.state, upstream });
    nameById.set(row.id, row.name);
  }

  async function reload(): Promise<void> {
    const [rows, upstreams] = await Promise.all([routableTenants(deps.db), recordedUpstreams(deps.db)]);
    byName.clear();
    nameById.clear();
    for (const row of rows) put(row, upstreams.get(row.id));
  }

  async function reloadTenant(tenantId: string): Promise<void> {
    const [row, upstream] = await Promise.all([tenantRouting(tenantId, deps.db), recordedUpstream(deps.db, tenantId)]);
    if (row) put(row, upstream);
  }

  // Subscribed before the first load, so no change falls between the load and the first event.
  deps.events.subscribe('gateway-route-table', async (event) => {
    switch (event.type) {
      case 'tenant.state_changed': {
        // Apply the new state at once (before later subscribers such as event streams tell a
        // client "running"), then reload the row for anything else that changed.
        const known = byName.get(nameById.get(event.payload.tenantId) ?? '');
        if (known)
          put(
            { id: known.tenantId, name: known.tenantName, database_name: known.databaseName, state: event.payload.toState },
            known.upstream,
          );
        return reloadTenant(event.payload.tenantId);
      }
      case 'template.build_ready':
      case 'billing.subscription_changed':
      case 'billing.invoice_changed':
      case 'billing.payment_recorded':
      case 'billing.refund_changed':
        // Billing changes a tenant's route only through the tenant's own lifecycle events.
        return;
      default:
        // Any other entry on a tenant's timeline reloads it too (as a change written with it may
        // have touched the row): cheap, and a row fixed by hand is picked up with its next event.
        return reloadTenant(event.payload.tenantId);
    }
  });
  await reload();

  function resolve(tenantName: string): TenantRoute | undefined {
    const entry = byName.get(tenantName);
    if (!entry) return undefined;
    const { upstream, ...route } = entry;
    return { ...route, upstream: entry.state === 'running' ? upstream : undefined };
  }

  return {
    resolve,
    // Events reach the table a moment after their commit, so a client told "running" by the API
    // could still meet "being prepared". Before showing a known tenant a status page, the gateway
    // asks here, and the row is read again from the database.
    async confirm(route: TenantRoute): Promise<TenantRoute | undefined> {
      let reading = confirming.get(route.tenantId);
      if (!reading) {
        reading = reloadTenant(route.tenantId).finally(() => confirming.delete(route.tenantId));
        confirming.set(route.tenantId, reading);
      }
      await reading;
      return resolve(route.tenantName);
    },
    reload,
    size: () => byName.size,
  };
}
