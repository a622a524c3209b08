import { useQuery } from '@tanstack/react-query';
import { api } from '../lib/api';
import { formatDateTime, humanize } from '../lib/format';
import { Link } from '../lib/router';
import type { TenantJob } from '../lib/types';
import { ErrorState, Loading, StateBadge } from './ui';

const RUNNING = ['created', 'retry', 'active'];

function logLine(record: TenantJob['logs'][number]): string {
  const fields = Object.entries(record.fields)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(' ');
  return `${formatDateTime(record.at)}  #${record.attempt} ${record.level.toUpperCase().padEnd(5)} ${record.message}${fields ? `  ${fields}` : ''}`;
}

/**
 * The jobs behind a tenant's timeline (operators): its operations, backups, restores and
 * migrations, newest first, each with the platform's log lines of its attempts (the first 200;
 * the whole log is on the job's page). Followed while one of them runs.
 */
export function TenantJobs({ name }: { name: string }) {
  const jobs = useQuery({
    queryKey: ['tenant-jobs', name],
    queryFn: () => api.get<TenantJob[]>(`/tenants/${encodeURIComponent(name)}/jobs`),
    refetchInterval: (query) => (query.state.data?.some((job) => RUNNING.includes(job.state)) ? 2000 : false),
  });
  return (
    <section className="card" aria-labelledby="tenant-jobs-title">
      <h2 id="tenant-jobs-title" className="card__title">
        Jobs
      </h2>
      {jobs.isPending ? <Loading /> : null}
      {jobs.isError ? <ErrorState error={jobs.error} onRetry={() => void jobs.refetch()} /> : null}
      {jobs.data?.length === 0 ? <p className="muted">No jobs for this tenant yet.</p> : null}
      {jobs.data && jobs.data.length > 0 ? (
        <ul className="tenant-jobs" aria-label="Jobs of this tenant">
          {jobs.data.map((job) => (
            <li key={job.id} data-job={job.id}>
              <details>
                <summary>
                  <StateBadge state={job.state} /> {humanize(job.queue)} · {formatDateTime(job.createdOn)} · {job.logs.length}
                  {job.moreLogs ? '+' : ''} log line{job.logs.length === 1 ? '' : 's'}
                </summary>
                {job.error ? <p className="field__error">{job.error}</p> : null}
                {job.logs.length > 0 ? (
                  // biome-ignore lint/a11y/noNoninteractiveTabindex: the log scrolls; keyboard users need to reach it.
                  <pre className="log" role="log" aria-label={`Platform log of job ${job.id}`} tabIndex={0}>
                    {job.logs.map(logLine).join('\n')}
                  </pre>
                ) : (
                  <p className="muted small">Nothing logged (logs are kept 14 days).</p>
                )}
                <p className="small">
                  <Link to={`/ops/jobs?id=${job.id}`}>{job.moreLogs ? 'The whole log' : 'The job'}</Link>
                </p>
              </details>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
