import type { Command } from 'commander';
import type { ApiClient } from './client.js';

interface Io {
  client(): ApiClient;
  printJson(value: unknown): void;
  printTable(rows: Record<string, string | number>[]): void;
}

interface JobListItem {
  id: string;
  queue: string;
  state: string;
  retryCount: number;
  createdOn: string;
  completedOn: string | null;
  tenant: string | null;
  error: string | null;
}

interface JobLog {
  jobId: string;
  state: string | null;
  records: Array<{ id: string; attempt: number; at: string; level: string; message: string; fields: Record<string, unknown> }>;
  next: string | null;
}

const FINAL_STATES = new Set(['completed', 'failed', 'cancelled']);
const when = (iso: string) => iso.slice(0, 19).replace('T', ' ');

function printRecord(record: JobLog['records'][number]): void {
  const fields = Object.entries(record.fields)
    .map(([key, value]) => `${key}=${typeof value === 'string' && /\s/.test(value) ? JSON.stringify(value) : String(value)}`)
    .join(' ');
  const stream = record.level === 'info' ? process.stdout : process.stderr;
  stream.write(
    `${when(record.at)} #${record.attempt} ${record.level.toUpperCase().padEnd(5)} ${record.message}${fields ? `  ${fields}` : ''}\n`,
  );
}

/** `saasctl jobs`: the durable jobs of every queue, and each job's platform log. */
export function registerJobCommands(program: Command, io: Io): void {
  const jobs = program.command('jobs').description('Durable jobs (provisioning, backups, builds...) and their platform logs');

  jobs
    .command('list')
    .description('Recent jobs of every queue, newest first')
    .option('--state <state>', 'created, retry, active, completed, cancelled or failed')
    .option('--queue <queue>', 'only this queue (e.g. tenant-ops)')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'machine-readable output')
    .action(async (options: { state?: string; queue?: string; limit: string; json?: boolean }) => {
      const query = new URLSearchParams({ limit: options.limit });
      if (options.state) query.set('state', options.state);
      if (options.queue) query.set('queue', options.queue);
      const list = await io.client().get<JobListItem[]>(`/jobs?${query}`);
      if (options.json) return io.printJson(list);
      if (list.length === 0) return void process.stdout.write('No jobs.\n');
      io.printTable(
        list.map((job) => ({
          id: job.id,
          queue: job.queue,
          state: job.state,
          tenant: job.tenant ?? '',
          created: when(job.createdOn),
          retries: job.retryCount,
          ...(job.error ? { error: job.error.split('\n')[0] ?? '' } : {}),
        })),
      );
    });

  jobs
    .command('logs <id>')
    .description("A job's platform log (kept 14 days); --follow waits for new records until the job ends")
    .option('-f, --follow', 'keep printing new records until the job is completed, failed or cancelled')
    .option('--interval <seconds>', 'how often to look for new records when following', '1')
    .option('--json', 'machine-readable output (one JSON record per line)')
    .action(async (id: string, options: { follow?: boolean; interval: string; json?: boolean }) => {
      const intervalMs = Math.max(0.2, Number(options.interval) || 1) * 1000;
      let after: string | null = null;
      for (;;) {
        const page: JobLog = await io.client().get<JobLog>(`/jobs/${encodeURIComponent(id)}/logs${after ? `?after=${after}` : ''}`);
        for (const record of page.records) {
          if (options.json) process.stdout.write(`${JSON.stringify(record)}\n`);
          else printRecord(record);
        }
        after = page.next;
        // A full page: more may be waiting already.
        if (page.records.length >= 500) continue;
        if (!options.follow || page.state === null || FINAL_STATES.has(page.state)) {
          if (!options.json && options.follow) process.stderr.write(`Job ${id} is ${page.state ?? 'gone'}.\n`);
          if (page.state === 'failed') process.exitCode = 1;
          return;
        }
        // Polling: the API has no event stream for job logs.
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    });
}
