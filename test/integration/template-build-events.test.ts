import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishDomainEvents } from '../../src/events/index.js';
import { waitFor } from '../helpers/gateway-client.js';
import { startPlatformForTenantRequests, type TenantRequestsPlatform } from '../helpers/platform.js';

/**
 * A template build that becomes ready is told as a domain event (`template.build_ready`), and the
 * spares of provisioning/ follow it with a durable subscriber that queues a refill of that
 * server's spares: no callback from templates/ into provisioning/. Real platform, real outbox,
 * real pg-boss queue (no job workers: the refill job stays queued where the test can see it).
 */
let platform: TenantRequestsPlatform;
const db = () => platform.test.platform.database.db;

async function refillJobsFor(serverId: string): Promise<number> {
  const result = await sql<{ count: string }>`
    SELECT count(*) AS count FROM pgboss.job WHERE name = 'spare-refill' AND data->>'serverId' = ${serverId}`.execute(db());
  return Number(result.rows[0]?.count ?? 0);
}

beforeAll(async () => {
  platform = await startPlatformForTenantRequests('tplevents');
});

afterAll(async () => {
  await platform?.test.stop();
});

/** Publishes a build-ready event for this server, in a transaction of its own (or one that rolls back). */
async function publishBuildReady(serverId: string, options: { rollBack?: boolean } = {}): Promise<void> {
  const rolledBack = new Error('rolled back on purpose');
  const publishing = db()
    .transaction()
    .execute(async (trx) => {
      await publishDomainEvents(trx, {
        type: 'template.build_ready',
        payload: { templateCode: 'blank', databaseServerId: serverId, databaseName: `tpl_blank_${serverId.slice(0, 8)}` },
      });
      if (options.rollBack) throw rolledBack;
    });
  if (options.rollBack) await expect(publishing).rejects.toBe(rolledBack);
  else await publishing;
}

/** Publishes a later event and waits for its refill: events are delivered in order, so any earlier one was handled by then. */
async function deliveredUpToHere(): Promise<void> {
  const witness = randomUUID();
  await publishBuildReady(witness);
  await waitFor('the witness refill job', async () => ((await refillJobsFor(witness)) > 0 ? true : undefined));
}

describe('template.build_ready', () => {
  it('queues one refill of the spares of the server the build is on', async () => {
    const serverId = randomUUID();
    await publishBuildReady(serverId);
    await deliveredUpToHere();
    expect(await refillJobsFor(serverId)).toBe(1);
  });

  it('is not delivered for a build whose transaction rolled back', async () => {
    const serverId = randomUUID();
    await publishBuildReady(serverId, { rollBack: true });
    await deliveredUpToHere();
    expect(await refillJobsFor(serverId)).toBe(0);
  });
});
