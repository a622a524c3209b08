import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { ConfirmDialog, EmptyState, Notice, PageHeader, QueryStatus, StateBadge } from '../../components/ui';
import { api, errorMessage, query } from '../../lib/api';
import { formatRelative, humanize } from '../../lib/format';
import { Link, setSearch, useLocation } from '../../lib/router';
import { ACTION_LABELS, ACTION_SEGMENTS, CONFIRM_ACTIONS, listRefetchInterval, storeTenant } from '../../lib/tenants';
import { useTitle } from '../../lib/title';
import type { Accepted, AccountSummary, DatabaseServer, Plan, Tenant, TenantRequest, TenantUsageSummary } from '../../lib/types';
import { TENANT_STATES } from '../../lib/types';

const BULK_ORDER: TenantRequest[] = [
  'start',
  'stop',
  'restart',
  'suspend',
  'resume',
  'retry',
  'cancel_delete',
  'schedule_delete',
  'terminate',
  'force_delete',
];

interface BulkResult {
  action: string;
  ok: string[];
  failed: Array<{ name: string; reason: string }>;
}

export function OpsTenantsPage() {
  useTitle('Tenants');
  const client = useQueryClient();
  const { search } = useLocation();
  const filters = {
    search: search.get('q') ?? '',
    state: search.get('state') ?? '',
    plan: search.get('plan') ?? '',
    serverId: search.get('server') ?? '',
    accountId: search.get('account') ?? '',
  };
  // The search box updates the URL (and so the query) a moment after typing stops.
  const [searchText, setSearchText] = useState(filters.search);
  useEffect(() => {
    const timer = window.setTimeout(() => {
      if (searchText !== (new URLSearchParams(window.location.search).get('q') ?? '')) setSearch({ q: searchText.trim() || undefined });
    }, 250);
    return () => window.clearTimeout(timer);
  }, [searchText]);

  const tenants = useQuery({
    queryKey: ['tenants', 'ops', filters],
    queryFn: () =>
      api.get<Tenant[]>(
        `/tenants${query({ limit: 500, search: filters.search.toLowerCase(), state: filters.state, plan: filters.plan, serverId: filters.serverId, accountId: filters.accountId })}`,
      ),
    refetchInterval: (q) => Math.min(listRefetchInterval(q.state.data), 5000),
    placeholderData: (previous) => previous,
  });
  const plans = useQuery({ queryKey: ['plans'], queryFn: () => api.get<Plan[]>('/plans') });
  const servers = useQuery({ queryKey: ['database-servers'], queryFn: () => api.get<DatabaseServer[]>('/database-servers') });
  const accounts = useQuery({ queryKey: ['accounts', 'all'], queryFn: () => api.get<AccountSummary[]>('/accounts?limit=500') });
  // Tenants at or over a plan limit (the usage sampler's standings), flagged in the list.
  const flagged = useQuery({
    queryKey: ['usage', 'flagged'],
    queryFn: () => api.get<TenantUsageSummary[]>('/usage?flagged=true&limit=500'),
    refetchInterval: 60_000,
  });
  const overLimit = new Map(
    flagged.data?.map((u) => [u.tenantId, u.standings.filter((s) => s.level === 'reached' || s.level === 'over')]) ?? [],
  );
  const accountName = new Map(accounts.data?.map((a) => [a.id, a.name]) ?? []);
  const serverName = new Map(servers.data?.map((s) => [s.id, s.name]) ?? []);

  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [confirming, setConfirming] = useState<TenantRequest | undefined>();
  const [running, setRunning] = useState<TenantRequest | undefined>();
  const [result, setResult] = useState<BulkResult | undefined>();
  const rows = tenants.data ?? [];
  const chosen = rows.filter((t) => selected.has(t.name));
  const bulkActions = BULK_ORDER.filter((action) => chosen.some((t) => t.allowedActions.includes(action)));
  const allSelected = rows.length > 0 && rows.every((t) => selected.has(t.name));

  // Forget selections that left the list (filters changed, tenant deleted).
  useEffect(() => {
    setSelected((current) => {
      const visible = new Set(rows.map((t) => t.name));
      const next = new Set([...current].filter((name) => visible.has(name)));
      return next.size === current.size ? current : next;
    });
  }, [rows]);

  function toggle(name: string, on: boolean) {
    setSelected((current) => {
      const next = new Set(current);
      if (on) next.add(name);
      else next.delete(name);
      return next;
    });
  }

  async function applyBulk(action: TenantRequest) {
    setConfirming(undefined);
    setRunning(action);
    setResult(undefined);
    const targets = chosen.filter((t) => t.allowedActions.includes(action));
    const skipped = chosen.filter((t) => !t.allowedActions.includes(action));
    const outcome: BulkResult = {
      action,
      ok: [],
      failed: skipped.map((t) => ({ name: t.name, reason: `not possible while ${humanize(t.state).toLowerCase()}` })),
    };
    await Promise.all(
      targets.map(async (tenant) => {
        try {
          const accepted = await api.post<Accepted>(`/tenants/${encodeURIComponent(tenant.name)}/${ACTION_SEGMENTS[action]}`);
          storeTenant(client, accepted.tenant);
          outcome.ok.push(tenant.name);
        } catch (error) {
          outcome.failed.push({ name: tenant.name, reason: errorMessage(error) });
        }
      }),
    );
    setRunning(undefined);
    setResult(outcome);
    setSelected(new Set());
    void client.invalidateQueries({ queryKey: ['tenants'] });
  }

  const filterCount = [filters.state, filters.plan, filters.serverId, filters.accountId, filters.search].filter(Boolean).length;

  return (
    <>
      <PageHeader title="Tenants" subtitle="Every tenant on the platform, live." />
      <form className="filters card" aria-label="Filter tenants" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="tenant-search">Search by name</label>
          <input
            id="tenant-search"
            type="search"
            value={searchText}
            onChange={(e) => setSearchText(e.target.value)}
            placeholder="e.g. acme"
            maxLength={63}
          />
        </div>
        <div className="field">
          <label htmlFor="filter-state">State</label>
          <select id="filter-state" value={filters.state} onChange={(e) => setSearch({ state: e.target.value || undefined })}>
            <option value="">Any (but deleted)</option>
            {TENANT_STATES.map((state) => (
              <option key={state} value={state}>
                {humanize(state)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="filter-plan">Plan</label>
          <select id="filter-plan" value={filters.plan} onChange={(e) => setSearch({ plan: e.target.value || undefined })}>
            <option value="">Any</option>
            {plans.data?.map((plan) => (
              <option key={plan.code} value={plan.code}>
                {plan.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="filter-server">Database server</label>
          <select id="filter-server" value={filters.serverId} onChange={(e) => setSearch({ server: e.target.value || undefined })}>
            <option value="">Any</option>
            {servers.data?.map((server) => (
              <option key={server.id} value={server.id}>
                {server.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="filter-account">Account</label>
          <select id="filter-account" value={filters.accountId} onChange={(e) => setSearch({ account: e.target.value || undefined })}>
            <option value="">Any</option>
            {accounts.data?.map((account) => (
              <option key={account.id} value={account.id}>
                {account.name}
              </option>
            ))}
          </select>
        </div>
        {filterCount > 0 ? (
          <button
            type="button"
            className="button button--ghost button--small filters__clear"
            onClick={() => {
              setSearchText('');
              setSearch({ q: undefined, state: undefined, plan: undefined, server: undefined, account: undefined });
            }}
          >
            Clear filters
          </button>
        ) : null}
      </form>

      <div className="bulkbar" aria-live="polite">
        <span className="bulkbar__count">
          {chosen.length > 0 ? `${chosen.length} selected` : `${rows.length} tenant${rows.length === 1 ? '' : 's'}`}
        </span>
        {chosen.length > 0 ? (
          <fieldset className="actions actions--compact">
            <legend className="visually-hidden">Apply to the selected tenants</legend>
            {bulkActions.map((action) => (
              <button
                key={action}
                type="button"
                className={`button button--small ${CONFIRM_ACTIONS[action] ? 'button--danger-outline' : 'button--secondary'}`}
                disabled={running !== undefined}
                data-bulk-action={action}
                onClick={() => (CONFIRM_ACTIONS[action] ? setConfirming(action) : void applyBulk(action))}
              >
                {(ACTION_LABELS[action] ?? action).replace('…', '')} ({chosen.filter((t) => t.allowedActions.includes(action)).length})
              </button>
            ))}
            {bulkActions.length === 0 ? <span className="muted small">No action fits all of them.</span> : null}
            <button type="button" className="button button--small button--ghost" onClick={() => setSelected(new Set())}>
              Clear selection
            </button>
          </fieldset>
        ) : null}
      </div>
      {result ? (
        <Notice tone={result.failed.length > 0 ? 'warn' : 'ok'}>
          {humanize(result.action)}: {result.ok.length} done{result.ok.length ? ` (${result.ok.join(', ')})` : ''}
          {result.failed.length > 0
            ? `; ${result.failed.length} not done: ${result.failed.map((f) => `${f.name} (${f.reason})`).join('; ')}`
            : ''}
          .
        </Notice>
      ) : null}

      <QueryStatus query={tenants} loading="Loading tenants…" />
      {tenants.data && rows.length === 0 ? (
        <EmptyState title={filterCount > 0 ? 'No tenant matches these filters' : 'No tenants yet'}>
          {filterCount > 0 ? 'Change or clear the filters.' : 'Tenants appear here as customers create them.'}
        </EmptyState>
      ) : null}
      {rows.length > 0 ? (
        <div className="table-wrap">
          <table className="table table--cards">
            <caption className="visually-hidden">Tenants</caption>
            <thead>
              <tr>
                <th scope="col" className="col-check">
                  <input
                    type="checkbox"
                    aria-label="Select all tenants shown"
                    checked={allSelected}
                    onChange={(e) => setSelected(e.target.checked ? new Set(rows.map((t) => t.name)) : new Set())}
                  />
                </th>
                <th scope="col">Name</th>
                <th scope="col">State</th>
                <th scope="col">Plan</th>
                <th scope="col">Limits</th>
                <th scope="col">Account</th>
                <th scope="col">Server</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((tenant) => (
                <tr key={tenant.id} data-tenant={tenant.name} className={selected.has(tenant.name) ? 'is-selected' : undefined}>
                  <td className="col-check">
                    <input
                      type="checkbox"
                      aria-label={`Select ${tenant.name}`}
                      checked={selected.has(tenant.name)}
                      onChange={(e) => toggle(tenant.name, e.target.checked)}
                    />
                  </td>
                  <td data-label="Name">
                    <Link to={`/ops/tenants/${tenant.name}`} className="strong">
                      {tenant.name}
                    </Link>
                  </td>
                  <td data-label="State">
                    <StateBadge state={tenant.state} />
                  </td>
                  <td data-label="Plan">{tenant.plan}</td>
                  <td data-label="Limits">
                    {overLimit.get(tenant.id)?.length ? (
                      <span className="limit-flag">
                        {overLimit
                          .get(tenant.id)
                          ?.map((s) => `${s.resource === 'odoo_users' ? 'users' : 'storage'} ${s.percent} %`)
                          .join(', ')}
                      </span>
                    ) : (
                      <span className="muted">within</span>
                    )}
                  </td>
                  <td data-label="Account">
                    <Link to={`/ops/accounts/${tenant.accountId}`}>
                      {accountName.get(tenant.accountId) ?? tenant.accountId.slice(0, 8)}
                    </Link>
                  </td>
                  <td data-label="Server">{tenant.databaseServerId ? (serverName.get(tenant.databaseServerId) ?? '…') : '—'}</td>
                  <td data-label="Created">{formatRelative(tenant.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {confirming ? (
        <ConfirmDialog
          open
          title={`${humanize(confirming)} ${chosen.filter((t) => t.allowedActions.includes(confirming)).length} tenant(s)?`}
          body={
            <>
              <p>{CONFIRM_ACTIONS[confirming]?.body}</p>
              <p className="muted">
                {chosen
                  .filter((t) => t.allowedActions.includes(confirming))
                  .map((t) => t.name)
                  .join(', ')}
              </p>
            </>
          }
          confirmLabel={CONFIRM_ACTIONS[confirming]?.confirm ?? humanize(confirming)}
          danger
          onConfirm={() => void applyBulk(confirming)}
          onCancel={() => setConfirming(undefined)}
        />
      ) : null}
    </>
  );
}
