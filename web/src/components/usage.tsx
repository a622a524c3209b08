import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { api } from '../lib/api';
import { formatDateTime, humanize } from '../lib/format';
import type { LimitStanding, TenantUsage, UsagePoint } from '../lib/types';
import { Notice, QueryStatus } from './ui';

/**
 * The Usage tab of an instance (customers and operators): internal users and storage over time,
 * each drawn with its plan limit on the same graph (uPlot), and what the plan enforces now.
 */
const RANGES = [
  { key: '24h', label: '24 hours', hours: 24 },
  { key: '7d', label: '7 days', hours: 7 * 24 },
  { key: '30d', label: '30 days', hours: 30 * 24 },
] as const;

const GiB = 1024 ** 3;

export function UsageTab({ name }: { name: string }) {
  const [range, setRange] = useState<(typeof RANGES)[number]['key']>('24h');
  const hours = RANGES.find((r) => r.key === range)?.hours ?? 24;
  const usage = useQuery({
    queryKey: ['tenant-usage', name, range],
    queryFn: () => {
      const to = new Date();
      const from = new Date(to.getTime() - hours * 3600_000);
      return api.get<TenantUsage>(`/tenants/${encodeURIComponent(name)}/usage?from=${from.toISOString()}&to=${to.toISOString()}`);
    },
    refetchInterval: 60_000,
  });
  const data = usage.data;
  return (
    <section className="card" aria-labelledby="usage-title">
      <div className="card__head">
        <h2 id="usage-title" className="card__title">
          Usage
        </h2>
        <fieldset className="inline-controls" aria-label="Range">
          {RANGES.map((r) => (
            <label key={r.key} className="checkbox">
              <input type="radio" name="usage-range" checked={range === r.key} onChange={() => setRange(r.key)} /> {r.label}
            </label>
          ))}
        </fieldset>
      </div>
      <QueryStatus query={usage} loading="Loading usage…" />
      {data ? (
        <>
          <Standings standings={data.standings} />
          <p className="muted small">
            Now: {data.odooUsers ?? '—'} of {data.limits.odooUsers} internal users,{' '}
            {((((data.databaseBytes ?? 0) + data.filestoreBytes) / GiB) as number).toFixed(2)} of{' '}
            {(data.limits.storageBytes / GiB).toFixed(0)} GiB. Measured every 5 minutes;{' '}
            {data.series.step === 'raw' ? 'each sample' : `the highest value of each ${data.series.step}`} is drawn.
          </p>
          {data.series.points.length === 0 ? (
            <p className="muted">No samples in this range yet.</p>
          ) : (
            <div className="usage-charts">
              <UsageChart
                title="Internal users"
                points={data.series.points}
                value={(p) => p.odooUsers}
                limit={data.limits.odooUsers}
                unit=""
              />
              <UsageChart
                title="Storage (GiB, database + files)"
                points={data.series.points}
                value={(p) => (p.storageBytes === null ? null : p.storageBytes / GiB)}
                limit={data.limits.storageBytes / GiB}
                unit=" GiB"
              />
            </div>
          )}
        </>
      ) : null}
    </section>
  );
}

function Standings({ standings }: { standings: LimitStanding[] }) {
  const notices = standings.filter((s) => s.level !== 'ok');
  return (
    <>
      {notices.map((s) => (
        <Notice key={s.resource} tone={s.level === 'warning' ? 'warn' : 'error'}>
          {humanize(s.resource)}: {s.percent} % of the plan's limit ({humanize(s.level)} since {formatDateTime(s.since)}).
          {s.blockNewUsers ? ' New internal users are refused until a user is archived or the plan is upgraded.' : ''}
          {s.readOnly ? ' The database is read-only until storage is freed or the plan is upgraded.' : ''}
        </Notice>
      ))}
    </>
  );
}

function UsageChart({
  title,
  points,
  value,
  limit,
  unit,
}: {
  title: string;
  points: UsagePoint[];
  value: (p: UsagePoint) => number | null;
  limit: number;
  unit: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const xs = points.map((p) => new Date(p.at).getTime() / 1000);
    const ys = points.map(value);
    const peak = Math.max(limit, ...ys.map((y) => y ?? 0));
    const chart = new uPlot(
      {
        width: Math.max(280, element.clientWidth),
        height: 220,
        scales: { y: { range: [0, peak * 1.15] } },
        axes: [{}, { values: (_u, ticks) => ticks.map((t) => `${Number(t.toFixed(2))}${unit}`), size: 70 }],
        series: [
          {},
          { label: 'used', stroke: '#2563eb', width: 2, fill: 'rgba(37, 99, 235, 0.08)' },
          { label: 'plan limit', stroke: '#dc2626', width: 2, dash: [6, 4], points: { show: false } },
        ],
      },
      [xs, ys, xs.map(() => limit)],
      element,
    );
    const resize = () => chart.setSize({ width: Math.max(280, element.clientWidth), height: 220 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      chart.destroy();
    };
  }, [points, value, limit, unit]);
  return (
    <figure className="usage-chart">
      <figcaption>{title}</figcaption>
      <div ref={host} role="img" aria-label={`${title}: ${points.length} points, plan limit ${Number(limit.toFixed(2))}${unit}`} />
    </figure>
  );
}
