import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ConfirmDialog, EmptyState, Notice, PageHeader, QueryStatus, StateBadge } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { formatDateTime, formatRelative } from '../../lib/format';
import { Field, FormError, useForm } from '../../lib/forms';
import { Link } from '../../lib/router';
import { useTitle } from '../../lib/title';
import type { CustomDomain } from '../../lib/types';

const STATUS_LABEL: Record<CustomDomain['status'], string> = {
  pending: 'Waiting for DNS',
  verified: 'Verified',
  failing: 'No longer points here',
};

const CERTIFICATE_LABEL: Record<CustomDomain['certificate']['health'], string> = {
  unknown: 'Not checked',
  valid: 'Valid',
  expiring: 'Expiring',
  expired: 'Expired',
  failing: 'Missing',
};

const CERTIFICATE_STATE = { unknown: 'stopped', valid: 'active', expiring: 'retry', expired: 'failed', failing: 'failed' } as const;

/** The HTTPS certificate as a customer sees it: the problem is the host's to fix, never theirs. */
function certificateSentence(certificate: CustomDomain['certificate']): string {
  switch (certificate.health) {
    case 'valid':
      return `HTTPS certificate valid until ${formatDateTime(certificate.expiresAt ?? '')}${certificate.issuer ? ` (issued by ${certificate.issuer})` : ''}.`;
    case 'expiring':
    case 'expired':
    case 'failing':
      return 'The HTTPS certificate for this domain needs attention; our team has been alerted and is on it.';
    default:
      return '';
  }
}

function domainsKey(name: string) {
  return ['tenant-domains', name];
}

function CopyButton({ value, label }: { value: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="button button--small button--secondary"
      onClick={() => {
        void navigator.clipboard?.writeText(value).then(() => setCopied(true));
      }}
      aria-label={`Copy ${label}`}
    >
      {copied ? 'Copied' : 'Copy'}
    </button>
  );
}

