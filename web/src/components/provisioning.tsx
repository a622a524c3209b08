import type { StreamStatus } from '../lib/tenants';
import { PROVISIONING_STEPS, type ProvisioningStep, type Tenant, type TenantEvent } from '../lib/types';
import { StateBadge } from './ui';

/** What each provisioning step does, in words; a new step in the API fails the typecheck here until it has its words. */
const STEP_LABELS: Record<ProvisioningStep, string> = {
  template: 'Waiting for the template',
  placement: 'Choosing a database server',
  role: 'Creating the database role',
  clone: 'Copying the template database',
  neutralise: 'Neutralising the copy',
  filestore: 'Copying the files',
  identity: 'Setting its identity and admin login',
  serve: 'Starting Odoo',
  login_check: 'Checking the admin can log in',
};

/** The provisioning job's steps, in the order the API lists them. */
const STEPS = PROVISIONING_STEPS.map((key) => ({ key, label: STEP_LABELS[key] }));

/** "clone done in 12 ms" -> "12 ms". */
function duration(message: string | null): string | undefined {
  const match = /in (\d+ ?m?s)$/.exec(message ?? '');
  return match?.[1];
}

export function ProvisioningProgress({ tenant, events, status }: { tenant: Tenant; events: TenantEvent[]; status: StreamStatus }) {
  const steps = STEPS.filter((step) => step.key !== 'neutralise' || tenant.duplicateOf !== null);
  const done = new Map<string, TenantEvent>();
  for (const event of events) if (event.type === 'step' && event.step) done.set(event.step, event);
  // The tenant row knows the last finished step even when the stream joined late.
  const lastIndex = tenant.provisioningStep ? steps.findIndex((s) => s.key === tenant.provisioningStep) : -1;
  const finished = tenant.state !== 'provisioning' && tenant.state !== 'pending_payment' && tenant.state !== 'error';
  const isDone = (index: number) => finished || done.has(steps[index]?.key ?? '') || index <= lastIndex;
  const doneCount = steps.filter((_, index) => isDone(index)).length;
  const currentIndex = steps.findIndex((_, index) => !isDone(index));
  const failed = tenant.state === 'error';
  const running = tenant.state === 'running';
  const total = steps.length + 1; // the last stretch: starting -> running
  const value = running ? total : doneCount;

  return (
    <section className="card progress-card" aria-labelledby="progress-title">
      <div className="progress-card__head">
        <h2 id="progress-title" className="card__title">
          {running ? 'Your instance is ready' : failed ? 'Provisioning stopped' : 'Setting up your instance'}
        </h2>
        <StateBadge state={tenant.state} />
      </div>
      <div
        className="progress"
        role="progressbar"
        aria-label="Provisioning progress"
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={value}
      >
        <div className={`progress__fill${failed ? ' progress__fill--error' : ''}`} style={{ width: `${(value / total) * 100}%` }} />
      </div>
      <ol className="steps" aria-live="polite">
        {steps.map((step, index) => {
          const state = isDone(index)
            ? 'done'
            : failed && index === currentIndex
              ? 'failed'
              : index === currentIndex
                ? 'current'
                : 'pending';
          const event = done.get(step.key);
          return (
            <li key={step.key} className={`steps__item steps__item--${state}`} data-step={step.key} data-status={state}>
              <span className="steps__icon" aria-hidden="true">
                {state === 'done' ? '✓' : state === 'failed' ? '!' : state === 'current' ? '' : index + 1}
              </span>
              <span className="steps__label">{step.label}</span>
              <span className="steps__meta">
                {state === 'done'
                  ? (duration(event?.message ?? null) ?? 'done')
                  : state === 'current'
                    ? 'in progress'
                    : state === 'failed'
                      ? 'failed'
                      : ''}
                <span className="visually-hidden"> ({state})</span>
              </span>
            </li>
          );
        })}
        <li
          className={`steps__item steps__item--${running ? 'done' : tenant.state === 'starting' ? 'current' : 'pending'}`}
          data-step="running"
        >
          <span className="steps__icon" aria-hidden="true">
            {running ? '✓' : tenant.state === 'starting' ? '' : steps.length + 1}
          </span>
          <span className="steps__label">Ready to use</span>
          <span className="steps__meta">{running ? 'running' : tenant.state === 'starting' ? 'starting' : ''}</span>
        </li>
      </ol>
      {failed && tenant.stateReason ? <p className="field__error">{tenant.stateReason}</p> : null}
      {status === 'reconnecting' ? <p className="muted small">Connection lost; reconnecting…</p> : null}
    </section>
  );
}
