import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotificationHub, type NotificationHub } from '../../src/db/index.js';
import {
  createDomainEventBus,
  type DeliveredEvent,
  DOMAIN_EVENTS_CHANNEL,
  type DomainEventBus,
  publishDomainEvents,
  tenantIdOf,
} from '../../src/events/index.js';
import { createLogger } from '../../src/logging/index.js';
import { changeTenantState, recordTenantEvent } from '../../src/tenants/index.js';
import { waitFor } from '../helpers/gateway-client.js';
import { requestTenantAsOperator, startPlatformForTenantRequests, type TenantRequestsPlatform } from '../helpers/platform.js';

/**
 * The domain event outbox (events/): an event is written in the transaction of its change, and
 * delivered after commit, at least once, in commit order (so in order per tenant), by a delivery
 * loop that a new process on the same database can take over. Real PostgreSQL, real NOTIFY, real
 * tenants made through the API (no job workers: the tenants stay where the tests put them).
 */
let platform: TenantRequestsPlatform;
const logger = createLogger('silent');
/** Every hub and bus a test opens, closed at the end. */
const opened: Array<{ close(): Promise<void> }> = [];

const db = () => platform.test.platform.database.db;

async function openBus(): Promise<DomainEventBus> {
  const hub: NotificationHub = await createNotificationHub(platform.test.database.url, [DOMAIN_EVENTS_CHANNEL], logger);
  const bus = await createDomainEventBus({ db: db(), notifications: hub, logger, pollIntervalMs: 60_000 });
  opened.push({ close: () => bus.stop() }, hub);
  return bus;
}

/** A local subscriber that records what it is given. */
function collect(bus: DomainEventBus, name = 'collector'): DeliveredEvent[] {
  const seen: DeliveredEvent[] = [];
  bus.subscribe(name, (event) => void seen.push(event));
  return seen;
}

async function newTenant(): Promise<{ id: string; name: string }> {
  return requestTenantAsOperator(platform, 'evt');
}

async function outboxRows(tenantId: string): Promise<Array<{ id: number; type: string }>> {
  const rows = await db()
    .selectFrom('domain_events')
    .select(['id', 'type'])
    .where('stream', '=', `tenant:${tenantId}`)
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ id: Number(r.id), type: r.type }));
}

/** Resolves once `count` events of this tenant were delivered. */
function delivered(seen: DeliveredEvent[], tenantId: string, count: number): Promise<DeliveredEvent[]> {
  return waitFor(`${count} events of ${tenantId}`, async () => {
    const mine = seen.filter((e) => tenantIdOf(e) === tenantId);
    return mine.length >= count ? mine : undefined;
  });
}

beforeAll(async () => {
  platform = await startPlatformForTenantRequests('events');
});
afterAll(async () => {
  for (const item of opened.reverse()) await item.close();
  await platform?.test.stop();
});

