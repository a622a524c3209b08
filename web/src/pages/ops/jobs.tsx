import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { DefinitionList, EmptyState, Loading, Notice, PageHeader, QueryStatus, StateBadge } from '../../components/ui';
import { ApiError, api, errorMessage, query } from '../../lib/api';
import { formatDateTime, formatRelative, formatSeconds } from '../../lib/format';
import { Link, setSearch, useLocation } from '../../lib/router';
import { useTitle } from '../../lib/title';
import type { Job, JobLog } from '../../lib/types';

const JOB_STATES = ['created', 'retry', 'active', 'completed', 'cancelled', 'failed'];

function took(job: Job): number | null {
  return job.startedOn && job.completedOn ? (new Date(job.completedOn).getTime() - new Date(job.startedOn).getTime()) / 1000 : null;
}

export function JobsPage() {
  useTitle('Jobs');
  const client = useQueryClient();
  const { search } = useLocation();
  const state = search.get('state') ?? '';
  const queue = search.get('queue') ?? '';
  const jobId = search.get('id') ?? '';
  const jobs = useQuery({
    queryKey: ['jobs', state, queue],
    queryFn: () => api.get<Job[]>(`/jobs${query({ state, queue, limit: 100 })}`),
    refetchInterval: 3000,
    placeholderData: (previous) => previous,
  });
  const [retried, setRetried] = useState<string | undefined>();
  const retry = useMutation({
    mutationFn: (id: string) => api.post(`/jobs/${id}/retry`),
    onSuccess: (_data, id) => {
      setRetried(id);
      void client.invalidateQueries({ queryKey: ['jobs'] });
    },
  });
  const queues = [...new Set((jobs.data ?? []).map((j) => j.queue))].sort();
  const counts: Record<string, number> = {};
  for (const job of jobs.data ?? []) counts[job.state] = (counts[job.state] ?? 0) + 1;

  return (
    <>
      <PageHeader
        title="Jobs"
        subtitle="Durable work: provisioning, lifecycle operations, template builds. Newest first, refreshed every few seconds."
      />
      {jobId ? <JobLookup id={jobId} /> : null}
      <form className="filters card" aria-label="Filter jobs" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="job-state">State</label>
          <select id="job-state" value={state} onChange={(e) => setSearch({ state: e.target.value || undefined })}>
            <option value="">Any</option>
            {JOB_STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="job-queue">Queue</label>
          <select id="job-queue" value={queue} onChange={(e) => setSearch({ queue: e.target.value || undefined })}>
            <option value="">Any</option>
            {[...new Set([...queues, queue].filter(Boolean))].map((q) => (
              <option key={q} value={q}>
                {q}
              </option>
            ))}
          </select>
        </div>
        <p className="filters__summary small" aria-live="polite">
          {Object.entries(counts)
            .map(([s, n]) => `${n} ${s}`)
            .join(' · ')}
        </p>
      </form>
      {retried ? <Notice tone="ok">Job {retried.slice(0, 8)} queued again.</Notice> : null}
      {retry.isError ? <Notice tone="error">{errorMessage(retry.error)}</Notice> : null}
      <QueryStatus query={jobs} loading="Loading jobs…" />
      {jobs.data && jobs.data.length === 0 ? (
        <EmptyState title="No jobs">
          {state || queue ? 'None match these filters.' : 'Jobs appear as tenants are created and changed.'}
        </EmptyState>
      ) : null}
      {jobs.data && jobs.data.length > 0 ? (
        <div className="table-wrap">
          <table className="table table--cards">
            <caption className="visually-hidden">Jobs</caption>
            <thead>
              <tr>
                <th scope="col">Queue</th>
                <th scope="col">State</th>
                <th scope="col">Tenant</th>
                <th scope="col">Created</th>
                <th scope="col">Took</th>
                <th scope="col">Retries</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {jobs.data.map((job) => (
                <tr key={job.id} data-job={job.id}>
                  <td data-label="Queue">
                    <Link to={`/ops/jobs?id=${job.id}`} title={job.id}>
                      {job.queue}
                    </Link>
                  </td>
                  <td data-label="State">
                    <StateBadge state={job.state} />
                    {job.error ? <div className="field__error small">{job.error}</div> : null}
                  </td>
                  <td data-label="Tenant">{job.tenant ? <Link to={`/ops/tenants/${job.tenant}`}>{job.tenant}</Link> : '—'}</td>
                  <td data-label="Created" title={formatDateTime(job.createdOn)}>
                    {formatRelative(job.createdOn)}
                  </td>
                  <td data-label="Took">{formatSeconds(took(job))}</td>
                  <td data-label="Retries">{job.retryCount}</td>
                  <td data-label="Actions">
                    {job.state === 'failed' ? (
                      <button
                        type="button"
                        className="button button--small button--secondary"
                        disabled={retry.isPending}
                        onClick={() => retry.mutate(job.id)}
                      >
                        Retry<span className="visually-hidden"> job {job.id}</span>
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}

function JobLookup({ id }: { id: string }) {
  const job = useQuery({
    queryKey: ['job', id],
    queryFn: () => api.get<Job>(`/jobs/${encodeURIComponent(id)}`),
    refetchInterval: (q) => (q.state.data && ['completed', 'failed', 'cancelled'].includes(q.state.data.state) ? false : 2000),
    retry: false,
  });
  return (
    <section className="card" aria-labelledby="job-title">
      <div className="card__head">
        <h2 id="job-title" className="card__title">
          Job <code>{id}</code>
        </h2>
        <button type="button" className="button button--small button--ghost" onClick={() => setSearch({ id: undefined })}>
          Close
        </button>
      </div>
      {job.isPending ? <Loading /> : null}
      {job.isError ? (
        <p className="field__error">
          {job.error instanceof ApiError && job.error.status === 404
            ? 'No such job (finished jobs are kept for a while only).'
            : errorMessage(job.error)}
        </p>
      ) : null}
      {job.data ? (
        <DefinitionList
          items={[
            ['Queue', job.data.queue],
            ['State', <StateBadge key="s" state={job.data.state} />],
            [
              'Tenant',
              job.data.tenant ? (
                <Link key="t" to={`/ops/tenants/${job.data.tenant}`}>
                  {job.data.tenant}
                </Link>
              ) : (
                '—'
              ),
            ],
            ['Created', formatDateTime(job.data.createdOn)],
            ['Started', formatDateTime(job.data.startedOn)],
            ['Completed', formatDateTime(job.data.completedOn)],
            ['Retries', String(job.data.retryCount)],
          ]}
        />
      ) : null}
      <JobLogPanel id={id} running={!job.data || !FINAL_STATES.includes(job.data.state)} />
    </section>
  );
}

const FINAL_STATES = ['completed', 'failed', 'cancelled'];

/** The job's platform log (kept 14 days), followed while the job runs. */
function JobLogPanel({ id, running }: { id: string; running: boolean }) {
  const log = useQuery({
    queryKey: ['job-log', id],
    queryFn: () => api.get<JobLog>(`/jobs/${encodeURIComponent(id)}/logs?limit=1000`),
    refetchInterval: running ? 2000 : false,
    retry: false,
  });
  const lines = (log.data?.records ?? []).map(
    (r) =>
      `${formatDateTime(r.at)}  #${r.attempt} ${r.level.toUpperCase().padEnd(5)} ${r.message}` +
      (Object.keys(r.fields).length > 0
        ? `  ${Object.entries(r.fields)
            .map(([k, v]) => `${k}=${String(v)}`)
            .join(' ')}`
        : ''),
  );
  return (
    <div className="job-log">
      <h3 className="card__title">Platform log{running ? ' (following)' : ''}</h3>
      {log.isPending ? <Loading /> : null}
      {log.isError ? (
        <p className="muted">
          {log.error instanceof ApiError && log.error.status === 404
            ? 'No log for this job (logs are kept 14 days).'
            : errorMessage(log.error)}
        </p>
      ) : null}
      {log.data && lines.length === 0 ? <p className="muted">Nothing logged yet.</p> : null}
      {lines.length > 0 ? (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the log scrolls; keyboard users need to reach it.
        <pre className="log" role="log" aria-label={`Platform log of job ${id}`} tabIndex={0}>
          {lines.join('\n')}
        </pre>
      ) : null}
    </div>
  );
}