/** The records a customer sets at their DNS provider, each with a copy button. */
function Records({ domain }: { domain: CustomDomain }) {
  return (
    <div className="table-wrap">
      <table className="table table--compact">
        <caption className="visually-hidden">DNS records for {domain.displayName}</caption>
        <thead>
          <tr>
            <th scope="col">Type</th>
            <th scope="col">Name</th>
            <th scope="col">Value</th>
            <th scope="col">Why</th>
          </tr>
        </thead>
        <tbody>
          {domain.records.map((record) => (
            <tr key={`${record.type}-${record.name}-${record.value}`}>
              <td>{record.type}</td>
              <td>
                <code>{record.name}</code> <CopyButton value={record.name} label={`${record.type} name`} />
              </td>
              <td>
                <code>{record.value}</code> <CopyButton value={record.value} label={`${record.type} value`} />
              </td>
              <td className="muted">{record.purpose}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function DomainCard({ name, domain }: { name: string; domain: CustomDomain }) {
  const client = useQueryClient();
  const [confirmRemove, setConfirmRemove] = useState(false);
  const path = `/tenants/${encodeURIComponent(name)}`;
  const refresh = () => client.invalidateQueries({ queryKey: domainsKey(name) });
  const check = useMutation({
    mutationFn: () => api.post(`${path}/domains/${encodeURIComponent(domain.domain)}/check`),
    onSettled: refresh,
  });
  const primary = useMutation({
    mutationFn: (makePrimary: boolean) => api.put(`${path}/primary-domain`, { domain: makePrimary ? domain.domain : null }),
    onSettled: refresh,
  });
  const remove = useMutation({ mutationFn: () => api.delete(`${path}/domains/${encodeURIComponent(domain.domain)}`), onSettled: refresh });
  const failure = check.error ?? primary.error ?? remove.error;
  return (
    <section className="card" aria-labelledby={`domain-${domain.domain}`}>
      <div className="card__head">
        <h3 id={`domain-${domain.domain}`} className="card__title">
          {domain.displayName}{' '}
          <StateBadge
            state={domain.status === 'verified' ? 'active' : domain.status === 'failing' ? 'retry' : 'stopped'}
            label={STATUS_LABEL[domain.status]}
          />
          {domain.primary ? (
            <>
              {' '}
              <span className="badge badge--ok">Primary</span>
            </>
          ) : null}
        </h3>
        <div className="inline-controls">
          <button
            type="button"
            className="button button--small button--secondary"
            onClick={() => check.mutate()}
            disabled={check.isPending}
          >
            {check.isPending ? 'Checking…' : 'Check now'}
          </button>
          {domain.status !== 'pending' ? (
            <button
              type="button"
              className="button button--small button--secondary"
              onClick={() => primary.mutate(!domain.primary)}
              disabled={primary.isPending}
            >
              {domain.primary ? 'Stop using as primary' : 'Make primary'}
            </button>
          ) : null}
          <button type="button" className="button button--small button--danger" onClick={() => setConfirmRemove(true)}>
            Remove
          </button>
        </div>
      </div>
      {domain.status === 'pending' ? (
        <p>Set these records at your DNS provider. The domain is served as soon as they are found (checked every 10 minutes, or now).</p>
      ) : null}
      {domain.status === 'failing' ? (
        <Notice tone="warn">
          This domain stopped pointing here {formatRelative(domain.failingSince)}. It is still served for a while; fix the records below or
          it will stop being served.
        </Notice>
      ) : null}
      {domain.problems.length > 0 ? (
        <ul>
          {domain.problems.map((problem) => (
            <li key={problem}>{problem}</li>
          ))}
        </ul>
      ) : null}
      <Records domain={domain} />
      <p className="muted">
        {domain.lastCheckedAt ? `Last checked ${formatDateTime(domain.lastCheckedAt)}.` : 'Not checked yet.'}
        {domain.verifiedAt ? ` Verified ${formatDateTime(domain.verifiedAt)}.` : ''}
        {domain.status !== 'pending' ? ` ${certificateSentence(domain.certificate)}` : ''}
      </p>
      <FormError message={failure ? errorMessage(failure) : undefined} />
      <ConfirmDialog
        open={confirmRemove}
        title={`Remove ${domain.displayName}?`}
        confirmLabel="Remove domain"
        danger
        body={`It stops being served at once${domain.primary ? ', and your instance goes back to its own address' : ''}.`}
        onCancel={() => setConfirmRemove(false)}
        onConfirm={() => {
          setConfirmRemove(false);
          remove.mutate();
        }}
      />
    </section>
  );
}

/** The Domains tab of an instance: add a domain, the records to set, live verification state. */
export function DomainsTab({ name }: { name: string }) {
  const client = useQueryClient();
  const domains = useQuery({
    queryKey: domainsKey(name),
    queryFn: () => api.get<CustomDomain[]>(`/tenants/${encodeURIComponent(name)}/domains`),
    // While a domain waits for DNS, show its state as it changes.
    refetchInterval: (query) => (query.state.data?.some((d) => d.status !== 'verified') ? 15_000 : false),
  });
  const form = useForm({ domain: '' }, (v) => ({ domain: v.domain.trim() ? undefined : 'Enter a domain such as erp.example.com.' }));
  return (
    <>
      <section className="card" aria-labelledby="add-domain-title">
        <h2 id="add-domain-title" className="card__title">
          Your own domain
        </h2>
        <form
          noValidate
          onSubmit={form.handleSubmit(async (values) => {
            await api.post(`/tenants/${encodeURIComponent(name)}/domains`, { domain: values.domain.trim() });
            form.reset();
            await client.invalidateQueries({ queryKey: domainsKey(name) });
          })}
        >
          <Field
            label="Domain"
            placeholder="erp.example.com"
            autoComplete="off"
            hint="A name you own; we show the DNS records to set."
            error={form.error('domain')}
            {...form.bind('domain')}
          />
          <FormError message={form.formError} />
          <button type="submit" className="button button--primary" disabled={form.submitting}>
            {form.submitting ? 'Adding…' : 'Add domain'}
          </button>
        </form>
      </section>
      <QueryStatus query={domains} loading="Loading the domains…" />
      {domains.data && domains.data.length === 0 ? <EmptyState title="No domain of your own yet." /> : null}
      {domains.data?.map((domain) => (
        <DomainCard key={domain.domain} name={name} domain={domain} />
      ))}
    </>
  );
}

/** Operators: every custom domain with its tenant and state. */
export function OpsDomainsPage() {
  useTitle('Domains');
  const domains = useQuery({ queryKey: ['all-domains'], queryFn: () => api.get<CustomDomain[]>('/domains?limit=500') });
  return (
    <>
      <PageHeader title="Domains" subtitle="Custom domains of every tenant and whether they still point here." />
      <QueryStatus query={domains} loading="Loading the domains…" />
      {domains.data && domains.data.length === 0 ? <EmptyState title="No tenant has a domain of its own yet." /> : null}
      {domains.data && domains.data.length > 0 ? (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Domain</th>
                <th scope="col">Tenant</th>
                <th scope="col">State</th>
                <th scope="col">Last check</th>
                <th scope="col">Certificate</th>
                <th scope="col">Problems</th>
              </tr>
            </thead>
            <tbody>
              {domains.data.map((d) => (
                <tr key={`${d.tenant}-${d.domain}`}>
                  <td>
                    {d.displayName}
                    {d.primary ? ' (primary)' : ''}
                  </td>
                  <td>
                    <Link to={`/ops/tenants/${d.tenant}?tab=domains`}>{d.tenant}</Link>
                  </td>
                  <td>
                    <StateBadge
                      state={d.status === 'verified' ? 'active' : d.status === 'failing' ? 'retry' : 'stopped'}
                      label={STATUS_LABEL[d.status]}
                    />
                  </td>
                  <td>{d.lastCheckedAt ? formatDateTime(d.lastCheckedAt) : 'never'}</td>
                  <td>
                    <StateBadge state={CERTIFICATE_STATE[d.certificate.health]} label={CERTIFICATE_LABEL[d.certificate.health]} />
                    {d.certificate.expiresAt ? <div className="muted">until {formatDateTime(d.certificate.expiresAt)}</div> : null}
                    {d.certificate.error ? <div className="muted">{d.certificate.error}</div> : null}
                  </td>
                  <td>{d.problems.join(' ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}