describe('the domain event outbox', () => {
  it('writes a tenant creation as tenant.created and its first state change, in the transaction of the insert', async () => {
    const tenant = await newTenant();
    expect(await outboxRows(tenant.id)).toEqual([
      { id: expect.any(Number), type: 'tenant.created' },
      { id: expect.any(Number), type: 'tenant.state_changed' },
    ]);
  });

  it('delivers an event only once its change commits, with the change', async () => {
    const bus = await openBus();
    const seen = collect(bus);
    const tenant = await newTenant();
    await delivered(seen, tenant.id, 2);
    await db()
      .transaction()
      .execute(async (trx) => {
        await changeTenantState(trx, tenant.id, 'operation_failed', { reason: 'written by the test' });
        // Inside the transaction: another connection sees neither the change nor its event.
        const state = await db().selectFrom('tenants').select('state').where('id', '=', tenant.id).executeTakeFirstOrThrow();
        expect(state.state).toBe('provisioning');
        await bus.deliver();
        expect(seen.filter((e) => tenantIdOf(e) === tenant.id)).toHaveLength(2);
      });
    const [, , changed] = await delivered(seen, tenant.id, 3);
    expect(changed).toMatchObject({
      type: 'tenant.state_changed',
      stream: `tenant:${tenant.id}`,
      payload: { tenantId: tenant.id, fromState: 'provisioning', toState: 'error' },
    });
  });

  it('never delivers the event of a rolled-back change', async () => {
    const bus = await openBus();
    const seen = collect(bus);
    const tenant = await newTenant();
    await delivered(seen, tenant.id, 2);
    const before = await outboxRows(tenant.id);
    await expect(
      db()
        .transaction()
        .execute(async (trx) => {
          await changeTenantState(trx, tenant.id, 'operation_failed', { reason: 'rolled back' });
          throw new Error('the use case failed after the change');
        }),
    ).rejects.toThrow('the use case failed');
    // A later committed event is delivered; events are delivered in commit order, so had the
    // rolled-back one existed, it would have come first.
    await recordTenantEvent(db(), tenant.id, { type: 'info', message: 'after the rollback' });
    const mine = await delivered(seen, tenant.id, 3);
    expect(mine.map((e) => e.type)).toEqual(['tenant.created', 'tenant.state_changed', 'tenant.timeline_recorded']);
    expect((await outboxRows(tenant.id)).length).toBe(before.length + 1);
    const row = await db().selectFrom('tenants').select('state').where('id', '=', tenant.id).executeTakeFirstOrThrow();
    expect(row.state).toBe('provisioning');
  });

  it('delivers after a crash between commit and delivery: a new delivery loop on the same database hands it to the durable subscriber', async () => {
    const tenant = await newTenant();
    const first = await openBus();
    const firstSeen: DeliveredEvent[] = [];
    await first.subscribeDurable('test-mailer', (event) => void firstSeen.push(event));
    // The replica that would have delivered it stops (dies) before the change commits.
    await first.stop();
    await changeTenantState(db(), tenant.id, 'operation_failed', { reason: 'committed while no loop ran' });

    const second = await openBus();
    const secondSeen: DeliveredEvent[] = [];
    await second.subscribeDurable('test-mailer', (event) => void secondSeen.push(event));
    const [changed] = await delivered(secondSeen, tenant.id, 1);
    expect(changed).toMatchObject({ type: 'tenant.state_changed', payload: { tenantId: tenant.id, toState: 'error' } });
    expect(firstSeen).toEqual([]);
    // Delivered once: the cursor moved past it, a third loop (the second one gone) does not hand
    // it over again, only what came after.
    await second.stop();
    const third = await openBus();
    const thirdSeen: DeliveredEvent[] = [];
    await third.subscribeDurable('test-mailer', (event) => void thirdSeen.push(event));
    await recordTenantEvent(db(), tenant.id, { type: 'info', message: 'marker' });
    const [marker] = await delivered(thirdSeen, tenant.id, 1);
    expect(marker?.type).toBe('tenant.timeline_recorded');
    expect(thirdSeen.filter((e) => tenantIdOf(e) === tenant.id)).toHaveLength(1);
    // Retired, so it holds back no pruning.
    await db().deleteFrom('domain_event_cursors').where('subscriber', '=', 'test-mailer').execute();
  });

  it('retries a failing subscriber with the same event, in order, without holding back the others', async () => {
    const bus = await openBus();
    const steady = collect(bus, 'steady');
    const flaky: DeliveredEvent[] = [];
    let failuresLeft = 2;
    bus.subscribe('flaky', (event) => {
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        throw new Error('subscriber down');
      }
      flaky.push(event);
    });
    const tenant = await newTenant();
    await recordTenantEvent(db(), tenant.id, { type: 'info', message: 'one' });
    await delivered(steady, tenant.id, 3);
    const retried = await delivered(flaky, tenant.id, 3);
    // Later events of the tenant may still be arriving at either subscriber: compare what both have had.
    const steadyIds = steady.filter((e) => tenantIdOf(e) === tenant.id).map((e) => e.id);
    const retriedIds = retried.map((e) => e.id);
    const common = Math.min(steadyIds.length, retriedIds.length);
    expect(retriedIds.slice(0, common)).toEqual(steadyIds.slice(0, common));
    expect(failuresLeft).toBe(0);
  });

  it('never loses an event whose transaction drew its id first but committed last', async () => {
    const bus = await openBus();
    const seen = collect(bus);
    const [a, b] = [await newTenant(), await newTenant()];
    await delivered(seen, b.id, 2);
    let releaseFirst: () => void = () => undefined;
    const firstMayCommit = new Promise<void>((r) => {
      releaseFirst = r;
    });
    let firstWritten: () => void = () => undefined;
    const firstHasWritten = new Promise<void>((r) => {
      firstWritten = r;
    });
    const first = db()
      .transaction()
      .execute(async (trx) => {
        await publishDomainEvents(trx, { type: 'tenant.timeline_recorded', payload: { tenantId: a.id, eventId: -1, kind: 'info' } });
        firstWritten();
        await firstMayCommit;
      });
    await firstHasWritten;
    const second = db()
      .transaction()
      .execute(async (trx) => {
        await publishDomainEvents(trx, { type: 'tenant.timeline_recorded', payload: { tenantId: b.id, eventId: -2, kind: 'info' } });
      });
    // Either the second commits now, ahead of the first (a delivery loop must then not skip the
    // first one when it commits), or the outbox makes it wait for the first one's commit.
    const secondWaits = waitFor('the second writer to wait for the first', async () => {
      const { rows } = await sql<{ waiting: number }>`
        SELECT count(*)::int AS waiting FROM pg_locks
         WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`.execute(db());
      return (rows[0]?.waiting ?? 0) > 0 ? true : undefined;
    });
    await Promise.race([second, secondWaits]);
    await bus.deliver();
    releaseFirst();
    await first;
    await second;
    const fromA = await delivered(seen, a.id, 3);
    const fromB = await delivered(seen, b.id, 3);
    expect(fromA[2]?.payload).toMatchObject({ eventId: -1 });
    expect(fromB[2]?.payload).toMatchObject({ eventId: -2 });
    // Commit order is delivery order.
    expect((fromA[2]?.id ?? 0) < (fromB[2]?.id ?? 0)).toBe(true);
  });

  it('delivers each tenant’s events in the order they were written, with concurrent writers', async () => {
    const bus = await openBus();
    const seen = collect(bus);
    const tenants = [await newTenant(), await newTenant(), await newTenant()];
    await Promise.all(
      tenants.map(async (tenant) => {
        for (let i = 0; i < 8; i++) await recordTenantEvent(db(), tenant.id, { type: 'info', message: `step ${i}` });
      }),
    );
    for (const tenant of tenants) {
      const mine = await delivered(seen, tenant.id, 10);
      const timeline = await db().selectFrom('tenant_events').select('id').where('tenant_id', '=', tenant.id).orderBy('id').execute();
      const timelineIds = timeline.map((r) => Number(r.id));
      // tenant.created and the first state change both carry the first timeline entry.
      expect(mine.map((e) => ('eventId' in e.payload ? e.payload.eventId : undefined))).toEqual([timelineIds[0], ...timelineIds]);
      const ids = mine.map((e) => e.id);
      expect([...ids].sort((x, y) => x - y)).toEqual(ids);
    }
  });

  it('prunes delivered events after the retention, and keeps those a durable subscriber has not had', async () => {
    // Once the first tenant's events are handled, the subscriber fails (it is down) for the rest.
    let down = false;
    const bus = await openBus();
    const seen: DeliveredEvent[] = [];
    await bus.subscribeDurable('test-pruning', (event) => {
      if (down) throw new Error('not yet');
      seen.push(event);
    });
    const done = await newTenant();
    await delivered(seen, done.id, 2);
    down = true;
    const stuck = await newTenant();
    await bus.deliver();
    // The platform's own durable subscribers (mails, webhooks, spares) hold events back too,
    // rightly: on a loaded machine they may not have handled the first tenant's yet.
    const lastOfDone = Math.max(...(await outboxRows(done.id)).map((r) => r.id));
    await waitFor('every other durable subscriber past the first tenant', async () => {
      const behind = await db()
        .selectFrom('domain_event_cursors')
        .select('subscriber')
        .where('subscriber', '<>', 'test-pruning')
        .where('last_event_id', '<', String(lastOfDone))
        .execute();
      return behind.length === 0 ? true : undefined;
    });
    const later = new Date(Date.now() + 2 * 24 * 3600_000);
    await bus.prune(later);
    expect(await outboxRows(done.id)).toEqual([]);
    expect((await outboxRows(stuck.id)).map((r) => r.type)).toEqual(['tenant.created', 'tenant.state_changed']);
    await db().deleteFrom('domain_event_cursors').where('subscriber', '=', 'test-pruning').execute();
  });
});
