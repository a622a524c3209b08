import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { EmptyState, ErrorState, Loading, Notice, PageHeader, StateBadge } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { formatRelative } from '../../lib/format';
import { Field, FormError, useForm, validateRequired } from '../../lib/forms';
import { useTitle } from '../../lib/title';
import type { User, WebhookDelivery, WebhookEndpoint } from '../../lib/types';

/**
 * Webhook endpoints: customers manage their account's, operators see all and register
 * all-tenant ones. The signing secret is shown once, when an endpoint is created.
 */
export function WebhooksPage({ user }: { user: User }) {
  useTitle('Webhooks');
  const client = useQueryClient();
  const endpoints = useQuery({ queryKey: ['webhooks'], queryFn: () => api.get<WebhookEndpoint[]>('/webhooks') });
  const types = useQuery({ queryKey: ['webhook-event-types'], queryFn: () => api.get<string[]>('/webhooks/event-types') });
  const [created, setCreated] = useState<WebhookEndpoint | undefined>();
  const form = useForm({ url: '', events: '*' }, (v) => ({
    url: validateRequired(v.url, 'the URL that receives the events', 2000),
    events: validateRequired(v.events, 'the event types (or *)', 500),
  }));
  const change = useMutation({
    mutationFn: (input: { id: string; enabled?: boolean; remove?: boolean }) =>
      input.remove ? api.delete(`/webhooks/${input.id}`) : api.patch(`/webhooks/${input.id}`, { enabled: input.enabled }),
    onSettled: () => void client.invalidateQueries({ queryKey: ['webhooks'] }),
  });
  return (
    <>
      <PageHeader
        title="Webhooks"
        subtitle={
          user.role === 'operator' ? 'Endpoints of every account, and all-tenant ones' : 'Your instances’ events, sent to your URLs'
        }
      />
      <section className="card" aria-labelledby="new-webhook-title">
        <h2 id="new-webhook-title" className="card__title">
          Add an endpoint
        </h2>
        <p className="muted">
          Each delivery is signed: <code>Webhook-Signature: t=…,v1=…</code> is HMAC-SHA256 of <code>t.body</code> with the endpoint’s
          secret. Event types: <code>*</code>
          {types.data?.map((t) => (
            <span key={t}>
              , <code>{t}</code>
            </span>
          ))}
          .
        </p>
        {created?.secret ? (
          <Notice tone="ok">
            Signing secret for <strong>{created.url}</strong>: <code className="break">{created.secret}</code> Copy it now; it will not be
            shown again.
          </Notice>
        ) : null}
        <form
          className="inline-form"
          noValidate
          onSubmit={form.handleSubmit(async (values) => {
            const events = values.events
              .split(',')
              .map((e) => e.trim())
              .filter(Boolean);
            setCreated(await api.post<WebhookEndpoint>('/webhooks', { url: values.url.trim(), events }));
            form.reset();
            await client.invalidateQueries({ queryKey: ['webhooks'] });
          })}
        >
          <FormError message={form.formError} />
          <Field label="URL" placeholder="https://hooks.example.com/odoo" {...form.bind('url')} error={form.error('url')} />
          <Field label="Events (comma-separated)" {...form.bind('events')} error={form.error('events')} />
          <button type="submit" className="button button--secondary" disabled={form.submitting}>
            Add endpoint
          </button>
        </form>
      </section>
      <section className="card" aria-labelledby="webhooks-title">
        <h2 id="webhooks-title" className="card__title">
          Endpoints
        </h2>
        {endpoints.isPending ? <Loading /> : null}
        {endpoints.isError ? <ErrorState error={endpoints.error} /> : null}
        {endpoints.data && endpoints.data.length === 0 ? <EmptyState title="No endpoints yet" /> : null}
        {endpoints.data?.map((endpoint) => (
          <article key={endpoint.id} className="webhook" aria-label={endpoint.url}>
            <p>
              <StateBadge state={endpoint.enabled ? 'enabled' : 'disabled'} /> <strong className="break">{endpoint.url}</strong>{' '}
              <span className="muted small">
                {endpoint.events.join(', ')}
                {endpoint.accountId === null ? ' · all tenants' : ''} · added {formatRelative(endpoint.createdAt)}
              </span>
            </p>
            {endpoint.disabledReason ? (
              <Notice tone="warn">Disabled: {endpoint.disabledReason}. Fix the receiver, then enable it.</Notice>
            ) : null}
            <p>
              <button
                type="button"
                className="button button--small button--secondary"
                onClick={() => change.mutate({ id: endpoint.id, enabled: !endpoint.enabled })}
              >
                {endpoint.enabled ? 'Disable' : 'Enable'}
                <span className="visually-hidden"> {endpoint.url}</span>
              </button>{' '}
              <button
                type="button"
                className="button button--small button--danger-outline"
                onClick={() => change.mutate({ id: endpoint.id, remove: true })}
              >
                Remove<span className="visually-hidden"> {endpoint.url}</span>
              </button>
            </p>
            <Deliveries endpointId={endpoint.id} />
          </article>
        ))}
        {change.isError ? <p className="field__error">{errorMessage(change.error)}</p> : null}
      </section>
    </>
  );
}

function Deliveries({ endpointId }: { endpointId: string }) {
  const client = useQueryClient();
  const deliveries = useQuery({
    queryKey: ['webhook-deliveries', endpointId],
    queryFn: () => api.get<WebhookDelivery[]>(`/webhooks/${endpointId}/deliveries?limit=10`),
  });
  const redeliver = useMutation({
    mutationFn: (id: string) => api.post(`/webhook-deliveries/${id}/redeliver`),
    onSettled: () => void client.invalidateQueries({ queryKey: ['webhook-deliveries', endpointId] }),
  });
  if (deliveries.isPending) return <Loading />;
  if (deliveries.isError) return <ErrorState error={deliveries.error} />;
  if (deliveries.data.length === 0) return <p className="muted small">No deliveries yet.</p>;
  return (
    <table className="table">
      <caption className="visually-hidden">Recent deliveries</caption>
      <thead>
        <tr>
          <th scope="col">Event</th>
          <th scope="col">Status</th>
          <th scope="col">Attempts</th>
          <th scope="col">Last answer</th>
          <th scope="col">When</th>
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {deliveries.data.map((d) => (
          <tr key={d.id}>
            <td>{d.eventType}</td>
            <td>
              <StateBadge state={d.status} />
            </td>
            <td>{d.attempts}</td>
            <td className="small">{d.lastError ?? (d.lastStatusCode ? `HTTP ${d.lastStatusCode}` : '—')}</td>
            <td className="small">{formatRelative(d.createdAt)}</td>
            <td>
              {d.status === 'pending' ? null : (
                <button type="button" className="button button--small button--secondary" onClick={() => redeliver.mutate(d.id)}>
                  Redeliver
                </button>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
