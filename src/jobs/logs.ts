/**
 * Each job's own log (table `job_logs`, owned here): the records the platform logged while an
 * attempt ran (captured from the platform logger, so already redacted), and the attempt's start
 * and end. Written in batches off the job's path; kept 14 days (the `job-logs-prune` job).
 */
import { type LogCapture, outsideLogCapture } from '../logging/index.js';

export const JOB_LOG_RETENTION_DAYS = 14;
/** A runaway job must not fill the table: records past this many per attempt are counted, not kept. */
export const MAX_RECORDS_PER_ATTEMPT = 2000;
const MAX_MESSAGE = 4000;
const MAX_FIELD = 500;

export const JOB_LOG_LEVELS = ['info', 'warn', 'error', 'fatal'] as const;
export type JobLogLevel = (typeof JOB_LOG_LEVELS)[number];

export interface JobLogRecord {
  id: string;
  attempt: number;
  at: Date;
  level: JobLogLevel;
  message: string;
  fields: Record<string, string | number | boolean>;
}

type ExecuteSql = (text: string, values?: unknown[]) => Promise<{ rows: unknown[] }>;

const PINO_LEVELS: Record<number, JobLogLevel> = { 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
/** pino's own keys, not the record's facts. */
const HOUSEKEEPING = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service', 'err', 'v']);

/** One captured pino line as a job log record; undefined for what is not a record of ours. */
export function parseLogLine(line: string): Omit<JobLogRecord, 'id' | 'attempt'> | undefined {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const level = PINO_LEVELS[Number(parsed.level)];
  if (!level) return undefined;
  const err = parsed.err as { message?: unknown } | undefined;
  const text = typeof parsed.msg === 'string' ? parsed.msg : '';
  const message = err && typeof err.message === 'string' ? `${text}: ${err.message}` : text;
  const fields: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (HOUSEKEEPING.has(key)) continue;
    if (typeof value === 'string') fields[key] = value.slice(0, MAX_FIELD);
    else if (typeof value === 'number' || typeof value === 'boolean') fields[key] = value;
  }
  const at = typeof parsed.time === 'string' || typeof parsed.time === 'number' ? new Date(parsed.time) : new Date();
  return { at: Number.isNaN(at.getTime()) ? new Date() : at, level, message: message.slice(0, MAX_MESSAGE), fields };
}

interface Pending {
  jobId: string;
  queue: string;
  attempt: number;
  record: Omit<JobLogRecord, 'id' | 'attempt'>;
}

export function createJobLogs(options: { executeSql: ExecuteSql; onError: (error: unknown) => void }) {
  let pending: Pending[] = [];
  let flushing: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  async function write(batch: Pending[]): Promise<void> {
    if (batch.length === 0) return;
    await options.executeSql(
      `INSERT INTO job_logs (job_id, queue, attempt, at, level, message, fields)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::timestamptz[], $5::text[], $6::text[], $7::jsonb[])`,
      [
        batch.map((p) => p.jobId),
        batch.map((p) => p.queue),
        batch.map((p) => p.attempt),
        batch.map((p) => p.record.at.toISOString()),
        batch.map((p) => p.record.level),
        batch.map((p) => p.record.message),
        batch.map((p) => JSON.stringify(p.record.fields)),
      ],
    );
  }

  /** Writes what is pending (one batch at a time, in order); failures are reported, not thrown. */
  function flush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const batch = pending;
    pending = [];
    flushing = flushing.then(() => write(batch)).catch(options.onError);
    return flushing;
  }

  function add(entry: Pending): void {
    pending.push(entry);
    // Outside the attempt's capture: a failed write's warning must not become a record to write.
    timer ??= outsideLogCapture(() => setTimeout(() => void flush(), 250));
    timer.unref?.();
  }

  return {
    /**
     * Where an attempt's captured records go (see logging's withLogCapture), until `close`: work
     * the attempt started may outlive it (an Odoo process it launched logs its restarts for days)
     * and must not write into a finished job's log.
     */
    capture(jobId: string, queue: string, attempt: number): { capture: LogCapture; close(): void } {
      let kept = 0;
      let dropped = 0;
      let closed = false;
      const capture: LogCapture = (line) => {
        if (closed) return;
        const record = parseLogLine(line);
        if (!record) return;
        if (kept >= MAX_RECORDS_PER_ATTEMPT) {
          dropped += 1;
          if (dropped === 1)
            add({
              jobId,
              queue,
              attempt,
              record: {
                ...record,
                level: 'warn',
                message: `more than ${MAX_RECORDS_PER_ATTEMPT} records: the rest are not kept`,
                fields: {},
              },
            });
          return;
        }
        kept += 1;
        add({ jobId, queue, attempt, record });
      };
      return {
        capture,
        close: () => {
          closed = true;
        },
      };
    },

    /** A record of the job runner itself (attempt started, completed, failed). */
    note(jobId: string, queue: string, attempt: number, level: JobLogLevel, message: string, fields: JobLogRecord['fields'] = {}): void {
      add({ jobId, queue, attempt, record: { at: new Date(), level, message: message.slice(0, MAX_MESSAGE), fields } });
    },

    flush,

    /** Records of a job after the record `after` (a cursor for following), oldest first. */
    async list(jobId: string, query: { after?: string | undefined; limit?: number | undefined } = {}): Promise<JobLogRecord[]> {
      const { rows } = await options.executeSql(
        `SELECT id::text AS id, attempt, at, level, message, fields FROM job_logs
          WHERE job_id = $1 AND job_logs.id > $2::bigint ORDER BY job_logs.id LIMIT $3`,
        [jobId, query.after ?? '0', Math.min(Math.max(query.limit ?? 500, 1), 1000)],
      );
      return (rows as Array<Omit<JobLogRecord, 'at'> & { at: Date | string }>).map((row) => ({ ...row, at: new Date(row.at) }));
    },

    /** Deletes records older than `before`; answers how many. */
    async prune(before: Date): Promise<number> {
      const { rows } = await options.executeSql(
        'WITH gone AS (DELETE FROM job_logs WHERE at < $1 RETURNING 1) SELECT count(*)::int AS n FROM gone',
        [before.toISOString()],
      );
      return (rows[0] as { n: number } | undefined)?.n ?? 0;
    },
  };
}

export type JobLogs = ReturnType<typeof createJobLogs>;
