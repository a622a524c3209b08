import { useQuery } from '@tanstack/react-query';
import { CapacityBar, ErrorState, Loading, PageHeader, StateBadge } from '../../components/ui';
import { api } from '../../lib/api';
import { formatSeconds, humanize, percentile } from '../../lib/format';
import { Link } from '../../lib/router';
import { useTitle } from '../../lib/title';
import type { DatabaseServer, Job, OperatorTemplate, Tenant } from '../../lib/types';

/** Every tenant (not deleted), page by page: the stats are computed here from the tenant list. */
async function allTenants(): Promise<Tenant[]> {
  const pageSize = 500;
  const all: Tenant[] = [];
  for (let offset = 0; offset < 100_000; offset += pageSize) {
    const page = await api.get<Tenant[]>(`/tenants?limit=${pageSize}&offset=${offset}`);
    all.push(...page);
    if (page.length < pageSize) break;
  }
  return all;
}

function countBy<T>(items: T[], key: (item: T) => string): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]);
}

function BarList({
  title,
  rows,
  total,
  linkFor,
}: {
  title: string;
  rows: Array<[string, number]>;
  total: number;
  linkFor: (key: string) => string;
}) {
  return (
    <section className="card" aria-labelledby={`${title}-title`}>
      <h2 id={`${title}-title`} className="card__title">
        {humanize(title)}
      </h2>
      {rows.length === 0 ? <p className="muted">No tenants yet.</p> : null}
      <ul className="bars">
        {rows.map(([key, count]) => (
          <li key={key} className="bars__row">
            <Link to={linkFor(key)} className="bars__label">
              {humanize(key)}
            </Link>
            <span className="bars__track" aria-hidden="true">
              <span className="bars__fill" style={{ width: `${total ? (count / total) * 100 : 0}%` }} />
            </span>
            <span className="bars__value">{count}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function OverviewPage() {
  useTitle('Overview');
  const tenants = useQuery({ queryKey: ['tenants', 'all-for-stats'], queryFn: allTenants, refetchInterval: 10_000 });
  const servers = useQuery({ queryKey: ['database-servers'], queryFn: () => api.get<DatabaseServer[]>('/database-servers') });
  const templates = useQuery({ queryKey: ['templates'], queryFn: () => api.get<OperatorTemplate[]>('/templates') });
  const failedJobs = useQuery({
    queryKey: ['jobs', 'failed', ''],
    queryFn: () => api.get<Job[]>('/jobs?state=failed&limit=100'),
    refetchInterval: 10_000,
  });

  if (tenants.isPending) return <Loading label="Computing platform stats…" />;
  if (tenants.isError) return <ErrorState error={tenants.error} onRetry={() => void tenants.refetch()} />;
  const list = tenants.data;
  const byState = countBy(list, (t) => t.state);
  const byPlan = countBy(list, (t) => t.plan);
  const times = list.map((t) => t.provisionSeconds).filter((s): s is number => s !== null);
  const recent = [...list]
    .filter((t) => t.provisionSeconds !== null)
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
    .slice(0, 8);
  const maxRecent = Math.max(0.001, ...recent.map((t) => t.provisionSeconds ?? 0));
  const count = (state: string) => list.filter((t) => t.state === state).length;
  const capacity = (servers.data ?? []).reduce((sum, s) => ({ used: sum.used + s.tenantCount, total: sum.total + s.capacity }), {
    used: 0,
    total: 0,
  });
  const readyTemplates = (templates.data ?? []).filter((t) => t.builds.some((b) => b.status === 'ready')).length;

  return (
    <>
      <PageHeader title="Overview" subtitle="The platform at a glance." />
      <ul className="stat-grid">
        <li className="card stat">
          <span className="stat__value">{list.length}</span>
          <Link to="/ops/tenants" className="stat__label">
            tenants
          </Link>
        </li>
        <li className="card stat">
          <span className="stat__value stat__value--ok">{count('running')}</span>
          <Link to="/ops/tenants?state=running" className="stat__label">
            running
          </Link>
        </li>
        <li className="card stat">
          <span className="stat__value">{count('provisioning') + count('starting')}</span>
          <span className="stat__label">being set up</span>
        </li>
        <li className="card stat">
          <span className={`stat__value${count('error') ? ' stat__value--danger' : ''}`}>{count('error')}</span>
          <Link to="/ops/tenants?state=error" className="stat__label">
            in error
          </Link>
        </li>
        <li className="card stat">
          <span className={`stat__value${failedJobs.data?.length ? ' stat__value--danger' : ''}`}>{failedJobs.data?.length ?? '…'}</span>
          <Link to="/ops/jobs?state=failed" className="stat__label">
            failed jobs
          </Link>
        </li>
        <li className="card stat">
          <span className="stat__value">
            {readyTemplates}/{templates.data?.length ?? '…'}
          </span>
          <Link to="/ops/templates" className="stat__label">
            templates ready
          </Link>
        </li>
      </ul>
      <div className="two-col">
        <BarList title="tenants_by_state" rows={byState} total={list.length} linkFor={(state) => `/ops/tenants?state=${state}`} />
        <BarList title="tenants_by_plan" rows={byPlan} total={list.length} linkFor={(plan) => `/ops/tenants?plan=${plan}`} />
      </div>
      <div className="two-col">
        <section className="card" aria-labelledby="provisioning-title">
          <h2 id="provisioning-title" className="card__title">
            Provisioning time
          </h2>
          <p className="muted small">From the create request to a working admin login.</p>
          <dl className="kpis">
            <div>
              <dt>median</dt>
              <dd>{formatSeconds(percentile(times, 50))}</dd>
            </div>
            <div>
              <dt>p95</dt>
              <dd>{formatSeconds(percentile(times, 95))}</dd>
            </div>
            <div>
              <dt>slowest</dt>
              <dd>{formatSeconds(times.length ? Math.max(...times) : null)}</dd>
            </div>
            <div>
              <dt>tenants</dt>
              <dd>{times.length}</dd>
            </div>
          </dl>
          {recent.length > 0 ? (
            <ul className="bars" aria-label="Most recent tenants">
              {recent.map((t) => (
                <li key={t.id} className="bars__row">
                  <Link to={`/ops/tenants/${t.name}`} className="bars__label">
                    {t.name}
                  </Link>
                  <span className="bars__track" aria-hidden="true">
                    <span className="bars__fill" style={{ width: `${((t.provisionSeconds ?? 0) / maxRecent) * 100}%` }} />
                  </span>
                  <span className="bars__value">{formatSeconds(t.provisionSeconds)}</span>
                </li>
              ))}
            </ul>
          ) : null}
        </section>
        <section className="card" aria-labelledby="capacity-title">
          <h2 id="capacity-title" className="card__title">
            Database capacity
          </h2>
          <CapacityBar used={capacity.used} total={capacity.total} label="Tenants on all database servers" />
          <ul className="plain-list">
            {(servers.data ?? []).map((server) => (
              <li key={server.id} className="server-line">
                <span className="strong">{server.name}</span> <StateBadge state={server.status} />
                <CapacityBar used={server.tenantCount} total={server.capacity} label={`Tenants on ${server.name}`} />
              </li>
            ))}
          </ul>
          <Link to="/ops/servers">Manage servers</Link>
        </section>
      </div>
    </>
  );
}
