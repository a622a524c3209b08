import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Loading, Notice } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { Field, FormError, useForm } from '../../lib/forms';
import { completeSecondFactor } from '../../lib/session';
import type { TotpEnrolment } from '../../lib/types';

/** Code fields accept what authenticator apps show (123 456) and recovery codes (abcd-efgh-…). */
export function validateCode(value: string): string | undefined {
  const compact = value.replace(/[\s-]/g, '');
  if (!compact) return 'Enter the code from your authenticator app.';
  if (/^\d+$/.test(compact) && compact.length !== 6) return 'The code has 6 digits.';
  return undefined;
}

/** The secret as an app shows it, in groups of four, with the otpauth:// link for phones. */
export function SecretForApp({ enrolment }: { enrolment: TotpEnrolment }) {
  return (
    <div className="secret-box">
      <p>
        In your authenticator app (Google Authenticator, 1Password, Aegis…), add an account with this key, or{' '}
        <a href={enrolment.otpauthUri}>open it on this device</a>:
      </p>
      <p>
        <span className="visually-hidden">Authenticator key: </span>
        <code className="secret-box__key" data-testid="totp-secret">
          {enrolment.secret.match(/.{1,4}/g)?.join(' ')}
        </code>
      </p>
    </div>
  );
}

/** Shown once: the user must take them now. */
export function RecoveryCodesNotice({ codes, onContinue }: { codes: string[]; onContinue?: () => void }) {
  return (
    <Notice tone="ok">
      <p>
        <strong>Two-factor authentication is on.</strong> Keep these recovery codes somewhere safe: each one lets you in once if you lose
        your phone. They will not be shown again.
      </p>
      <ul className="recovery-codes" aria-label="Recovery codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ul>
      {onContinue ? (
        <button type="button" className="button button--primary" onClick={onContinue}>
          I have saved them, continue
        </button>
      ) : null}
    </Notice>
  );
}

/**
 * The second step of a login: a code (or a recovery code) for users with two-factor, or, for
 * operators who must have it and do not yet, the set-up of an authenticator first.
 */
export function SecondFactorStep({ challenge, kind, onDone }: { challenge: string; kind: 'totp' | 'enrol'; onDone: () => Promise<void> }) {
  const [recoveryCodes, setRecoveryCodes] = useState<string[] | undefined>();
  const enrolment = useQuery({
    queryKey: ['login-enrolment', challenge],
    queryFn: () => api.post<TotpEnrolment>('/auth/login/enrol', { challenge }),
    enabled: kind === 'enrol',
    staleTime: Number.POSITIVE_INFINITY,
    retry: false,
  });
  const form = useForm({ code: '' }, (v) => ({ code: validateCode(v.code) }));

  if (recoveryCodes) return <RecoveryCodesNotice codes={recoveryCodes} onContinue={() => void onDone()} />;
  return (
    <>
      {kind === 'enrol' ? (
        <>
          <Notice tone="info">Operators must use two-factor authentication. Set it up now to continue.</Notice>
          {enrolment.isPending ? <Loading label="Preparing your key…" /> : null}
          {enrolment.isError ? <Notice tone="error">{errorMessage(enrolment.error)}</Notice> : null}
          {enrolment.data ? <SecretForApp enrolment={enrolment.data} /> : null}
        </>
      ) : (
        <p className="muted">Enter the 6-digit code from your authenticator app, or one of your recovery codes.</p>
      )}
      <form
        noValidate
        onSubmit={form.handleSubmit(async (values) => {
          const codes = await completeSecondFactor(challenge, values.code.trim());
          if (codes) setRecoveryCodes(codes);
          else await onDone();
        })}
      >
        <FormError message={form.formError} />
        <Field
          label="Authentication code"
          inputMode="text"
          autoComplete="one-time-code"
          autoFocus
          required
          {...form.bind('code')}
          error={form.error('code')}
        />
        <button type="submit" className="button button--primary button--block" disabled={form.submitting}>
          {form.submitting ? 'Checking…' : 'Verify'}
        </button>
      </form>
    </>
  );
}
