import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Loading, Notice, StateBadge } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { formatRelative } from '../../lib/format';
import { Field, FormError, useForm } from '../../lib/forms';
import type { LinkedIdentity, RecoveryCodes, TotpEnrolment, TwoFactorStatus } from '../../lib/types';
import { RecoveryCodesNotice, SecretForApp, validateCode } from '../auth/second-factor';

export const TWO_FACTOR_KEY = ['two-factor'] as const;

export function useTwoFactor() {
  return useQuery({ queryKey: TWO_FACTOR_KEY, queryFn: () => api.get<TwoFactorStatus>('/me/two-factor') });
}

/** One code field and a button: removing 2FA and replacing recovery codes both need a current code. */
function CodeAction({
  label,
  tone,
  onCode,
}: {
  label: string;
  tone: 'secondary' | 'danger-outline';
  onCode: (code: string) => Promise<void>;
}) {
  const form = useForm({ code: '' }, (v) => ({ code: validateCode(v.code) }));
  return (
    <form
      className="inline-form"
      noValidate
      onSubmit={form.handleSubmit(async (values) => {
        await onCode(values.code.trim());
        form.reset();
      })}
    >
      <FormError message={form.formError} />
      <Field label={`Code to ${label.toLowerCase()}`} autoComplete="one-time-code" {...form.bind('code')} error={form.error('code')} />
      <button type="submit" className={`button button--${tone}`} disabled={form.submitting}>
        {label}
      </button>
    </form>
  );
}

export function TwoFactorCard() {
  const client = useQueryClient();
  const status = useTwoFactor();
  const [enrolment, setEnrolment] = useState<TotpEnrolment | undefined>();
  const [recoveryCodes, setRecoveryCodes] = useState<string[] | undefined>();
  const start = useMutation({
    mutationFn: () => api.post<TotpEnrolment>('/me/two-factor'),
    onSuccess: (data) => {
      setRecoveryCodes(undefined);
      setEnrolment(data);
    },
  });
  const confirm = useForm({ code: '' }, (v) => ({ code: validateCode(v.code) }));
  const refresh = () => client.invalidateQueries({ queryKey: TWO_FACTOR_KEY });

  return (
    <section className="card" aria-labelledby="two-factor-title">
      <h2 id="two-factor-title" className="card__title">
        Two-factor authentication
      </h2>
      {status.isPending ? <Loading /> : null}
      {status.data ? (
        <p>
          <StateBadge state={status.data.enabled ? 'active' : 'off'} label={status.data.enabled ? 'On' : 'Off'} />{' '}
          {status.data.enabled
            ? `Logging in asks for a code from your authenticator app. ${status.data.recoveryCodesLeft} recovery codes left.`
            : 'Add a code from an authenticator app to your password, so a stolen password is not enough.'}
        </p>
      ) : null}
      {recoveryCodes ? <RecoveryCodesNotice codes={recoveryCodes} /> : null}
      {status.data && !status.data.enabled && !enrolment ? (
        <button type="button" className="button button--primary" onClick={() => start.mutate()} disabled={start.isPending}>
          Set up two-factor authentication
        </button>
      ) : null}
      {start.isError ? <p className="field__error">{errorMessage(start.error)}</p> : null}
      {enrolment && !status.data?.enabled ? (
        <>
          <SecretForApp enrolment={enrolment} />
          <form
            className="inline-form"
            noValidate
            onSubmit={confirm.handleSubmit(async (values) => {
              const result = await api.post<RecoveryCodes>('/me/two-factor/confirm', { code: values.code.trim() });
              setEnrolment(undefined);
              setRecoveryCodes(result.recoveryCodes);
              await refresh();
            })}
          >
            <FormError message={confirm.formError} />
            <Field label="Code from the app" autoComplete="one-time-code" {...confirm.bind('code')} error={confirm.error('code')} />
            <button type="submit" className="button button--primary" disabled={confirm.submitting}>
              Turn on
            </button>
          </form>
        </>
      ) : null}
      {status.data?.enabled ? (
        <>
          <CodeAction
            label="Replace recovery codes"
            tone="secondary"
            onCode={async (code) => {
              setRecoveryCodes((await api.post<RecoveryCodes>('/me/two-factor/recovery-codes', { code })).recoveryCodes);
              await refresh();
            }}
          />
          <CodeAction
            label="Turn off"
            tone="danger-outline"
            onCode={async (code) => {
              await api.post('/me/two-factor/remove', { code });
              setRecoveryCodes(undefined);
              await refresh();
            }}
          />
        </>
      ) : null}
    </section>
  );
}

export function LinkedSignIns() {
  const client = useQueryClient();
  const identities = useQuery({ queryKey: ['identities'], queryFn: () => api.get<LinkedIdentity[]>('/me/identities') });
  const unlink = useMutation({
    mutationFn: (id: string) => api.delete(`/me/identities/${id}`),
    onSettled: () => void client.invalidateQueries({ queryKey: ['identities'] }),
  });
  if (!identities.data || identities.data.length === 0) return null;
  return (
    <section className="card" aria-labelledby="identities-title">
      <h2 id="identities-title" className="card__title">
        Linked sign-ins
      </h2>
      <ul className="plain-list">
        {identities.data.map((identity) => (
          <li key={identity.id} className="key-row">
            <span>
              <strong>{identity.issuer}</strong> {identity.email ? <span className="muted">{identity.email}</span> : null}
              <span className="muted small"> · last used {identity.lastUsedAt ? formatRelative(identity.lastUsedAt) : 'never'}</span>
            </span>
            <button type="button" className="button button--small button--danger-outline" onClick={() => unlink.mutate(identity.id)}>
              Unlink<span className="visually-hidden"> {identity.issuer}</span>
            </button>
          </li>
        ))}
      </ul>
      {unlink.isError ? <Notice tone="error">{errorMessage(unlink.error)}</Notice> : null}
    </section>
  );
}
