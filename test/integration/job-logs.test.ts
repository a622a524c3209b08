import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, migrateToLatest } from '../../src/db/index.js';
import { createJobLogs, createJobQueue, type JobQueue, parseLogLine } from '../../src/jobs/index.js';
import { createLogger } from '../../src/logging/index.js';
import { waitFor } from '../helpers/gateway-client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';

/**
 * Each job's platform log against real pg-boss queues: what the platform logs while an attempt
 * runs (info and up, even from a silent logger, secrets redacted) is kept per job with the
 * attempts' start and end, in order, and pruned after its retention.
 */
let database: TestDatabase;
let jobs: JobQueue;
const logger = createLogger('silent');

beforeAll(async () => {
  database = await createTestDatabase('job_logs');
  const db = createDb(database.url);
  await migrateToLatest(db);
  await db.destroy();
  jobs = createJobQueue({ connectionString: database.url, logger });
  await jobs.start();
  await jobs.define('tenant-ops', async (data, attempt) => {
    logger.info({ tenantId: data.tenantId, step: 'copy', password: 'hunter2-never-kept' }, 'copying the database');
    logger.debug('a debug record is not kept');
    // Asynchronous work the attempt started is its log too.
    await new Promise((resolve) => setTimeout(resolve, 5));
    logger.warn({ tries: attempt.retryCount }, 'the copy was slow');
    if (attempt.retryCount === 0) throw new Error('could not reach postgres://admin:s3cret-pass@db.internal:5432/t1');
  });
});

afterAll(async () => {
  await jobs?.stop();
  await database?.drop();
});

describe('job logs', () => {
  it('keep what each attempt logged, between its start and its end, secrets redacted', async () => {
    const tenantId = randomUUID();
    const id = await jobs.send('tenant-ops', { tenantId, operation: 'start' }, { key: tenantId });
    await waitFor(
      'the retried job to complete',
      async () => ((await jobs.find('tenant-ops', id))?.state === 'completed' ? true : undefined),
      30_000,
      50,
    );
    const records = await jobs.logs(id);
    expect(records.map((r) => [r.attempt, r.level, r.message.replace(/[\d.]+ s\b/, 'N s')])).toEqual([
      [1, 'info', 'attempt 1 started'],
      [1, 'info', 'copying the database'],
      [1, 'warn', 'the copy was slow'],
      [1, 'error', expect.stringMatching(/^attempt 1 failed after N s: could not reach postgres:\/\/admin:/)],
      [2, 'info', 'attempt 2 started'],
      [2, 'info', 'copying the database'],
      [2, 'warn', 'the copy was slow'],
      [2, 'info', 'attempt 2 completed in N s'],
    ]);
    expect(records[1]?.fields).toMatchObject({ tenantId, step: 'copy', password: '[redacted]' });
    expect(JSON.stringify(records)).not.toContain('hunter2');
    expect(JSON.stringify(records)).not.toContain('s3cret-pass');
    // A cursor gives what follows it only; another job's log is its own.
    const [, second] = records;
    expect((await jobs.logs(id, { after: second?.id })).map((r) => r.id)).toEqual(records.slice(2).map((r) => r.id));
    expect(await jobs.logs(randomUUID())).toEqual([]);
  });

  it('are pruned after 14 days', async () => {
    const tenantId = randomUUID();
    const id = await jobs.send('tenant-ops', { tenantId, operation: 'stop' }, { key: tenantId });
    await waitFor(
      'the job to complete',
      async () => ((await jobs.find('tenant-ops', id))?.state === 'completed' ? true : undefined),
      30_000,
      50,
    );
    expect((await jobs.logs(id)).length).toBeGreaterThan(0);
    expect(await jobs.pruneLogs(new Date(Date.now() + 13 * 86_400_000))).toBe(0);
    expect(await jobs.pruneLogs(new Date(Date.now() + 15 * 86_400_000))).toBeGreaterThan(0);
    expect(await jobs.logs(id)).toEqual([]);
  });

  it('take nothing more once the attempt ended, though work it started still logs', async () => {
    const written: unknown[][] = [];
    const logs = createJobLogs({
      executeSql: async (_text, values) => {
        written.push(values ?? []);
        return { rows: [] };
      },
      onError: (error) => {
        throw error;
      },
    });
    const jobId = randomUUID();
    const captured = logs.capture(jobId, 'tenant-ops', 1);
    captured.capture(JSON.stringify({ level: 30, msg: 'during the attempt' }));
    captured.close();
    captured.capture(JSON.stringify({ level: 40, msg: 'an Odoo it started, restarting days later' }));
    await logs.flush();
    expect(written.map((values) => values[5])).toEqual([['during the attempt']]);
  });

  it('read pino lines: message with the error, scalar fields, nothing of pino itself', () => {
    const line = JSON.stringify({
      level: 50,
      time: '2026-01-02T03:04:05.000Z',
      pid: 1,
      hostname: 'h',
      service: 's',
      msg: 'boom',
      err: { message: 'why' },
      n: 3,
      nested: { a: 1 },
    });
    expect(parseLogLine(line)).toEqual({
      at: new Date('2026-01-02T03:04:05.000Z'),
      level: 'error',
      message: 'boom: why',
      fields: { n: 3 },
    });
    expect(parseLogLine('{"level":20,"msg":"debug"}')).toBeUndefined();
    expect(parseLogLine('not json')).toBeUndefined();
  });
});
