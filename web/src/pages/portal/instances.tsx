import { useQuery } from '@tanstack/react-query';
import { TenantActions } from '../../components/tenant-actions';
import { EmptyState, PageHeader, QueryStatus, StateBadge } from '../../components/ui';
import { api } from '../../lib/api';
import { formatRelative } from '../../lib/format';
import { Link } from '../../lib/router';
import { listRefetchInterval } from '../../lib/tenants';
import { useTitle } from '../../lib/title';
import type { Tenant } from '../../lib/types';

export function InstancesPage() {
  useTitle('Instances');
  const tenants = useQuery({
    queryKey: ['tenants', 'mine'],
    queryFn: () => api.get<Tenant[]>('/tenants?limit=200'),
    refetchInterval: (q) => listRefetchInterval(q.state.data),
  });

  return (
    <>
      <PageHeader title="Instances" subtitle="Your Odoo instances. Status updates live.">
        <Link to="/instances/import" className="button button--secondary">
          Import a backup
        </Link>
        <Link to="/instances/new" className="button button--primary">
          Create instance
        </Link>
      </PageHeader>
      <QueryStatus query={tenants} loading="Loading your instances…" />
      {tenants.data && tenants.data.length === 0 ? (
        <EmptyState
          title="No instances yet"
          action={
            <Link to="/instances/new" className="button button--primary">
              Create your first instance
            </Link>
          }
        >
          Pick a name, a starting template and a plan: your Odoo is ready in seconds.
        </EmptyState>
      ) : null}
      {tenants.data && tenants.data.length > 0 ? (
        <div className="table-wrap">
          <table className="table table--cards">
            <caption className="visually-hidden">Your instances</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Plan</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {tenants.data.map((tenant) => (
                <tr key={tenant.id} data-tenant={tenant.name}>
                  <td data-label="Name">
                    <Link to={`/instances/${tenant.name}`} className="strong">
                      {tenant.name}
                    </Link>
                    <div className="muted small">{tenant.hostName}</div>
                  </td>
                  <td data-label="Status">
                    <StateBadge state={tenant.state} />
                  </td>
                  <td data-label="Plan">{tenant.plan}</td>
                  <td data-label="Created">{formatRelative(tenant.createdAt)}</td>
                  <td data-label="Actions">
                    <div className="row-actions">
                      {tenant.state === 'running' ? (
                        <a className="button button--small button--secondary" href={tenant.url} target="_blank" rel="noopener noreferrer">
                          Open<span className="visually-hidden"> {tenant.name} (new tab)</span>
                        </a>
                      ) : null}
                      <TenantActions tenant={tenant} compact />
                    </div>
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
