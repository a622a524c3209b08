import { useState } from 'react';
import { errorMessage } from '../lib/api';
import { ACTION_LABELS, ACTION_SEGMENTS, CONFIRM_ACTIONS, useTenantAction } from '../lib/tenants';
import type { Tenant, TenantRequest } from '../lib/types';
import { ConfirmDialog, Spinner } from './ui';

const PRIMARY = new Set(['start', 'resume', 'cancel_delete', 'reactivate', 'retry']);
const DANGER = new Set(['schedule_delete', 'force_delete', 'terminate']);
/** Display order, so buttons do not jump around when the state changes. */
const ORDER: TenantRequest[] = [
  'start',
  'stop',
  'restart',
  'retry',
  'resume',
  'cancel_delete',
  'reactivate',
  'suspend',
  'schedule_delete',
  'terminate',
  'force_delete',
];

/** Buttons for exactly the actions the API says this caller may take now (tenant.allowedActions). */
export function TenantActions({ tenant, compact = false, exclude = [] }: { tenant: Tenant; compact?: boolean; exclude?: TenantRequest[] }) {
  const mutation = useTenantAction();
  const [confirming, setConfirming] = useState<TenantRequest | undefined>();
  const [pending, setPending] = useState<TenantRequest | undefined>();
  const [error, setError] = useState<string | undefined>();
  const actions = ORDER.filter((action) => tenant.allowedActions.includes(action) && ACTION_SEGMENTS[action] && !exclude.includes(action));

  function run(action: TenantRequest) {
    setConfirming(undefined);
    setPending(action);
    setError(undefined);
    mutation.mutate(
      { name: tenant.name, action },
      {
        onError: (e) => setError(errorMessage(e)),
        onSettled: () => setPending(undefined),
      },
    );
  }

  if (actions.length === 0) return null;
  const confirm = confirming ? CONFIRM_ACTIONS[confirming] : undefined;
  return (
    <div className="actions-wrap">
      <fieldset className={`actions${compact ? ' actions--compact' : ''}`}>
        <legend className="visually-hidden">Actions for {tenant.name}</legend>
        {actions.map((action) => (
          <button
            key={action}
            type="button"
            className={`button ${compact ? 'button--small ' : ''}${DANGER.has(action) ? 'button--danger-outline' : PRIMARY.has(action) ? 'button--primary' : 'button--secondary'}`}
            disabled={pending !== undefined}
            data-action={action}
            onClick={() => (CONFIRM_ACTIONS[action] ? setConfirming(action) : run(action))}
          >
            {pending === action ? <Spinner label="Working" /> : null}
            {(ACTION_LABELS[action] ?? action).replace('…', compact ? '' : '…')}
            {compact ? <span className="visually-hidden"> {tenant.name}</span> : null}
          </button>
        ))}
      </fieldset>
      {error ? (
        <p className="field__error" role="alert">
          {error}
        </p>
      ) : null}
      {confirm && confirming ? (
        <ConfirmDialog
          open
          title={confirm.title.replace('this instance', tenant.name).replace('this tenant', tenant.name)}
          body={<p>{confirm.body}</p>}
          confirmLabel={confirm.confirm}
          danger={DANGER.has(confirming)}
          onConfirm={() => run(confirming)}
          onCancel={() => setConfirming(undefined)}
        />
      ) : null}
    </div>
  );
}
