import { randomUUID } from 'node:crypto';
import { PgBoss } from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, migrateToLatest } from '../../src/db/index.js';
import { createJobQueue, InvalidJobPayloadError, type JobPayload, type JobQueue, type JobRecord } from '../../src/jobs/index.js';
import { createLogger } from '../../src/logging/index.js';
import { waitFor } from '../helpers/gateway-client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

/**
 * The job catalog against real pg-boss queues in a real database: what a queue accepts is
 * declared once (JOB_CATALOG), `send` refuses anything else, and a worker checks what it receives,
 * because a job may come from elsewhere (an older release, a hand-made row, another sender).
 */
let database: TestDatabase;
let jobs: JobQueue;
/** A sender that knows nothing of the catalog, on the same queues. */
let foreign: PgBoss;
const received: Array<JobPayload<'tenant-ops'>> = [];

beforeAll(async () => {
  database = await createTestDatabase('job_catalog');
  const db = createDb(database.url);
  await migrateToLatest(db); // job_claims
  await db.destroy();
  jobs = createJobQueue({ connectionString: database.url, logger: createLogger('silent') });
  await jobs.start();
  await jobs.define('tenant-ops', async (data) => void received.push(data));
  foreign = new PgBoss({ connectionString: database.url, schema: 'pgboss' });
  foreign.on('error', () => undefined);
  await foreign.start();
});

afterAll(async () => {
  await foreign?.stop({ graceful: false });
  await jobs?.stop();
  await database?.drop();
});

async function settled(queue: string, id: string): Promise<JobRecord> {
  return waitFor(
    `job ${id} to leave the queue`,
    async () => {
      const job = await jobs.find(queue, id);
      return job && ['retry', 'failed', 'completed'].includes(job.state) ? job : undefined;
    },
    20_000,
    50,
  );
}

describe('the job catalog', () => {
  it('delivers a payload of the declared shape to the worker of its queue', async () => {
    const tenantId = randomUUID();
    const id = await jobs.send('tenant-ops', { tenantId, operation: 'start' }, { key: tenantId });
    const job = await settled('tenant-ops', id);
    expect(job).toMatchObject({ id, queue: 'tenant-ops', state: 'completed', retryCount: 0 });
    expect(job.createdOn).toBeInstanceOf(Date);
    expect(received).toContainEqual({ tenantId, operation: 'start' });
  });

  it('fails a received job whose payload is malformed, naming the fields, before the handler sees it', async () => {
    const tenantId = 'not-a-tenant-id';
    const id = await foreign.send('tenant-ops', { tenantId, operation: 'explode' }, { singletonKey: 'foreign' });
    expect(id).toBeTruthy();
    const job = await settled('tenant-ops', id ?? '');
    expect(['retry', 'failed']).toContain(job.state);
    const message = (job.output as { message?: string }).message ?? '';
    expect(message).toContain('Invalid tenant-ops job payload');
    expect(message).toMatch(/tenantId: /);
    expect(message).toMatch(/operation: /);
    expect(received.some((payload) => payload.tenantId === tenantId)).toBe(false);
  });

  it('refuses to send a payload of the wrong shape or to an unknown queue (a type error, and checked at run time)', async () => {
    // @ts-expect-error: a spare refill names a server, not a tenant
    await expect(jobs.send('spare-refill', { tenantId: randomUUID() })).rejects.toThrow(InvalidJobPayloadError);
    // @ts-expect-error: no such operation
    await expect(jobs.send('tenant-ops', { tenantId: randomUUID(), operation: 'explode' })).rejects.toThrow(/operation: /);
    // @ts-expect-error: no such queue in the catalog
    await expect(jobs.send('no-such-queue', {})).rejects.toThrow('No job queue "no-such-queue" in the catalog.');
  });

  it('works through a burst sent in one transaction (one NOTIFY) without waiting for the poll between jobs', async () => {
    const db = createDb(database.url);
    const tenantIds: string[] = Array.from({ length: 12 }, () => randomUUID());
    try {
      const ids = await db
        .transaction()
        .execute((transaction) =>
          Promise.all(
            tenantIds.map((tenantId) => jobs.send('tenant-ops', { tenantId, operation: 'stop' }, { key: tenantId, transaction })),
          ),
        );
      // Four workers and twelve jobs: without fetching again after a job, the last eight would
      // each wait for the 10 s backstop poll, far past this bound.
      const states = await waitFor(
        'every job of the burst to complete',
        async () => {
          const found = await Promise.all(ids.map((id) => jobs.find('tenant-ops', id)));
          return found.every((job) => job?.state === 'completed') ? found.map((job) => job?.state) : undefined;
        },
        8_000,
        50,
      );
      expect(states).toEqual(ids.map(() => 'completed'));
      expect(received.filter((payload) => tenantIds.includes(payload.tenantId))).toHaveLength(12);
    } finally {
      await db.destroy();
    }
  });

  it('lists jobs of every queue as the same record find gives', async () => {
    const [listed] = await jobs.list({ queue: 'tenant-ops', state: 'completed', limit: 1 });
    expect(listed).toBeDefined();
    const found = await jobs.find('tenant-ops', listed?.id ?? '');
    expect(found).toEqual(listed);
  });
});
