import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { EmptyState, ErrorState, Loading, PageHeader, QueryStatus, StateBadge } from '../../components/ui';
import { api, query } from '../../lib/api';
import { formatDateTime, formatRelative } from '../../lib/format';
import { Link, setSearch, useLocation } from '../../lib/router';
import { useTitle } from '../../lib/title';
import type { AccountDetail, AccountSummary, AuditEntry, Tenant, User } from '../../lib/types';

function useDebouncedSearchParam(param: string): [string, (value: string) => void] {
  const { search } = useLocation();
  const [text, setText] = useState(search.get(param) ?? '');
  useEffect(() => {
    const timer = window.setTimeout(() => {
      if (text !== (new URLSearchParams(window.location.search).get(param) ?? '')) setSearch({ [param]: text.trim() || undefined });
    }, 250);
    return () => window.clearTimeout(timer);
  }, [text, param]);
  return [text, setText];
}

export function AccountsPage() {
  useTitle('Accounts');
  const { search } = useLocation();
  const [text, setText] = useDebouncedSearchParam('q');
  const q = search.get('q') ?? '';
  const accounts = useQuery({
    queryKey: ['accounts', q],
    queryFn: () => api.get<AccountSummary[]>(`/accounts${query({ search: q, limit: 200 })}`),
    placeholderData: (previous) => previous,
  });
  return (
    <>
      <PageHeader title="Accounts" subtitle="Customer organisations." />
      <form className="filters card" aria-label="Search accounts" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="account-search">Search by name</label>
          <input id="account-search" type="search" value={text} onChange={(e) => setText(e.target.value)} maxLength={100} />
        </div>
      </form>
      <QueryStatus query={accounts} loading="Loading accounts…" />
      {accounts.data && accounts.data.length === 0 ? <EmptyState title={q ? 'No account matches' : 'No accounts yet'} /> : null}
      {accounts.data && accounts.data.length > 0 ? (
        <div className="table-wrap">
          <table className="table table--cards">
            <caption className="visually-hidden">Accounts</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Users</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {accounts.data.map((account) => (
                <tr key={account.id}>
                  <td data-label="Name">
                    <Link to={`/ops/accounts/${account.id}`} className="strong">
                      {account.name}
                    </Link>
                  </td>
                  <td data-label="Users">{account.userCount}</td>
                  <td data-label="Created" title={formatDateTime(account.createdAt)}>
                    {formatRelative(account.createdAt)}
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

export function AccountDetailPage({ id }: { id: string }) {
  const account = useQuery({
    queryKey: ['account', id],
    queryFn: () => api.get<AccountDetail>(`/accounts/${encodeURIComponent(id)}`),
    retry: false,
  });
  const tenants = useQuery({
    queryKey: ['tenants', 'account', id],
    queryFn: () => api.get<Tenant[]>(`/tenants${query({ accountId: id, limit: 500 })}`),
  });
  useTitle(account.data?.name ?? 'Account');
  if (account.isPending) return <Loading />;
  if (account.isError) return <ErrorState error={account.error} />;
  return (
    <>
      <nav className="breadcrumbs" aria-label="Breadcrumb">
        <Link to="/ops/accounts">Accounts</Link>
        <span aria-hidden="true"> / </span>
        <span aria-current="page">{account.data.name}</span>
      </nav>
      <PageHeader title={account.data.name} subtitle={`Customer since ${formatDateTime(account.data.createdAt)}`}>
        <Link to={`/ops/audit?account=${id}`} className="button button--secondary">
          Audit log
        </Link>
      </PageHeader>
      <section className="card" aria-labelledby="users-title">
        <h2 id="users-title" className="card__title">
          Users
        </h2>
        <ul className="plain-list">
          {account.data.users.map((user) => (
            <li key={user.id}>
              <strong>{user.name}</strong> <span className="muted">{user.email}</span>{' '}
              {user.emailVerified ? null : <StateBadge state="pending_payment" label="unconfirmed" />}
            </li>
          ))}
        </ul>
      </section>
      <section className="card" aria-labelledby="account-tenants-title">
        <h2 id="account-tenants-title" className="card__title">
          Tenants
        </h2>
        {tenants.isPending ? <Loading /> : null}
        {tenants.data && tenants.data.length === 0 ? <p className="muted">No tenants.</p> : null}
        {tenants.data && tenants.data.length > 0 ? (
          <ul className="plain-list">
            {tenants.data.map((tenant) => (
              <li key={tenant.id}>
                <Link to={`/ops/tenants/${tenant.name}`} className="strong">
                  {tenant.name}
                </Link>{' '}
                <StateBadge state={tenant.state} /> <span className="muted small">{tenant.plan}</span>
              </li>
            ))}
          </ul>
        ) : null}
      </section>
    </>
  );
}

export function UsersPage() {
  useTitle('Users');
  const { search } = useLocation();
  const role = search.get('role') ?? '';
  const users = useQuery({
    queryKey: ['users', role],
    queryFn: () => api.get<User[]>(`/users${query({ role, limit: 500 })}`),
    placeholderData: (previous) => previous,
  });
  return (
    <>
      <PageHeader title="Users" subtitle="Everyone who can log in to the platform." />
      <form className="filters card" aria-label="Filter users" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="user-role">Role</label>
          <select id="user-role" value={role} onChange={(e) => setSearch({ role: e.target.value || undefined })}>
            <option value="">Any</option>
            <option value="customer">Customers</option>
            <option value="operator">Operators</option>
          </select>
        </div>
      </form>
      <QueryStatus query={users} loading="Loading users…" />
      {users.data && users.data.length === 0 ? <EmptyState title="No users" /> : null}
      {users.data && users.data.length > 0 ? (
        <div className="table-wrap">
          <table className="table table--cards">
            <caption className="visually-hidden">Users</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Account</th>
                <th scope="col">Joined</th>
              </tr>
            </thead>
            <tbody>
              {users.data.map((user) => (
                <tr key={user.id}>
                  <td data-label="Name" className="strong">
                    {user.name}
                  </td>
                  <td data-label="Email">
                    {user.email} {user.emailVerified ? null : <span className="muted small">(unconfirmed)</span>}
                  </td>
                  <td data-label="Role">{user.role}</td>
                  <td data-label="Account">
                    {user.accountId ? (
                      <Link to={`/ops/accounts/${user.accountId}`}>
                        View<span className="visually-hidden"> the account of {user.name}</span>
                      </Link>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td data-label="Joined">{formatRelative(user.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}

export function AuditPage() {
  useTitle('Audit log');
  const { search } = useLocation();
  const [actionText, setActionText] = useDebouncedSearchParam('action');
  const action = search.get('action') ?? '';
  const accountId = search.get('account') ?? '';
  const audit = useInfiniteQuery({
    queryKey: ['audit', action, accountId],
    queryFn: ({ pageParam }) => api.get<AuditEntry[]>(`/audit-log${query({ limit: 50, before: pageParam, action, accountId })}`),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (last) => (last.length === 50 ? last[last.length - 1]?.id : undefined),
    refetchInterval: 10_000,
  });
  const entries = audit.data?.pages.flat() ?? [];
  return (
    <>
      <PageHeader title="Audit log" subtitle="Every state-changing call: who, what, on what, when and how it ended." />
      <form className="filters card" aria-label="Filter the audit log" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="audit-action">Action (exact)</label>
          <input
            id="audit-action"
            value={actionText}
            onChange={(e) => setActionText(e.target.value)}
            placeholder="tenant.suspend"
            maxLength={200}
          />
        </div>
        {accountId ? (
          <p className="filters__summary small">
            Account {accountId.slice(0, 8)}…{' '}
            <button type="button" className="button button--ghost button--small" onClick={() => setSearch({ account: undefined })}>
              Show all accounts
            </button>
          </p>
        ) : null}
      </form>
      <QueryStatus query={audit} loading="Loading the audit log…" />
      {audit.isSuccess && entries.length === 0 ? <EmptyState title="Nothing recorded" /> : null}
      {entries.length > 0 ? (
        <div className="table-wrap">
          <table className="table table--cards">
            <caption className="visually-hidden">Audit log entries</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Outcome</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr key={entry.id} data-audit-action={entry.action}>
                  <td data-label="When" title={formatDateTime(entry.at)}>
                    {formatRelative(entry.at)}
                  </td>
                  <td data-label="Who">
                    {entry.actorLabel ?? entry.actorType}
                    {entry.ip ? <div className="muted small">{entry.ip}</div> : null}
                  </td>
                  <td data-label="Action">
                    <code>{entry.action}</code>
                  </td>
                  <td data-label="Target">
                    {entry.targetType === 'tenant' && entry.targetId ? (
                      <Link to={`/ops/tenants/${entry.targetId}`}>{entry.targetId}</Link>
                    ) : entry.targetId ? (
                      <span>
                        <span className="muted">{entry.targetType}</span>{' '}
                        {entry.targetId.length > 24 ? `${entry.targetId.slice(0, 8)}…` : entry.targetId}
                      </span>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td data-label="Outcome">
                    <StateBadge state={entry.outcome} label={`${entry.outcome}${entry.statusCode ? ` ${entry.statusCode}` : ''}`} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {audit.hasNextPage ? (
        <p className="center">
          <button
            type="button"
            className="button button--secondary"
            onClick={() => void audit.fetchNextPage()}
            disabled={audit.isFetchingNextPage}
          >
            {audit.isFetchingNextPage ? 'Loading…' : 'Load older entries'}
          </button>
        </p>
      ) : null}
    </>
  );
}
