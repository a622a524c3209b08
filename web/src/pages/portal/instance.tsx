import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { Backups } from '../../components/backups';
import { HibernationCard } from '../../components/hibernation';
import { PlanChangeCard } from '../../components/plan-change';
import { ProvisioningProgress } from '../../components/provisioning';
import { TenantActions } from '../../components/tenant-actions';
import { TenantJobs } from '../../components/tenant-jobs';
import { TenantLog } from '../../components/tenant-log';
import { DefinitionList, Dialog, EmptyState, ErrorState, Loading, Notice, PageHeader, StateBadge } from '../../components/ui';
import { UsageTab } from '../../components/usage';
import { ApiError, api } from '../../lib/api';
import { formatDateTime, formatRelative, formatSeconds, formatTime, humanize } from '../../lib/format';
import { Field, FormError, PasswordChecklist, useForm, validatePassword } from '../../lib/forms';
import { Link, navigate, useLocation } from '../../lib/router';
import { type StreamStatus, storeTenant, tenantEventsKey, useTenant, useTenantStream } from '../../lib/tenants';
import { useTitle } from '../../lib/title';
import type { Accepted, DatabaseServer, Tenant, TenantEvent, User } from '../../lib/types';
import { PendingPayment, validateSubdomain } from './create-instance';
import { DomainsTab } from './domains';

/**
 * One instance: details, live status, timeline and logs. The same page serves customers
 * (/instances/:name) and operators (/ops/tenants/:name, with placement details). Later tabs
 * (backups, domains) slot into TABS.
 */
const TABS = [
  { key: 'overview', label: 'Overview' },
  { key: 'usage', label: 'Usage' },
  { key: 'timeline', label: 'Timeline' },
  { key: 'logs', label: 'Logs' },
  { key: 'backups', label: 'Backups' },
  { key: 'domains', label: 'Domains' },
] as const;

export function InstancePage({ name, user, basePath }: { name: string; user: User; basePath: string }) {
  const { search } = useLocation();
  const tab = TABS.find((t) => t.key === search.get('tab'))?.key ?? 'overview';
  const tenant = useTenant(name);
  const stream = useTenantStream(name, tenant.isSuccess);
  useTitle(tenant.data ? tenant.data.name : name);

  if (tenant.isPending) return <Loading label={`Loading ${name}…`} />;
  if (tenant.isError) {
    if (tenant.error instanceof ApiError && tenant.error.status === 404) {
      return (
        <>
          <PageHeader title="Instance not found" />
          <EmptyState
            title={`There is no instance named “${name}” in your account.`}
            action={
              <Link to={basePath} className="button button--secondary">
                Back to the list
              </Link>
            }
          />
        </>
      );
    }
    return <ErrorState error={tenant.error} onRetry={() => void tenant.refetch()} />;
  }
  const t = tenant.data;
  const inFlight =
    t.state === 'provisioning' ||
    (t.state === 'starting' && t.provisionSeconds === null) ||
    (t.state === 'error' && t.provisionSeconds === null);

  return (
    <>
      <nav className="breadcrumbs" aria-label="Breadcrumb">
        <Link to={basePath}>{user.role === 'operator' ? 'Tenants' : 'Instances'}</Link>
        <span aria-hidden="true"> / </span>
        <span aria-current="page">{t.name}</span>
      </nav>
      <PageHeader
        title={
          <>
            {t.name} <StateBadge state={t.state} />
          </>
        }
        subtitle={
          t.state === 'running' ? (
            <a href={t.url} target="_blank" rel="noopener noreferrer">
              {t.hostName}
              <span className="visually-hidden"> (opens in a new tab)</span>
            </a>
          ) : (
            t.hostName
          )
        }
      >
        {t.state === 'running' ? (
          <a className="button button--primary" href={t.url} target="_blank" rel="noopener noreferrer">
            Open instance<span className="visually-hidden"> (new tab)</span>
          </a>
        ) : null}
      </PageHeader>
      <div className="action-row">
        <TenantActions tenant={t} />
        {t.allowedActions.includes('duplicate') ? <DuplicateButton tenant={t} basePath={basePath} /> : null}
      </div>
      <StateNotice tenant={t} />
      <nav className="tabs" aria-label="Instance sections">
        {TABS.map((item) => (
          <Link
            key={item.key}
            to={item.key === 'overview' ? `${basePath}/${t.name}` : `${basePath}/${t.name}?tab=${item.key}`}
            className="tabs__link"
            aria-current={tab === item.key ? 'page' : undefined}
          >
            {item.label}
          </Link>
        ))}
      </nav>
      {tab === 'overview' ? (
        <>
          {t.state === 'pending_payment' && user.role !== 'operator' ? <PendingPayment tenantId={t.id} /> : null}
          {inFlight && t.state !== 'pending_payment' ? (
            <ProvisioningProgress tenant={t} events={stream.events} status={stream.status} />
          ) : null}
          <Overview tenant={t} user={user} />
          {t.processStrategy === 'dedicated' ? <HibernationCard tenant={t} /> : null}
          {user.role === 'operator' ? <PlanChangeCard tenant={t} /> : null}
        </>
      ) : null}
      {tab === 'usage' ? <UsageTab name={t.name} /> : null}
      {tab === 'timeline' ? (
        <>
          <Timeline name={t.name} live={stream.events} status={stream.status} />
          {user.role === 'operator' ? <TenantJobs name={t.name} /> : null}
        </>
      ) : null}
      {tab === 'logs' ? <TenantLog name={t.name} /> : null}
      {tab === 'backups' ? <Backups tenant={t} role={user.role} /> : null}
      {tab === 'domains' ? <DomainsTab name={t.name} /> : null}
    </>
  );
}

