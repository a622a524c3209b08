import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { DrainButton } from '../../components/drain';
import { CapacityBar, EmptyState, PageHeader, QueryStatus, StateBadge } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { formatRelative } from '../../lib/format';
import { Field, FormError, SelectField, useForm } from '../../lib/forms';
import { Link } from '../../lib/router';
import { useTitle } from '../../lib/title';
import type { DatabaseServer } from '../../lib/types';

export function ServersPage() {
  useTitle('Database servers');
  const client = useQueryClient();
  const servers = useQuery({
    queryKey: ['database-servers'],
    queryFn: () => api.get<DatabaseServer[]>('/database-servers'),
    refetchInterval: 15_000,
  });
  const [adding, setAdding] = useState(false);
  const update = useMutation({
    mutationFn: ({ id, status }: { id: string; status: DatabaseServer['status'] }) =>
      api.patch<DatabaseServer>(`/database-servers/${id}`, { status }),
    onSuccess: (server) =>
      client.setQueryData<DatabaseServer[]>(['database-servers'], (list) => list?.map((s) => (s.id === server.id ? server : s))),
  });
  const totals = (servers.data ?? []).reduce((sum, s) => ({ used: sum.used + s.tenantCount, capacity: sum.capacity + s.capacity }), {
    used: 0,
    capacity: 0,
  });

  return (
    <>
      <PageHeader
        title="Database servers"
        subtitle="PostgreSQL servers tenants are placed on. New tenants go to the least-loaded active server."
      >
        <button type="button" className="button button--primary" aria-expanded={adding} onClick={() => setAdding((open) => !open)}>
          {adding ? 'Close' : 'Add a server'}
        </button>
      </PageHeader>
      {adding ? <AddServerForm onDone={() => setAdding(false)} /> : null}
      <QueryStatus query={servers} loading="Loading servers…" />
      {servers.data && servers.data.length === 0 ? (
        <EmptyState title="No database servers">Add one to place tenants on it.</EmptyState>
      ) : null}
      {servers.data && servers.data.length > 0 ? (
        <>
          <div className="card summary-card">
            <span className="summary-card__label">All servers</span>
            <CapacityBar used={totals.used} total={totals.capacity} label="Tenants on all servers" />
          </div>
          <ul className="server-grid">
            {servers.data.map((server) => (
              <li key={server.id} className="card server" data-server={server.name}>
                <div className="server__head">
                  <h2 className="server__name">{server.name}</h2>
                  <StateBadge state={server.status} />
                  {server.hibernatedAt ? <StateBadge state="hibernated" label="Hibernated" /> : null}
                </div>
                <p className="muted small server__where">
                  {server.host}:{server.port} · {server.kind}
                  {server.isDefault ? ' · default' : ''}
                  {server.managed ? ' · managed by the platform' : ''}
                  {server.hibernatedAt
                    ? ` · stopped by hibernation since ${new Date(server.hibernatedAt).toLocaleString()} (the next request or backup wakes it)`
                    : ''}
                </p>
                <CapacityBar used={server.tenantCount} total={server.capacity} label={`Tenants on ${server.name}`} />
                <div className="server__foot">
                  <Link to={`/ops/tenants?server=${server.id}`}>
                    {server.tenantCount} tenant{server.tenantCount === 1 ? '' : 's'}
                  </Link>
                  <span className="muted small">added {formatRelative(server.createdAt)}</span>
                  <DrainButton server={server} />
                  {server.status === 'active' ? (
                    <button
                      type="button"
                      className="button button--small button--secondary"
                      disabled={update.isPending}
                      onClick={() => update.mutate({ id: server.id, status: 'draining' })}
                    >
                      Drain<span className="visually-hidden"> {server.name}</span>
                    </button>
                  ) : (
                    <button
                      type="button"
                      className="button button--small button--secondary"
                      disabled={update.isPending}
                      onClick={() => update.mutate({ id: server.id, status: 'active' })}
                    >
                      Activate<span className="visually-hidden"> {server.name}</span>
                    </button>
                  )}
                </div>
              </li>
            ))}
          </ul>
          {update.isError ? <p className="field__error">{errorMessage(update.error)}</p> : null}
        </>
      ) : null}
    </>
  );
}

function AddServerForm({ onDone }: { onDone: () => void }) {
  const client = useQueryClient();
  const form = useForm({ name: '', url: '', kind: 'shared', capacity: '50' }, (v) => ({
    name: !v.name
      ? 'Give the server a name.'
      : !/^[a-z0-9][a-z0-9-]*$/.test(v.name)
        ? 'Lower-case letters, digits and hyphens, starting with a letter or digit.'
        : v.name.length > 60
          ? 'At most 60 characters.'
          : undefined,
    url: !v.url
      ? 'Enter the admin connection URL.'
      : /^postgres(ql)?:\/\/.+/.test(v.url)
        ? undefined
        : 'Use a postgres:// URL with an admin role.',
    capacity:
      /^\d+$/.test(v.capacity) && Number(v.capacity) >= 1 && Number(v.capacity) <= 10_000 ? undefined : 'A whole number from 1 to 10000.',
  }));
  return (
    <form
      className="card form-card"
      aria-label="Add a database server"
      noValidate
      onSubmit={form.handleSubmit(async (values) => {
        const server = await api.post<DatabaseServer>('/database-servers', {
          name: values.name,
          url: values.url.trim(),
          kind: values.kind,
          capacity: Number(values.capacity),
        });
        client.setQueryData<DatabaseServer[]>(['database-servers'], (list) => [...(list ?? []), server]);
        onDone();
      })}
    >
      <h2 className="card__title">Add a database server</h2>
      <p className="muted small">
        The platform connects with this URL to check it, then stores it encrypted. The role must be able to create roles and databases.
      </p>
      <FormError message={form.formError} />
      <div className="form-grid">
        <Field label="Name" autoComplete="off" placeholder="db-2" {...form.bind('name')} error={form.error('name')} />
        <Field
          label="Admin URL"
          autoComplete="off"
          spellCheck={false}
          placeholder="postgres://admin:secret@10.0.0.5:5432/postgres"
          {...form.bind('url')}
          error={form.error('url')}
        />
        <SelectField label="Kind" {...form.bind('kind')} error={form.error('kind')}>
          <option value="shared">Shared (many tenants)</option>
          <option value="dedicated">Dedicated (one tenant)</option>
        </SelectField>
        <Field
          label="Capacity (tenants)"
          type="number"
          inputMode="numeric"
          min={1}
          max={10000}
          {...form.bind('capacity')}
          error={form.error('capacity')}
        />
      </div>
      <div className="form-actions">
        <button type="button" className="button button--ghost" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" className="button button--primary" disabled={form.submitting}>
          {form.submitting ? 'Checking the server…' : 'Add server'}
        </button>
      </div>
    </form>
  );
}
