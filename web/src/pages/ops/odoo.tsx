import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { CapacityBar, PageHeader, QueryStatus, Spinner, StateBadge } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { formatDateTime, formatRelative } from '../../lib/format';
import { Link } from '../../lib/router';
import { useTitle } from '../../lib/title';
import type { OdooInstallation } from '../../lib/types';

const STATUS_LABELS: Record<OdooInstallation['status'], string> = {
  not_installed: 'not installed',
  installing: 'installing',
  ready: 'ready',
  failed: 'failed',
};

/** The operator's view of the Odoo installations: one card per series, its installer's progress, an Install button. */
export function OdooPage() {
  useTitle('Odoo');
  const client = useQueryClient();
  const installations = useQuery({
    queryKey: ['odoo-installations'],
    queryFn: () => api.get<OdooInstallation[]>('/odoo/installations'),
    refetchInterval: (q) => (q.state.data?.some((i) => i.status === 'installing') ? 1000 : 15_000),
  });
  // The banner above every page follows the installations this page watches.
  useEffect(() => {
    if (installations.data) void client.invalidateQueries({ queryKey: ['platform-readiness'] });
  }, [installations.data, client]);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const install = useMutation({
    mutationFn: (series: string) => api.post<OdooInstallation>(`/odoo/installations/${series}/install`),
    onMutate: (series) => setErrors((current) => ({ ...current, [series]: '' })),
    onSuccess: (view) => {
      client.setQueryData<OdooInstallation[]>(['odoo-installations'], (list) => list?.map((i) => (i.series === view.series ? view : i)));
      void client.invalidateQueries({ queryKey: ['platform-readiness'] });
    },
    onError: (error, series) => setErrors((current) => ({ ...current, [series]: errorMessage(error) })),
  });

  return (
    <>
      <PageHeader
        title="Odoo"
        subtitle="Odoo installations by series: the source archive, a virtual environment with Odoo's requirements, checked and registered."
      />
      <QueryStatus query={installations} loading="Loading installations…" />
      {installations.data?.some((i) => i.overridden) ? (
        <p className="muted">
          ODOO_BIN (or an odoo on PATH) is set: it runs Odoo {installations.data.find((i) => i.overridden)?.series}, whatever is installed
          for that series here. Every other series runs its own installation, side by side.
        </p>
      ) : null}
      <ul className="template-list">
        {installations.data?.map((i) => (
          <li key={i.series} className="card template" data-series={i.series}>
            <div className="template__head">
              <div>
                <h2 className="template__name">Odoo {i.series}</h2>
                <StateBadge state={i.status} label={STATUS_LABELS[i.status]} />
              </div>
              {i.status === 'ready' ? null : (
                <button
                  type="button"
                  className="button button--secondary"
                  disabled={i.status === 'installing' || (install.isPending && install.variables === i.series)}
                  onClick={() => install.mutate(i.series)}
                >
                  {i.status === 'installing' ? <Spinner label="Installing" /> : null}
                  {i.status === 'failed' ? 'Install again' : 'Install'}
                  <span className="visually-hidden"> Odoo {i.series}</span>
                </button>
              )}
            </div>
            {i.status === 'installing' ? (
              <>
                <CapacityBar used={i.stepsDone} total={i.stepsTotal} label={`${i.stepsDone} of ${i.stepsTotal} steps`} />
                <p className="small muted">{i.detail ?? (i.step ? `${i.step} done` : 'queued')}</p>
              </>
            ) : null}
            {errors[i.series] ? (
              <p className="field__error" role="alert">
                {errors[i.series]}
              </p>
            ) : null}
            {i.error ? <p className="field__error small">{i.error}</p> : null}
            <p className="small" data-used-by>
              <span className="muted">used by:</span> {i.usedBy.tenants} tenant{i.usedBy.tenants === 1 ? '' : 's'}
              {i.usedBy.templates.length > 0 ? ` · templates ${i.usedBy.templates.join(', ')}` : ''}
              {i.overridden ? ' · runs the ODOO_BIN override' : ''}
            </p>
            {i.status !== 'ready' && !i.overridden && i.usedBy.templates.length > 0 ? (
              <p className="field__error small" role="status">
                Not installed: no instance of template{i.usedBy.templates.length === 1 ? '' : 's'} {i.usedBy.templates.join(', ')} can be
                created until Odoo {i.series} is installed (customers read that the platform is not ready for it yet).
              </p>
            ) : null}
            <p className="small">
              {i.bin ? (
                <>
                  <span className="muted">odoo-bin:</span> <code>{i.bin}</code>{' '}
                </>
              ) : null}
              {i.sourceUrl ? (
                <>
                  <span className="muted">from</span> <code>{i.sourceUrl}</code>{' '}
                </>
              ) : null}
              {i.requestedAt ? <span title={formatDateTime(i.requestedAt)}>· requested {formatRelative(i.requestedAt)}</span> : null}
              {i.jobId ? (
                <>
                  {' '}
                  · <Link to={`/ops/jobs?id=${i.jobId}`}>job</Link>
                </>
              ) : null}
            </p>
          </li>
        ))}
      </ul>
    </>
  );
}