function StateNotice({ tenant }: { tenant: Tenant }) {
  switch (tenant.state) {
    case 'suspended':
      return (
        <Notice tone="warn">
          This instance is suspended{tenant.stateReason ? `: ${tenant.stateReason}` : ''}. It does not serve until the platform lifts the
          suspension; your data is kept.
        </Notice>
      );
    case 'scheduled_for_deletion':
      return (
        <Notice tone="warn">
          This instance will be deleted {formatRelative(tenant.deleteAfter)} ({formatDateTime(tenant.deleteAfter)}). Until then you can
          cancel the deletion.
        </Notice>
      );
    case 'error':
      return <Notice tone="error">Something went wrong: {tenant.stateReason ?? 'unknown error'}. Retry, or contact support.</Notice>;
    case 'stopped':
      return <Notice tone="info">This instance is stopped. Start it to use it again.</Notice>;
    case 'terminated':
      return (
        <Notice tone="warn">This instance is terminated. Its data is kept for 30 days after {formatDateTime(tenant.terminatedAt)}.</Notice>
      );
    default:
      return null;
  }
}

function Overview({ tenant, user }: { tenant: Tenant; user: User }) {
  const operator = user.role === 'operator';
  const servers = useQuery({
    queryKey: ['database-servers'],
    queryFn: () => api.get<DatabaseServer[]>('/database-servers'),
    enabled: operator,
  });
  const server = servers.data?.find((s) => s.id === tenant.databaseServerId);
  const items: Array<[string, ReactNode]> = [
    [
      'Address',
      tenant.state === 'running' ? (
        <a key="u" href={tenant.url}>
          {tenant.url}
        </a>
      ) : (
        tenant.url
      ),
    ],
    ['Status', <StateBadge key="s" state={tenant.state} />],
    ['Since', formatDateTime(tenant.stateChangedAt)],
    ['Plan', tenant.plan],
    ['Template', tenant.template],
    ['Odoo admin login', tenant.adminLogin],
    ['Created', formatDateTime(tenant.createdAt)],
    ['Ready in', formatSeconds(tenant.provisionSeconds)],
  ];
  if (tenant.duplicateOf) items.push(['Staging copy', 'yes (neutralised: no crons, no outgoing mail)']);
  if (operator) {
    items.push(
      [
        'Account',
        <Link key="a" to={`/ops/accounts/${tenant.accountId}`}>
          {tenant.accountId}
        </Link>,
      ],
      ['Database', tenant.databaseName ?? '—'],
      ['Database server', server ? `${server.name} (${server.host}:${server.port})` : (tenant.databaseServerId ?? '—')],
      ['Odoo process', tenant.processStrategy === 'pool' ? 'shared pool' : 'dedicated'],
      ['Odoo series', tenant.odooSeries ?? 'default series'],
      [
        'Last job',
        tenant.jobId ? (
          <Link key="j" to={`/ops/jobs?id=${tenant.jobId}`}>
            {tenant.jobId}
          </Link>
        ) : (
          '—'
        ),
      ],
    );
  }
  return (
    <section className="card" aria-labelledby="details-title">
      <h2 id="details-title" className="card__title">
        Details
      </h2>
      <DefinitionList items={items} />
    </section>
  );
}

