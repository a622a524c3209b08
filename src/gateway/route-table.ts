import type { Db, NotificationHub } from '../db/index.js';
import type { Logger } from '../logging/index.js';
import type { Upstream } from '../runtimes/index.js';
import { TENANT_EVENTS_CHANNEL } from '../tenants/index.js';
import type { RouteResolver, TenantRoute } from './types.js';

interface Entry {
  tenantId: string;
  tenantName: string;
  databaseName: string;
  state: string;
}

/**
 * The gateway's view of tenants, held in memory so routing costs no query. Every replica keeps
 * it true through PostgreSQL NOTIFY (each tenant event reloads that tenant) and reloads it whole
 * after a reconnect, so a state change anywhere takes effect on the next request everywhere.
 */
export async function createRouteTable(deps: {
  db: Db;
  notifications: NotificationHub;
  upstreamOf: (tenantId: string) => Upstream | undefined;
  logger: Logger;
}): Promise<{ resolve: RouteResolver; reload(): Promise<void>; size(): number }> {
  const byName = new Map<string, Entry>();
  const nameById = new Map<string, string>();

  function put(row: { id: string; name: string; database_name: string; state: string }): void {
    const previousName = nameById.get(row.id);
    if (previousName && previousName !== row.name) byName.delete(previousName);
    if (row.state === 'deleted') {
      // A deleted tenant's name may be taken again: only drop it if it is still ours.
      if (byName.get(row.name)?.tenantId === row.id) byName.delete(row.name);
      nameById.delete(row.id);
      return;
    }
    byName.set(row.name, { tenantId: row.id, tenantName: row.name, databaseName: row.database_name, state: row.state });
    nameById.set(row.id, row.name);
  }

  async function reload(): Promise<void> {
    const rows = await deps.db
      .selectFrom('tenants')
      .select(['id', 'name', 'database_name', 'state'])
      .where('state', '<>', 'deleted')
      .execute();
    byName.clear();
    nameById.clear();
    for (const row of rows) put(row);
  }

  async function reloadTenant(tenantId: string): Promise<void> {
    const row = await deps.db
      .selectFrom('tenants')
      .select(['id', 'name', 'database_name', 'state'])
      .where('id', '=', tenantId)
      .executeTakeFirst();
    if (row) put(row);
  }

  deps.notifications.subscribe(TENANT_EVENTS_CHANNEL, (payload) => {
    let message: { tenantId?: string; state?: string };
    try {
      message = JSON.parse(payload) as { tenantId?: string; state?: string };
    } catch {
      return;
    }
    const tenantId = message.tenantId;
    // Apply a new state at once (synchronously, before other listeners such as event streams
    // tell a client "running"), then reload the row for anything else that changed.
    const known = tenantId ? byName.get(nameById.get(tenantId) ?? '') : undefined;
    if (known && message.state)
      put({ id: known.tenantId, name: known.tenantName, database_name: known.databaseName, state: message.state });
    if (tenantId) reloadTenant(tenantId).catch((error: unknown) => deps.logger.warn({ err: error }, 'route reload failed'));
  });
  deps.notifications.onReconnect(() => {
    reload().catch((error: unknown) => deps.logger.warn({ err: error }, 'route table reload failed'));
  });
  await reload();

  return {
    resolve(tenantName: string): TenantRoute | undefined {
      const entry = byName.get(tenantName);
      if (!entry) return undefined;
      return { ...entry, upstream: entry.state === 'running' ? deps.upstreamOf(entry.tenantId) : undefined };
    },
    reload,
    size: () => byName.size,
  };
}
