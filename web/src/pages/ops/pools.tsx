import { useQuery } from '@tanstack/react-query';
import { CapacityBar, EmptyState, PageHeader, QueryStatus, StateBadge } from '../../components/ui';
import { api } from '../../lib/api';
import { useTitle } from '../../lib/title';
import type { PoolReport } from '../../lib/types';

const MIB = 1024 * 1024;
/** Odoo wakes its cron workers every minute: a due job waiting longer than a few rounds is stuck. */
const CRON_LAG_WARNING_SECONDS = 300;

function mib(bytes: number | null): string {
  return bytes === null ? '?' : `${Math.round(bytes / MIB)} MiB`;
}

export function PoolsPage() {
  useTitle('Odoo pools');
  const pools = useQuery({ queryKey: ['pools'], queryFn: () => api.get<PoolReport[]>('/pools'), refetchInterval: 15_000 });
  return (
    <>
      <PageHeader
        title="Odoo pools"
        subtitle="Shared Odoo processes serving basic-plan tenants: their memory, PostgreSQL connections against the budget, and scheduled actions."
      />
      <QueryStatus query={pools} loading="Loading pools…" />
      {pools.data && pools.data.length === 0 ? (
        <EmptyState title="No Odoo pool is running">A pool starts with its first basic-plan tenant.</EmptyState>
      ) : null}
      {pools.data && pools.data.length > 0 ? (
        <ul className="server-grid">
          {pools.data.map((pool) => {
            const lag = pool.cron.lagSeconds;
            return (
              <li key={pool.name} className="card server" data-pool={pool.name}>
                <div className="server__head">
                  <h2 className="server__name">{pool.name}</h2>
                  <StateBadge state={pool.processes.every((p) => p.state === 'running') ? 'running' : 'failed'} />
                </div>
                <p className="muted small server__where">
                  {pool.tenants} tenant{pool.tenants === 1 ? '' : 's'} · on {pool.databaseServer}
                  {pool.odooSeries ? ` · Odoo ${pool.odooSeries}` : ''} · {mib(pool.memoryBytes)}
                </p>
                <ul className="small">
                  {pool.processes.map((p) => (
                    <li key={p.unit}>
                      {p.unit}: {p.state}, {p.processes} process{p.processes === 1 ? '' : 'es'}, {mib(p.memoryBytes)}
                    </li>
                  ))}
                </ul>
                {pool.webWorkers ? (
                  <p className="small">
                    {pool.webWorkers.population} web worker{pool.webWorkers.population === 1 ? '' : 's'}, sized by load between{' '}
                    {pool.webWorkers.min} and {pool.webWorkers.max} (load asks {pool.webWorkers.target}, {pool.webWorkers.alive} alive)
                  </p>
                ) : null}
                <CapacityBar
                  used={pool.connections.used ?? 0}
                  total={pool.connections.budget}
                  label={`PostgreSQL connections of ${pool.name} against its budget`}
                />
                <p className="small">
                  {pool.connections.used ?? '?'} of {pool.connections.budget} connections (server max {pool.connections.serverMax ?? '?'})
                </p>
                <p className={`small${lag !== null && lag > CRON_LAG_WARNING_SECONDS ? ' text-danger' : ''}`}>
                  {lag === null ? 'No scheduled action due' : `Oldest due scheduled action waiting ${lag} s`}
                  {pool.cron.unreadable > 0 ? ` · ${pool.cron.unreadable} tenant database(s) unreadable` : ''}
                </p>
              </li>
            );
          })}
        </ul>
      ) : null}
    </>
  );
}
