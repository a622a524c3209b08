import { CompiledQuery, type Transaction } from 'kysely';
import { PgBoss } from 'pg-boss';
import type { Database } from '../db/index.js';
import { type Logger, withLogCapture } from '../logging/index.js';
import { redactCredentials } from '../secrets/index.js';
import { JOB_CATALOG, type JobPayload, type JobPayloadInput, parseJobPayload, type QueueName } from './catalog.js';
import { createJobLogs, JOB_LOG_RETENTION_DAYS } from './logs.js';
import { currentProcessIdentity, isProvablyDead } from './process-identity.js';

/**
 * The one job runner: pg-boss queues in the platform database, so jobs survive a crash of any
 * replica and any replica may run them. Workers are woken by LISTEN/NOTIFY the moment a job is
 * sent (no polling delay on the provisioning path); polling remains as a backstop. A job whose
 * worker died stops sending heartbeats and is retried by whichever replica supervises next.
 * Each running attempt is also recorded with the identity of its process (job_claims), so a
 * platform starting on the same host fails over at once the jobs of a process it proves dead
 * (a crash and restart resumes work in seconds rather than after the heartbeat expiry).
 * Queues, their payloads, retries and timeouts are declared in JOB_CATALOG (catalog.ts).
 */
export interface JobAttempt {
  id: string;
  /** 0 on the first attempt. */
  retryCount: number;
}

export type JobHandler<Q extends QueueName> = (data: JobPayload<Q>, job: JobAttempt) => Promise<void>;