function eventText(event: TenantEvent): string {
  if (event.type === 'state')
    return `${event.fromState ? `${humanize(event.fromState)} → ` : ''}${humanize(event.toState ?? '')}${event.message ? `: ${event.message}` : ''}`;
  if (event.type === 'step') return event.message ?? `${event.step} done`;
  return event.message ?? humanize(event.type);
}

function Timeline({ name, live, status }: { name: string; live: TenantEvent[]; status: StreamStatus }) {
  const history = useQuery({
    queryKey: tenantEventsKey(name),
    queryFn: () => api.get<TenantEvent[]>(`/tenants/${encodeURIComponent(name)}/events`),
  });
  const byId = new Map<number, TenantEvent>();
  for (const event of [...(history.data ?? []), ...live]) byId.set(event.id, event);
  const events = [...byId.values()].sort((a, b) => b.id - a.id);
  return (
    <section className="card" aria-labelledby="timeline-title">
      <div className="card__head">
        <h2 id="timeline-title" className="card__title">
          Timeline
        </h2>
        <span className="muted small">{status === 'live' ? 'Live' : status === 'reconnecting' ? 'Reconnecting…' : ''}</span>
      </div>
      {history.isPending && live.length === 0 ? <Loading /> : null}
      {history.isError ? <ErrorState error={history.error} /> : null}
      {events.length > 0 ? (
        <ol className="timeline">
          {events.map((event) => (
            <li key={event.id} className={`timeline__item timeline__item--${event.type}`}>
              <time dateTime={event.at} title={formatDateTime(event.at)}>
                {formatTime(event.at)}
              </time>
              <span className="timeline__type">{humanize(event.type)}</span>
              <span className="timeline__text">{eventText(event)}</span>
            </li>
          ))}
        </ol>
      ) : history.isSuccess ? (
        <p className="muted">Nothing happened yet.</p>
      ) : null}
    </section>
  );
}

function DuplicateButton({ tenant, basePath }: { tenant: Tenant; basePath: string }) {
  const [open, setOpen] = useState(false);
  const client = useQueryClient();
  const form = useForm({ name: `${tenant.name}-staging`.slice(0, 61), adminPassword: '' }, (v) => ({
    name: validateSubdomain(v.name),
    adminPassword: validatePassword(v.adminPassword, tenant.adminEmail),
  }));
  return (
    <>
      <button type="button" className="button button--secondary" onClick={() => setOpen(true)}>
        Staging copy…
      </button>
      {open ? (
        <Dialog
          open
          title={`Staging copy of ${tenant.name}`}
          onClose={() => setOpen(false)}
          footer={
            <>
              <button type="button" className="button button--ghost" onClick={() => setOpen(false)}>
                Cancel
              </button>
              <button type="submit" form="duplicate-form" className="button button--primary" disabled={form.submitting}>
                {form.submitting ? 'Creating…' : 'Create the copy'}
              </button>
            </>
          }
        >
          <form
            id="duplicate-form"
            noValidate
            onSubmit={form.handleSubmit(async (values) => {
              const result = await api.post<Accepted>(`/tenants/${encodeURIComponent(tenant.name)}/duplicate`, values);
              storeTenant(client, result.tenant);
              void client.invalidateQueries({ queryKey: ['tenants'] });
              setOpen(false);
              navigate(`${basePath}/${result.tenant.name}`);
            })}
          >
            <p className="muted">A copy of its data under a new name, neutralised: scheduled actions and outgoing mail are off.</p>
            <FormError message={form.formError} />
            <Field label="Name of the copy" autoComplete="off" {...form.bind('name')} error={form.error('name')} />
            <Field
              label="Admin password for the copy"
              type="password"
              autoComplete="new-password"
              {...form.bind('adminPassword')}
              error={form.error('adminPassword')}
              after={<PasswordChecklist password={form.values.adminPassword} email={tenant.adminEmail} />}
            />
          </form>
        </Dialog>
      ) : null}
    </>
  );
}
