/**
 * The recorded upstreams (`tenant_upstreams`; this module is the table's only reader and
 * writer): where each served tenant's Odoo answers, written by the replica whose runtime serves
 * it, so the gateway of any replica routes any tenant. A change publishes
 * `tenant.upstream_changed` in its transaction, so every replica's route table reloads it.
 */
import type { Db } from '../db/index.js';
import { publishDomainEvents } from '../events/index.js';
import type { RuntimeKind, Upstream } from './types.js';

function sameUpstream(a: Upstream | undefined, b: Upstream | undefined): boolean {
  return a?.host === b?.host && a?.port === b?.port && a?.websocketPort === b?.websocketPort;
}

function toUpstream(row: { host: string; port: number; websocket_port: number | null }): Upstream {
  return row.websocket_port === null
    ? { host: row.host, port: row.port }
    : { host: row.host, port: row.port, websocketPort: row.websocket_port };
}

/**
 * Records where the tenant is served (`undefined`: not served any more). `unless` makes the
 * clearing conditional: only a record still equal to it is removed (a replica shutting down
 * must not erase what another runtime recorded since). Nothing is written, and no event
 * published, when the record already says so.
 */
export async function recordUpstream(
  db: Db,
  tenantId: string,
  runtime: RuntimeKind,
  upstream: Upstream | undefined,
  options: { onlyIfStill?: Upstream } = {},
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const current = await trx.selectFrom('tenant_upstreams').selectAll().where('tenant_id', '=', tenantId).forUpdate().executeTakeFirst();
    const recorded = current && toUpstream(current);
    if (sameUpstream(recorded, upstream) && (upstream === undefined || current?.runtime === runtime)) return;
    if (options.onlyIfStill && !sameUpstream(recorded, options.onlyIfStill)) return;
    if (upstream) {
      const values = { runtime, host: upstream.host, port: upstream.port, websocket_port: upstream.websocketPort ?? null };
      const exists = await trx.selectFrom('tenants').select('id').where('id', '=', tenantId).executeTakeFirst();
      // A tenant deleted meanwhile has nothing to route to (and its row is what the record hangs on).
      if (!exists) return;
      await trx
        .insertInto('tenant_upstreams')
        .values({ tenant_id: tenantId, ...values })
        .onConflict((c) => c.column('tenant_id').doUpdateSet({ ...values, recorded_at: new Date() }))
        .execute();
    } else {
      await trx.deleteFrom('tenant_upstreams').where('tenant_id', '=', tenantId).execute();
    }
    await publishDomainEvents(trx, { type: 'tenant.upstream_changed', payload: { tenantId } });
  });
}

/** Every recorded upstream, by tenant id (the route table's first load). */
export async function recordedUpstreams(db: Db): Promise<Map<string, Upstream>> {
  const rows = await db.selectFrom('tenant_upstreams').selectAll().execute();
  return new Map(rows.map((row) => [row.tenant_id, toUpstream(row)]));
}

/** The recorded upstream of one tenant, if it is served. */
export async function recordedUpstream(db: Db, tenantId: string): Promise<Upstream | undefined> {
  const row = await db.selectFrom('tenant_upstreams').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  return row && toUpstream(row);
}
