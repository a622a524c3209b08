import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { DefinitionList, EmptyState, ErrorState, Loading, Notice, PageHeader, StateBadge } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { formatDateTime, formatRelative, humanize } from '../../lib/format';
import { Field, FormError, useForm, validateRequired } from '../../lib/forms';
import { useTitle } from '../../lib/title';
import type { AccountDetail, ApiKey, AuditEntry, User } from '../../lib/types';
import { LinkedSignIns, TwoFactorCard, useTwoFactor } from './security';

export function AccountPage({ user }: { user: User }) {
  useTitle('Account');
  const account = useQuery({
    queryKey: ['account', user.accountId],
    queryFn: () => api.get<AccountDetail>(`/accounts/${user.accountId}`),
    enabled: user.accountId !== null,
  });
  return (
    <>
      <PageHeader title="Account" subtitle={account.data?.name} />
      <EmailVerification user={user} />
      <section className="card" aria-labelledby="profile-title">
        <h2 id="profile-title" className="card__title">
          You
        </h2>
        <DefinitionList
          items={[
            ['Name', user.name],
            ['Email', user.email],
            ['Email confirmed', user.emailVerified ? 'yes' : 'not yet'],
            ['Member since', formatDateTime(user.createdAt)],
          ]}
        />
      </section>
      {account.data ? (
        <section className="card" aria-labelledby="members-title">
          <h2 id="members-title" className="card__title">
            People in {account.data.name}
          </h2>
          <ul className="plain-list">
            {account.data.users.map((member) => (
              <li key={member.id}>
                <strong>{member.name}</strong> <span className="muted">{member.email}</span>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {account.isError ? <ErrorState error={account.error} /> : null}
      <TwoFactorCard />
      <LinkedSignIns />
      <ApiKeys />
      <Activity />
    </>
  );
}

function EmailVerification({ user }: { user: User }) {
  const resend = useMutation({ mutationFn: () => api.post('/auth/verify-email/resend') });
  if (user.emailVerified) return null;
  return (
    <Notice tone="info">
      Please confirm your email address with the link we sent to {user.email}.{' '}
      {resend.isSuccess ? (
        <strong>A new link is on its way.</strong>
      ) : (
        <button
          type="button"
          className="button button--small button--secondary"
          onClick={() => resend.mutate()}
          disabled={resend.isPending}
        >
          Send the link again
        </button>
      )}
      {resend.isError ? <span className="field__error"> {errorMessage(resend.error)}</span> : null}
    </Notice>
  );
}

function ApiKeys() {
  const client = useQueryClient();
  const keys = useQuery({ queryKey: ['api-keys'], queryFn: () => api.get<ApiKey[]>('/api-keys') });
  const [created, setCreated] = useState<ApiKey | undefined>();
  // With two-factor on, a new key needs a current code: a session alone cannot mint a lasting credential.
  const needsCode = useTwoFactor().data?.enabled === true;
  const form = useForm({ name: '', code: '' }, (v) => ({
    name: validateRequired(v.name, 'a name for the key', 80),
    code: needsCode && !v.code.trim() ? 'Enter the code from your authenticator app.' : undefined,
  }));
  // Revoking is safe to show at once: the key disappears now, and comes back if the platform refuses.
  const revoke = useMutation({
    mutationFn: (id: string) => api.delete(`/api-keys/${id}`),
    onMutate: async (id) => {
      await client.cancelQueries({ queryKey: ['api-keys'] });
      const previous = client.getQueryData<ApiKey[]>(['api-keys']);
      client.setQueryData<ApiKey[]>(['api-keys'], (list) => list?.filter((k) => k.id !== id));
      return { previous };
    },
    onError: (_error, _id, context) => client.setQueryData(['api-keys'], context?.previous),
    onSettled: () => void client.invalidateQueries({ queryKey: ['api-keys'] }),
  });
  return (
    <section className="card" aria-labelledby="keys-title">
      <h2 id="keys-title" className="card__title">
        API keys
      </h2>
      <p className="muted">
        For scripts and the API (<code>Authorization: Bearer sk_…</code>). A key is shown once, when it is created.
      </p>
      {created?.key ? (
        <Notice tone="ok">
          New key <strong>{created.name}</strong>: <code className="break">{created.key}</code> Copy it now; it will not be shown again.
        </Notice>
      ) : null}
      <form
        className="inline-form"
        noValidate
        onSubmit={form.handleSubmit(async (values) => {
          const key = await api.post<ApiKey>('/api-keys', { name: values.name.trim(), ...(needsCode ? { code: values.code.trim() } : {}) });
          setCreated(key);
          form.reset();
          await client.invalidateQueries({ queryKey: ['api-keys'] });
        })}
      >
        <FormError message={form.formError} />
        <Field label="Key name" placeholder="e.g. backup script" {...form.bind('name')} error={form.error('name')} />
        {needsCode ? (
          <Field label="Authentication code" autoComplete="one-time-code" {...form.bind('code')} error={form.error('code')} />
        ) : null}
        <button type="submit" className="button button--secondary" disabled={form.submitting}>
          Create key
        </button>
      </form>
      {keys.isPending ? <Loading /> : null}
      {keys.data && keys.data.length === 0 ? <p className="muted">No API keys.</p> : null}
      {keys.data && keys.data.length > 0 ? (
        <ul className="plain-list">
          {keys.data.map((key) => (
            <li key={key.id} className="key-row">
              <span>
                <strong>{key.name}</strong> <code>{key.prefix}…</code>
                <span className="muted small">
                  {' '}
                  created {formatRelative(key.createdAt)}, last used {key.lastUsedAt ? formatRelative(key.lastUsedAt) : 'never'}
                </span>
              </span>
              <button type="button" className="button button--small button--danger-outline" onClick={() => revoke.mutate(key.id)}>
                Revoke<span className="visually-hidden"> {key.name}</span>
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      {revoke.isError ? <p className="field__error">{errorMessage(revoke.error)}</p> : null}
    </section>
  );
}

/** Audit actions in words ("POST /api/v1/auth/login" -> "Logged in"); unknown ones as recorded. */
const ACTION_WORDS: Record<string, string> = {
  'POST /api/v1/auth/login': 'Logged in',
  'POST /api/v1/auth/logout': 'Logged out',
  'POST /api/v1/auth/register': 'Signed up',
  'POST /api/v1/auth/password-reset/confirm': 'Changed the password',
  'POST /api/v1/auth/verify-email': 'Confirmed the email address',
  'POST /api/v1/tenants': 'Created an instance',
  'POST /api/v1/api-keys': 'Created an API key',
  'DELETE /api/v1/api-keys/:id': 'Revoked an API key',
  'identity.login_second_factor': 'Logged in with a second factor',
  'identity.linked': 'Linked a sign-in provider',
  'identity.unlinked': 'Unlinked a sign-in provider',
  'identity.signed_up': 'Signed up through a sign-in provider',
  'identity.2fa_enrolled': 'Turned two-factor authentication on',
  'identity.2fa_removed': 'Turned two-factor authentication off',
  'identity.2fa_used': 'Used a two-factor code',
  'identity.2fa_failed': 'Entered a wrong two-factor code',
  'identity.recovery_code_used': 'Used a recovery code',
  'identity.recovery_codes_regenerated': 'Replaced the recovery codes',
};

function describeAction(entry: AuditEntry): string {
  const words = ACTION_WORDS[entry.action];
  if (words) return words;
  if (entry.action.startsWith('tenant.')) return `Instance: ${humanize(entry.action.slice('tenant.'.length)).toLowerCase()}`;
  return entry.action;
}

function Activity() {
  const audit = useQuery({ queryKey: ['audit', 'mine'], queryFn: () => api.get<AuditEntry[]>('/audit-log?limit=20') });
  return (
    <section className="card" aria-labelledby="activity-title">
      <h2 id="activity-title" className="card__title">
        Recent activity
      </h2>
      {audit.isPending ? <Loading /> : null}
      {audit.data && audit.data.length === 0 ? <EmptyState title="No activity yet" /> : null}
      {audit.data && audit.data.length > 0 ? (
        <ul className="plain-list">
          {audit.data.map((entry) => (
            <li key={entry.id}>
              <StateBadge state={entry.outcome} /> {describeAction(entry)}
              {entry.targetType === 'tenant' && entry.targetId ? <span className="muted"> · {entry.targetId}</span> : null}
              <span className="muted small"> · {formatRelative(entry.at)}</span>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
