import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { PublicShell } from '../../components/layout';
import { Loading, Notice } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { Field, FormError, PasswordChecklist, useForm, validateEmail, validatePassword, validateRequired } from '../../lib/forms';
import { Link, navigate, useLocation } from '../../lib/router';
import { logIn, ME_KEY, markSignedIn } from '../../lib/session';
import { useTitle } from '../../lib/title';
import type { SignInProvider } from '../../lib/types';
import { SecondFactorStep } from './second-factor';

/** Where to go after logging in: the page that sent us here, if it is one of ours. */
function nextPath(search: URLSearchParams): string {
  const next = search.get('next');
  return next?.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export function LoginPage() {
  useTitle('Log in');
  const client = useQueryClient();
  const { search } = useLocation();
  // A sign-in with an external provider comes back here when a second factor is due.
  const [challenge, setChallenge] = useState<{ challenge: string; secondFactor: 'totp' | 'enrol' } | undefined>(() => {
    const fromUrl = search.get('challenge');
    const kind = search.get('secondFactor');
    return fromUrl && (kind === 'totp' || kind === 'enrol') ? { challenge: fromUrl, secondFactor: kind } : undefined;
  });
  const hasChallengeInUrl = search.has('challenge');
  const nextInUrl = search.get('next');
  useEffect(() => {
    // The challenge must not stay in the address bar (history, screenshots): keep only `next`.
    if (hasChallengeInUrl) window.history.replaceState(null, '', nextInUrl ? `/login?next=${encodeURIComponent(nextInUrl)}` : '/login');
  }, [hasChallengeInUrl, nextInUrl]);
  const form = useForm({ email: '', password: '' }, (v) => ({
    email: validateEmail(v.email),
    password: v.password ? undefined : 'Enter your password.',
  }));
  const finish = async () => {
    await client.resetQueries({ queryKey: ME_KEY });
    navigate(nextPath(search), { replace: true });
  };
  const signInError = search.get('signInError');
  const notice = search.get('reset')
    ? 'Your password was changed. Log in with the new one.'
    : search.get('verified')
      ? 'Email confirmed. Log in to continue.'
      : undefined;

  return (
    <PublicShell>
      <div className="auth-card card">
        <h1 tabIndex={-1} className="page-title">
          {challenge ? 'Two-factor authentication' : 'Log in'}
        </h1>
        {challenge ? (
          <SecondFactorStep challenge={challenge.challenge} kind={challenge.secondFactor} onDone={finish} />
        ) : (
          <>
            {notice ? <Notice tone="ok">{notice}</Notice> : null}
            {signInError ? <Notice tone="error">{signInError}</Notice> : null}
            <form
              noValidate
              onSubmit={form.handleSubmit(async (values) => {
                const result = await logIn(values.email.trim(), values.password);
                if (result.challenge) setChallenge(result.challenge);
                else await finish();
              })}
            >
              <FormError message={form.formError} />
              <Field label="Email" type="email" autoComplete="email" required {...form.bind('email')} error={form.error('email')} />
              <Field
                label="Password"
                type="password"
                autoComplete="current-password"
                required
                {...form.bind('password')}
                error={form.error('password')}
              />
              <button type="submit" className="button button--primary button--block" disabled={form.submitting}>
                {form.submitting ? 'Logging in…' : 'Log in'}
              </button>
            </form>
            <ProviderButtons next={search.get('next')} />
            <p className="auth-card__links">
              <Link to="/forgot-password">Forgot your password?</Link>
              <span>
                New here? <Link to="/signup">Create an account</Link>
              </span>
            </p>
          </>
        )}
      </div>
    </PublicShell>
  );
}

/** "Sign in with <provider>" for the identity providers the operator configured (none: nothing shown). */
function ProviderButtons({ next }: { next: string | null }) {
  const providers = useQuery({
    queryKey: ['auth-providers'],
    queryFn: () => api.get<SignInProvider[]>('/auth/providers'),
    staleTime: 300_000,
  });
  if (!providers.data || providers.data.length === 0) return null;
  const query = next?.startsWith('/') && !next.startsWith('//') ? `?next=${encodeURIComponent(next)}` : '';
  return (
    <div className="auth-card__providers">
      <p className="divider">
        <span>or</span>
      </p>
      {providers.data.map((provider) => (
        // A full page load, not the SPA router: the browser goes to the provider and back.
        <a key={provider.name} className="button button--secondary button--block" href={`${provider.startUrl}${query}`}>
          Sign in with {provider.displayName}
        </a>
      ))}
    </div>
  );
}

/** Where a sign-in with an external provider lands once the session cookie is set. */
export function SignedInPage() {
  useTitle('Signing in');
  const client = useQueryClient();
  const { search } = useLocation();
  const next = nextPath(search);
  useEffect(() => {
    markSignedIn();
    client.resetQueries({ queryKey: ME_KEY }).then(() => navigate(next, { replace: true }));
  }, [client, next]);
  return (
    <PublicShell>
      <Loading label="Signing you in…" />
    </PublicShell>
  );
}

export function SignupPage() {
  useTitle('Sign up');
  const client = useQueryClient();
  const form = useForm({ name: '', organization: '', email: '', password: '' }, (v) => ({
    name: validateRequired(v.name, 'your name', 100),
    organization: validateRequired(v.organization, 'your organisation', 120),
    email: validateEmail(v.email),
    password: validatePassword(v.password, v.email),
  }));

  return (
    <PublicShell>
      <div className="auth-card card">
        <h1 tabIndex={-1} className="page-title">
          Create your account
        </h1>
        <p className="muted">Your own Odoo in a minute. The Basic plan is free.</p>
        <form
          noValidate
          onSubmit={form.handleSubmit(async (values) => {
            const email = values.email.trim();
            await api.post('/auth/register', {
              name: values.name.trim(),
              organization: values.organization.trim(),
              email,
              password: values.password,
            });
            await logIn(email, values.password);
            await client.resetQueries({ queryKey: ME_KEY });
            navigate('/instances/new?welcome=1', { replace: true });
          })}
        >
          <FormError message={form.formError} />
          <Field label="Your name" autoComplete="name" required {...form.bind('name')} error={form.error('name')} />
          <Field
            label="Organisation"
            autoComplete="organization"
            required
            {...form.bind('organization')}
            error={form.error('organization')}
          />
          <Field label="Email" type="email" autoComplete="email" required {...form.bind('email')} error={form.error('email')} />
          <Field
            label="Password"
            type="password"
            autoComplete="new-password"
            required
            {...form.bind('password')}
            error={form.error('password')}
            after={<PasswordChecklist password={form.values.password} email={form.values.email} />}
          />
          <button type="submit" className="button button--primary button--block" disabled={form.submitting}>
            {form.submitting ? 'Creating your account…' : 'Create account'}
          </button>
        </form>
        <p className="auth-card__links">
          <span>
            Already have an account? <Link to="/login">Log in</Link>
          </span>
        </p>
      </div>
    </PublicShell>
  );
}

export function ForgotPasswordPage() {
  useTitle('Reset your password');
  const [sent, setSent] = useState(false);
  const form = useForm({ email: '' }, (v) => ({ email: validateEmail(v.email) }));
  return (
    <PublicShell>
      <div className="auth-card card">
        <h1 tabIndex={-1} className="page-title">
          Reset your password
        </h1>
        {sent ? (
          <Notice tone="ok">
            If an account exists for {form.values.email.trim()}, a link to set a new password is on its way. It works for 60 minutes.
          </Notice>
        ) : (
          <form
            noValidate
            onSubmit={form.handleSubmit(async (values) => {
              await api.post('/auth/password-reset/request', { email: values.email.trim() });
              setSent(true);
            })}
          >
            <p className="muted">We will email you a link to choose a new password.</p>
            <FormError message={form.formError} />
            <Field label="Email" type="email" autoComplete="email" required {...form.bind('email')} error={form.error('email')} />
            <button type="submit" className="button button--primary button--block" disabled={form.submitting}>
              {form.submitting ? 'Sending…' : 'Send the link'}
            </button>
          </form>
        )}
        <p className="auth-card__links">
          <Link to="/login">Back to log in</Link>
        </p>
      </div>
    </PublicShell>
  );
}

export function ResetPasswordPage() {
  useTitle('Choose a new password');
  const { search } = useLocation();
  const token = search.get('token') ?? '';
  const form = useForm({ password: '', confirm: '' }, (v) => ({
    password: validatePassword(v.password),
    confirm: v.confirm === v.password ? undefined : 'The two passwords differ.',
  }));
  return (
    <PublicShell>
      <div className="auth-card card">
        <h1 tabIndex={-1} className="page-title">
          Choose a new password
        </h1>
        {!token ? (
          <Notice tone="error">
            This link has no reset token. Open the link from the email again, or <Link to="/forgot-password">ask for a new one</Link>.
          </Notice>
        ) : (
          <form
            noValidate
            onSubmit={form.handleSubmit(async (values) => {
              await api.post('/auth/password-reset/confirm', { token, password: values.password });
              navigate('/login?reset=1', { replace: true });
            })}
          >
            <FormError message={form.formError} />
            {form.formError ? (
              <p className="small">
                Links work once and for 60 minutes: <Link to="/forgot-password">ask for a new one</Link>.
              </p>
            ) : null}
            <Field
              label="New password"
              type="password"
              autoComplete="new-password"
              required
              {...form.bind('password')}
              error={form.error('password')}
              after={<PasswordChecklist password={form.values.password} />}
            />
            <Field
              label="Repeat the new password"
              type="password"
              autoComplete="new-password"
              required
              {...form.bind('confirm')}
              error={form.error('confirm')}
            />
            <button type="submit" className="button button--primary button--block" disabled={form.submitting}>
              {form.submitting ? 'Saving…' : 'Set the new password'}
            </button>
          </form>
        )}
      </div>
    </PublicShell>
  );
}

export function VerifyEmailPage() {
  useTitle('Confirm your email');
  const { search } = useLocation();
  const token = search.get('token') ?? '';
  const [status, setStatus] = useState<'working' | 'done' | 'failed'>(token ? 'working' : 'failed');
  const [message, setMessage] = useState(token ? '' : 'This link has no confirmation token.');
  const started = useRef(false);
  const client = useQueryClient();

  useEffect(() => {
    // Tokens are single use: never send it twice (React's development double effects).
    if (!token || started.current) return;
    started.current = true;
    api
      .post('/auth/verify-email', { token })
      .then(() => {
        setStatus('done');
        void client.invalidateQueries({ queryKey: ME_KEY });
      })
      .catch((error: unknown) => {
        setStatus('failed');
        setMessage(errorMessage(error));
      });
  }, [token, client]);

  return (
    <PublicShell>
      <div className="auth-card card">
        <h1 tabIndex={-1} className="page-title">
          Confirm your email
        </h1>
        {status === 'working' ? <Loading label="Confirming…" /> : null}
        {status === 'done' ? (
          <>
            <Notice tone="ok">Your email address is confirmed. Thank you.</Notice>
            <p>
              <Link to="/" className="button button--primary">
                Continue
              </Link>
            </p>
          </>
        ) : null}
        {status === 'failed' ? (
          <Notice tone="error">{message} Links work once and for 7 days; log in and ask for a new one from your account page.</Notice>
        ) : null}
      </div>
    </PublicShell>
  );
}
