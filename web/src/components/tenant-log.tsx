import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../lib/api';
import { QueryStatus } from './ui';

const LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;
/** How far back to search; the log itself keeps its last 10,000 lines. */
const PERIODS = [
  { label: 'Any time', minutes: 0 },
  { label: 'Last 15 minutes', minutes: 15 },
  { label: 'Last hour', minutes: 60 },
  { label: 'Last 24 hours', minutes: 1440 },
] as const;

interface LogSearch {
  q: string;
  level: string;
  minutes: number;
}

function searchPath(name: string, search: LogSearch): string {
  const params = new URLSearchParams({ lines: '300' });
  if (search.q.trim()) params.set('q', search.q.trim());
  if (search.level) params.set('level', search.level);
  // Computed at each fetch, so a followed search keeps its window moving.
  if (search.minutes > 0) params.set('since', new Date(Date.now() - search.minutes * 60_000).toISOString());
  return `/tenants/${encodeURIComponent(name)}/logs?${params}`;
}

/** The tenant's Odoo log: searched by text, level and period, and followed live. */
export function TenantLog({ name }: { name: string }) {
  const [follow, setFollow] = useState(false);
  const [draft, setDraft] = useState('');
  const [search, setSearch] = useState<LogSearch>({ q: '', level: '', minutes: 0 });
  const logs = useQuery({
    queryKey: ['tenant-logs', name, search],
    queryFn: () => api.get<{ lines: string[]; records: unknown[] }>(searchPath(name, search)),
    refetchInterval: follow ? 3000 : false,
  });
  const filtered = search.q.trim() !== '' || search.level !== '' || search.minutes > 0;
  return (
    <section className="card" aria-labelledby="logs-title">
      <div className="card__head">
        <h2 id="logs-title" className="card__title">
          Odoo log
        </h2>
        <div className="inline-controls">
          <label className="checkbox">
            <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow
          </label>
          <button
            type="button"
            className="button button--small button--secondary"
            onClick={() => void logs.refetch()}
            disabled={logs.isFetching}
          >
            Refresh
          </button>
        </div>
      </div>
      <form
        className="filters"
        aria-label="Search the log"
        onSubmit={(e) => {
          e.preventDefault();
          setSearch({ ...search, q: draft });
        }}
      >
        <div className="field">
          <label htmlFor="log-text">Text</label>
          <input
            id="log-text"
            type="search"
            value={draft}
            maxLength={200}
            placeholder="e.g. Traceback"
            onChange={(e) => setDraft(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="log-level">Level</label>
          <select id="log-level" value={search.level} onChange={(e) => setSearch({ ...search, level: e.target.value })}>
            <option value="">Any</option>
            {LEVELS.map((level) => (
              <option key={level} value={level}>
                {level} and above
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="log-period">Period</label>
          <select id="log-period" value={search.minutes} onChange={(e) => setSearch({ ...search, minutes: Number(e.target.value) })}>
            {PERIODS.map((period) => (
              <option key={period.minutes} value={period.minutes}>
                {period.label}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" className="button button--small">
          Search
        </button>
      </form>
      <QueryStatus query={logs} loading="Loading the log…" />
      {logs.data && logs.data.lines.length === 0 ? (
        <p className="muted">{filtered ? 'Nothing matches this search.' : 'No log lines yet.'}</p>
      ) : null}
      {logs.data && logs.data.lines.length > 0 ? (
        <LogText label={filtered ? 'Matching records of the Odoo log' : 'Last lines of the Odoo log'} lines={logs.data.lines} />
      ) : null}
    </section>
  );
}

function LogText({ label, lines }: { label: string; lines: string[] }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: the log scrolls; keyboard users need to reach it.
    <pre className="log" role="log" aria-label={label} tabIndex={0}>
      {lines.join('\n')}
    </pre>
  );
}