export const JOB_STATES = ['created', 'retry', 'active', 'completed', 'cancelled', 'failed'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** A job as the operator console shows it, whatever its queue. */
export interface JobRecord {
  id: string;
  queue: string;
  state: JobState;
  data: unknown;
  output: unknown;
  retryCount: number;
  createdOn: Date;
  startedOn: Date | null;
  completedOn: Date | null;
}

/**
 * A job as pg-boss stores it: what findJobs answers (it types `startedOn` as always set, but a
 * queued job has none) and what `list` selects from its table.
 */
interface StoredJob {
  id: string;
  name: string;
  state: JobState;
  data: unknown;
  output: unknown;
  retryCount: number;
  createdOn: Date | string;
  startedOn: Date | string | null;
  completedOn: Date | string | null;
}

function toJobRecord(job: StoredJob): JobRecord {
  return {
    id: job.id,
    queue: job.name,
    state: job.state,
    data: job.data,
    output: job.output,
    retryCount: job.retryCount,
    createdOn: new Date(job.createdOn),
    startedOn: job.startedOn ? new Date(job.startedOn) : null,
    completedOn: job.completedOn ? new Date(job.completedOn) : null,
  };
}

export interface JobListQuery {
  state?: JobState | undefined;
  queue?: string | undefined;
  limit?: number | undefined;
  /**
   * Only one tenant's jobs: those whose data carries its id (its operations) and those with
   * these ids (its backups, restores and migrations, whose data names their own row instead).
   */
  tenant?: { id: string; jobIds: string[] } | undefined;
}

export type JobQueue = ReturnType<typeof createJobQueue>;

/** An error's text for the job log, credentials masked as the logger masks them. */
function errorMessage(error: unknown): string {
  return redactCredentials(error instanceof Error ? error.message : String(error));
}

/** How many jobs of a queue wait, run, and failed for good (still retained), for metrics. */
export interface QueueCounts {
  queue: string;
  queued: number;
  active: number;
  failed: number;
}

/** Told of every attempt this replica ran: its queue, how long it took and how it ended (metrics). */
export type JobObserver = (queue: string, seconds: number, outcome: 'completed' | 'failed') => void;

export function createJobQueue(options: {
  connectionString: string;
  logger: Logger;
  superviseIntervalSeconds?: number;
  observe?: JobObserver;
}) {
  const boss = new PgBoss({
    connectionString: options.connectionString,
    schema: 'pgboss',
    useListenNotify: true,
    superviseIntervalSeconds: options.superviseIntervalSeconds ?? 5,
    monitorIntervalSeconds: options.superviseIntervalSeconds ?? 5,
    max: 6,
  });
  boss.on('error', (error: unknown) => options.logger.error({ err: error }, 'job queue error'));
  boss.on('warning', (warning: unknown) => options.logger.debug({ warning }, 'job queue warning'));
  const queues = new Set<string>();
  let started = false;
  const owner = currentProcessIdentity();
  const sql = (text: string, values: unknown[] = []) => boss.getDb().executeSql(text, values);
  const logs = createJobLogs({
    executeSql: sql,
    onError: (error) => options.logger.warn({ err: error }, 'could not write job log records'),
  });

  /** Fails (so retries, as pg-boss would after the heartbeat expiry) the attempts of dead processes. */
  async function failOverJobsOfDeadProcesses(): Promise<void> {
    // Claims whose attempt has ended another way (completed, failed over, expired) are done with.
    await sql(`DELETE FROM job_claims c WHERE NOT EXISTS (
      SELECT 1 FROM pgboss.job j WHERE j.id = c.job_id AND j.retry_count = c.retry_count AND j.state = 'active')`);
    const { rows } = await sql('SELECT job_id, queue, retry_count, owner FROM job_claims');
    for (const claim of rows as Array<{ job_id: string; queue: string; retry_count: number; owner: string }>) {
      if (claim.owner === owner || !isProvablyDead(claim.owner)) continue;
      // Fenced to the attempt: a retry that another replica has started meanwhile is not touched.
      // pg-boss types the answer as an empty interface; it carries the count of jobs it failed.
      const failed: { affected?: number } = await boss.fail(
        claim.queue,
        { id: claim.job_id, retryCount: claim.retry_count },
        { message: 'the platform process running this job died' },
      );
      await sql('DELETE FROM job_claims WHERE job_id = $1 AND retry_count = $2', [claim.job_id, claim.retry_count]);
      if ((failed.affected ?? 0) === 0) continue;
      // The retry delay backs off from a failing operation; a crash is not one: retry now, and wake
      // the workers (a delayed retry is otherwise found by polling only).
      await boss.update(claim.queue, undefined, { id: claim.job_id, startAfter: 0 });
      options.logger.info({ queue: claim.queue, jobId: claim.job_id }, 'job of a dead process failed over for a retry');
    }
  }

  /** Runs one attempt of a job, recorded as this process's for as long as it runs. */
  async function runClaimed(queue: string, job: { id: string; retryCount: number }, run: () => Promise<void>): Promise<void> {
    if (!owner) return run();
    await sql(
      `INSERT INTO job_claims (job_id, queue, retry_count, owner) VALUES ($1, $2, $3, $4)
       ON CONFLICT (job_id) DO UPDATE SET queue = EXCLUDED.queue, retry_count = EXCLUDED.retry_count, owner = EXCLUDED.owner, claimed_at = now()`,
      [job.id, queue, job.retryCount, owner],
    );
    try {
      await run();
    } finally {
      await sql('DELETE FROM job_claims WHERE job_id = $1 AND owner = $2', [job.id, owner]).catch((error: unknown) =>
        options.logger.warn({ err: error, jobId: job.id }, 'could not release a job claim'),
      );
    }
  }

  async function ensureQueue(queue: QueueName): Promise<void> {
    if (queues.has(queue)) return;
    const definition = JOB_CATALOG[queue];
    await boss.createQueue(queue, {
      policy: definition.keyed ? 'key_strict_fifo' : 'standard',
      notify: true,
      retryLimit: definition.retryLimit,
      retryDelay: definition.retryDelaySeconds,
      retryBackoff: true,
      expireInSeconds: definition.timeoutSeconds,
      heartbeatSeconds: 10,
    });
    queues.add(queue);
  }

  return {
    async start(): Promise<void> {
      await boss.start();
      started = true;
      await failOverJobsOfDeadProcesses().catch((error: unknown) =>
        options.logger.warn({ err: error }, 'could not fail over the jobs of dead processes; their heartbeats will expire'),
      );
    },

    /**
     * Registers a queue (and its schedule, when the catalog gives one) and, when `work` is true, a
     * worker for it on this replica. The handler gets the payload checked against the catalog.
     */
    async define<Q extends QueueName>(queue: Q, handler: JobHandler<Q>, work = true): Promise<void> {
      await ensureQueue(queue);
      const definition = JOB_CATALOG[queue];
      if (definition.schedule) await boss.schedule(queue, definition.schedule, {}, { tz: 'UTC' });
      if (!work) return;
      // One pg-boss worker per concurrency slot, each fetching one job at a time. A worker that
      // found a job asks for the next one at once instead of waiting for the poll: jobs sent in one
      // transaction announce themselves with a single NOTIFY, and a burst (fifty webhook
      // deliveries) would otherwise drain one job per poll interval.
      for (let slot = 0; slot < definition.concurrency; slot++) {
        let workerId = '';
        workerId = await boss.work(
          queue,
          { localConcurrency: 1, pollingIntervalSeconds: 2, notifyPollingIntervalSeconds: 10 },
          async ([job]) => {
            if (!job) return;
            const attempt: JobAttempt = { id: job.id, retryCount: job.retryCount };
            const number = job.retryCount + 1;
            const started = performance.now();
            const took = () => Math.round(performance.now() - started) / 1000;
            logs.note(job.id, queue, number, 'info', `attempt ${number} started`, owner ? { owner } : {});
            const captured = logs.capture(job.id, queue, number);
            try {
              // Whatever the platform logs while the attempt runs is the job's log too.
              await withLogCapture(captured.capture, () =>
                runClaimed(queue, attempt, () => handler(parseJobPayload(queue, job.data), attempt)),
              );
              options.observe?.(queue, took(), 'completed');
              logs.note(job.id, queue, number, 'info', `attempt ${number} completed in ${took()} s`);
            } catch (error) {
              options.observe?.(queue, took(), 'failed');
              options.logger.warn({ err: error, queue, jobId: job.id }, 'job failed');
              logs.note(job.id, queue, number, 'error', `attempt ${number} failed after ${took()} s: ${errorMessage(error)}`);
              throw error;
            } finally {
              captured.close();
              await logs.flush();
              boss.notifyWorker(workerId);
            }
          },
        );
      }
    },

    /**
     * Queues a job; `id` lets a caller record the job's id before a worker can pick the job up.
     * With `transaction`, the job is inserted on that transaction's connection: it exists (and
     * wakes the workers) only if the caller's change commits, so a change and its job are one unit.
     */
    async send<Q extends QueueName>(
      queue: Q,
      data: JobPayloadInput<Q>,
      sendOptions: { key?: string; startAfterSeconds?: number; id?: string; transaction?: Transaction<Database> | undefined } = {},
    ): Promise<string> {
      const trx = sendOptions.transaction;
      // Typed by the catalog already; checked anyway, so a payload forced past the types fails here, not in a worker.
      const id = await boss.send(queue, parseJobPayload(queue, data), {
        ...(trx
          ? { db: { executeSql: async (text: string, values?: unknown[]) => trx.executeQuery(CompiledQuery.raw(text, values ?? [])) } }
          : {}),
        ...(sendOptions.id ? { id: sendOptions.id } : {}),
        ...(sendOptions.key ? { singletonKey: sendOptions.key } : {}),
        ...(sendOptions.startAfterSeconds ? { startAfter: sendOptions.startAfterSeconds } : {}),
      });
      if (!id) throw new Error(`job not queued on ${queue}`);
      return id;
    },

    async find(queue: string, id: string): Promise<JobRecord | undefined> {
      const [job] = await boss.findJobs<unknown>(queue, { id });
      return job ? toJobRecord(job) : undefined;
    },

    /**
     * Recent jobs of every queue, newest first (the operator console's job list). pg-boss has no
     * cross-queue listing, so this reads its job table (partitioned by queue) directly.
     */
    async list(query: JobListQuery = {}): Promise<JobRecord[]> {
      const values: unknown[] = [];
      const where = ["name NOT LIKE '\\_\\_pgboss%'"];
      if (query.state) {
        values.push(query.state);
        where.push(`state::text = $${values.length}`);
      }
      if (query.queue) {
        values.push(query.queue);
        where.push(`name = $${values.length}`);
      }
      if (query.tenant) {
        values.push(query.tenant.id, query.tenant.jobIds);
        where.push(`(data->>'tenantId' = $${values.length - 1} OR id = ANY($${values.length}::uuid[]))`);
      }
      values.push(Math.min(Math.max(query.limit ?? 50, 1), 500));
      const { rows } = await boss.getDb().executeSql(
        `SELECT id, name, state::text AS state, data, output, retry_count AS "retryCount",
                created_on AS "createdOn", started_on AS "startedOn", completed_on AS "completedOn"
           FROM pgboss.job WHERE ${where.join(' AND ')} ORDER BY created_on DESC, id LIMIT $${values.length}`,
        values,
      );
      return (rows as StoredJob[]).map(toJobRecord);
    },

    /** Per queue: jobs queued, active and failed (as pg-boss's monitor last counted them). */
    async counts(): Promise<QueueCounts[]> {
      const stored = await boss.getQueues();
      return stored
        .filter((q) => !q.name.startsWith('__pgboss'))
        .map((q) => ({ queue: q.name, queued: q.queuedCount, active: q.activeCount, failed: q.failedCount }));
    },

    /** The log records of a job, after the cursor `after` (a record id), oldest first. */
    logs: (id: string, query: { after?: string | undefined; limit?: number | undefined } = {}) => logs.list(id, query),

    /** Deletes job log records older than the retention (14 days before `now`). */
    pruneLogs: (now = new Date()) => logs.prune(new Date(now.getTime() - JOB_LOG_RETENTION_DAYS * 86_400_000)),

    queues(): string[] {
      return [...queues];
    },

    async retry(queue: string, id: string): Promise<void> {
      await boss.retry(queue, id);
    },

    async stop(): Promise<void> {
      if (!started) return;
      started = false;
      await boss.stop({ graceful: true, timeout: 10_000 });
    },
  };
}
