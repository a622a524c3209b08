import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, errorMessage } from '../lib/api';
import { tenantKey } from '../lib/tenants';
import type { AcceptedMigration, Migration, Plan, Tenant } from '../lib/types';
import { Notice } from './ui';

const seconds = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`);

/**
 * Operators change an instance's plan here: the card first shows what the change will do (the
 * dry run: new limits at once, or a move with its steps and estimated downtime), then follows the
 * move step by step. A downgrade the instance does not fit is refused, naming the limit.
 */
export function PlanChangeCard({ tenant }: { tenant: Tenant }) {
  const client = useQueryClient();
  const [plan, setPlan] = useState('');
  const [migrationId, setMigrationId] = useState<string | undefined>();
  const plans = useQuery({ queryKey: ['plans'], queryFn: () => api.get<Plan[]>('/plans') });
  const preview = useQuery({
    queryKey: ['plan-change-preview', tenant.name, plan],
    queryFn: () => api.post<AcceptedMigration>(`/tenants/${tenant.name}/change-plan`, { plan, dryRun: true }),
    enabled: plan !== '',
    retry: false,
  });
  const change = useMutation({
    mutationFn: () => api.post<AcceptedMigration>(`/tenants/${tenant.name}/change-plan`, { plan }),
    onSuccess: (accepted) => {
      setMigrationId(accepted.migration?.id);
      setPlan('');
      void client.invalidateQueries({ queryKey: tenantKey(tenant.name) });
    },
  });
  const migration = useQuery({
    queryKey: ['migration', migrationId],
    queryFn: () => api.get<Migration>(`/migrations/${migrationId}`),
    enabled: migrationId !== undefined,
    refetchInterval: (query) => (query.state.data?.state === 'running' || !query.state.data ? 1000 : false),
  });
  if (!tenant.allowedActions.includes('change_plan')) return null;
  const m = migration.data;
  const done = m ? (m.state === 'succeeded' ? m.steps.length : m.step ? m.steps.indexOf(m.step) + 1 : 0) : 0;
  return (
    <section className="card" aria-labelledby="plan-change-title">
      <h2 id="plan-change-title" className="card__title">
        Plan
      </h2>
      <form
        aria-label="Change plan"
        onSubmit={(e) => {
          e.preventDefault();
          change.mutate();
        }}
      >
        <div className="field">
          <label htmlFor="plan-change-plan">Change plan (now on {tenant.plan})</label>
          <select id="plan-change-plan" value={plan} onChange={(e) => setPlan(e.target.value)}>
            <option value="">Choose…</option>
            {(plans.data ?? [])
              .filter((p) => p.code !== tenant.plan && !p.archived)
              .map((p) => (
                <option key={p.code} value={p.code}>
                  {p.name}
                </option>
              ))}
          </select>
        </div>
        {preview.data ? (
          <div aria-live="polite">
            <p className="small">
              {preview.data.plan.movesDatabase || preview.data.plan.changesProcess
                ? `This moves the instance: about ${seconds(preview.data.plan.estimatedDowntimeMs)} of maintenance page for its users.`
                : 'The new limits apply at once; the instance keeps running.'}
            </p>
            <ol className="small">
              {preview.data.plan.actions.map((action) => (
                <li key={action}>{action}</li>
              ))}
            </ol>
          </div>
        ) : null}
        {preview.isError ? <Notice tone="error">{errorMessage(preview.error)}</Notice> : null}
        <button type="submit" className="button" disabled={!preview.data || change.isPending}>
          Change plan
        </button>
        {change.isError ? <Notice tone="error">{errorMessage(change.error)}</Notice> : null}
      </form>
      {m ? (
        <div aria-live="polite">
          <p className="small">
            Move to {m.to.plan}: {m.state === 'running' ? (m.step ?? 'queued') : m.state.replace('_', ' ')} ({done}/{m.steps.length} steps)
            {m.downtimeMs !== null ? ` — maintenance page for ${seconds(m.downtimeMs)}` : ''}
          </p>
          <progress max={m.steps.length} value={done} aria-label="Move progress" />
          {m.failureReason ? <Notice tone="error">{m.failureReason}</Notice> : null}
        </div>
      ) : null}
    </section>
  );
}
