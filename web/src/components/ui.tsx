import { type ReactNode, useEffect, useId, useRef } from 'react';
import { errorMessage } from '../lib/api';
import { humanize } from '../lib/format';

export function Spinner({ label = 'Loading' }: { label?: string }) {
  return (
    <span className="spinner" role="status">
      <span className="visually-hidden">{label}</span>
    </span>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label}
    </div>
  );
}

export function EmptyState({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="empty">
      <h2 className="empty__title">{title}</h2>
      {children ? <div className="empty__body">{children}</div> : null}
      {action ? <div className="empty__action">{action}</div> : null}
    </div>
  );
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  return (
    <div className="alert alert--error" role="alert">
      <p>{errorMessage(error)}</p>
      {onRetry ? (
        <button type="button" className="button button--small" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/** What a page shows while its query loads or after it failed (with a retry button); nothing otherwise. */
export function QueryStatus({
  query,
  loading,
}: {
  query: { isPending: boolean; isError: boolean; error: unknown; refetch: () => unknown };
  loading?: string;
}) {
  if (query.isPending) return <Loading {...(loading ? { label: loading } : {})} />;
  if (query.isError) return <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  return null;
}

const STATE_TONE: Record<string, string> = {
  running: 'ok',
  ready: 'ok',
  active: 'ok',
  completed: 'ok',
  success: 'ok',
  enabled: 'ok',
  succeeded: 'ok',
  sent: 'ok',
  pending: 'busy',
  provisioning: 'busy',
  starting: 'busy',
  stopping: 'busy',
  building: 'busy',
  installing: 'busy',
  not_installed: 'warn',
  created: 'busy',
  retry: 'warn',
  pending_payment: 'warn',
  stopped: 'neutral',
  cancelled: 'neutral',
  draining: 'warn',
  suspended: 'warn',
  scheduled_for_deletion: 'danger',
  error: 'danger',
  failed: 'danger',
  failure: 'danger',
  disabled: 'neutral',
  terminated: 'neutral',
  deleted: 'neutral',
};

/** A state as a coloured label; the text says the state, colour only repeats it. */
export function StateBadge({ state, label }: { state: string; label?: string }) {
  const tone = STATE_TONE[state] ?? 'neutral';
  return (
    <span className={`badge badge--${tone}`} data-state={state}>
      {tone === 'busy' ? <span className="badge__pulse" aria-hidden="true" /> : null}
      {label ?? humanize(state)}
    </span>
  );
}

export function PageHeader({ title, children, subtitle }: { title: ReactNode; children?: ReactNode; subtitle?: ReactNode }) {
  return (
    <div className="page-header">
      <div className="page-header__text">
        <h1 tabIndex={-1} className="page-title">
          {title}
        </h1>
        {subtitle ? <p className="page-header__subtitle">{subtitle}</p> : null}
      </div>
      {children ? <div className="page-header__actions">{children}</div> : null}
    </div>
  );
}

/** A bar for used / total with its numbers in words (colour changes as it fills). */
export function CapacityBar({ used, total, label }: { used: number; total: number; label: string }) {
  const ratio = total > 0 ? Math.min(1, used / total) : 0;
  const tone = ratio >= 0.9 ? 'danger' : ratio >= 0.7 ? 'warn' : 'ok';
  return (
    <div className="capacity">
      {/* biome-ignore lint/a11y/useSemanticElements: <meter> cannot be styled consistently; this is its ARIA equivalent. */}
      <div
        className="capacity__track"
        role="meter"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={total}
        aria-valuenow={used}
        aria-valuetext={`${used} of ${total} (${Math.round(ratio * 100)}%)`}
      >
        <div className={`capacity__fill capacity__fill--${tone}`} style={{ width: `${ratio * 100}%` }} />
      </div>
      <span className="capacity__text">
        {used} / {total} <span className="muted">({Math.round(ratio * 100)}%)</span>
      </span>
    </div>
  );
}

/**
 * A modal question using the native <dialog>: focus moves into it, Escape closes it, and focus
 * returns to the button that opened it.
 */
export function Dialog({
  open,
  title,
  children,
  onClose,
  footer,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  onClose: () => void;
  footer: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  // Several dialogs may be on one page (one per server): each needs its own title id.
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} className="dialog" aria-labelledby={titleId} onClose={onClose} onCancel={onClose}>
      <h2 id={titleId} className="dialog__title">
        {title}
      </h2>
      <div className="dialog__body">{children}</div>
      <div className="dialog__footer">{footer}</div>
    </dialog>
  );
}

export function ConfirmDialog({
  open,
  title,
  body,
  confirmLabel,
  danger,
  busy,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  body: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  return (
    <Dialog
      open={open}
      title={title}
      onClose={onCancel}
      footer={
        <>
          <button type="button" className="button button--ghost" onClick={onCancel}>
            Cancel
          </button>
          <button type="button" className={`button ${danger ? 'button--danger' : 'button--primary'}`} onClick={onConfirm} disabled={busy}>
            {busy ? <Spinner label="Working" /> : null} {confirmLabel}
          </button>
        </>
      }
    >
      {body}
    </Dialog>
  );
}

export function DefinitionList({ items }: { items: Array<[string, ReactNode]> }) {
  return (
    <dl className="details">
      {items.map(([term, value]) => (
        <div className="details__row" key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Notice({ tone = 'info', children }: { tone?: 'info' | 'ok' | 'warn' | 'error'; children: ReactNode }) {
  return (
    <div className={`alert alert--${tone}`} role={tone === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}
