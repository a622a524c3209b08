import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { ProvisioningProgress } from '../../components/provisioning';
import { usePlatformReadiness } from '../../components/readiness';
import { ErrorState, Loading, Notice, PageHeader } from '../../components/ui';
import { api, errorMessage } from '../../lib/api';
import { formatPrice, planPriceLabel } from '../../lib/format';
import { Field, FormError, PasswordChecklist, useForm, validateEmail, validatePassword } from '../../lib/forms';
import { Link, useLocation } from '../../lib/router';
import { storeTenant, useTenant, useTenantStream } from '../../lib/tenants';
import { useTitle } from '../../lib/title';
import type { Accepted, BillingSettings, Invoice, NameCheck, Plan, Subscription, Template, TenantQuota, User } from '../../lib/types';

/** The platform's subdomain rules, checked before asking the server (which also checks reserved names and uniqueness). */
export function validateSubdomain(name: string): string | undefined {
  if (!name) return 'Choose a name for your instance.';
  if (name.length < 3) return 'At least 3 characters.';
  if (name.length > 61) return 'At most 61 characters.';
  if (!/^[a-z0-9-]+$/.test(name)) return 'Use only lower-case letters, digits and hyphens.';
  if (name.startsWith('-') || name.endsWith('-')) return 'It cannot start or end with a hyphen.';
  if (name.includes('--')) return 'No two hyphens in a row.';
  return undefined;
}

/** `app.example.com` -> `.example.com`: tenants live next to the dashboard. */
function tenantSuffix(): string | undefined {
  const host = window.location.hostname;
  return host.startsWith('app.') ? `.${host.slice(4)}` : undefined;
}

export function templateIsUsable(template: Template): boolean {
  return template.available;
}

/** How much of a plan's per-account tenant limit the account uses; undefined when the plan has none. */
interface PlanRoom {
  used: number;
  limit: number;
  full: boolean;
}

function planRoom(plan: Plan, quota: TenantQuota[] | undefined): PlanRoom | undefined {
  const entry = quota?.find((q) => q.plan === plan.code);
  if (!entry || entry.limit === null) return undefined;
  return { used: entry.used, limit: entry.limit, full: entry.used >= entry.limit };
}

/** "1 of 1 Basic instances used", and what to do when none is left. */
function planRoomText(plan: Plan, room: PlanRoom): { usage: string; full?: string } {
  const usage = `${room.used} of ${room.limit} ${plan.name} instances used`;
  if (!room.full) return { usage };
  const which = room.used === 1 ? `your ${plan.name} instance` : `one of your ${plan.name} instances`;
  return { usage, full: `Limit reached. Delete ${which} or choose another plan.` };
}

function useDebounced<T>(value: T, delayMs: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setDebounced(value), delayMs);
    return () => window.clearTimeout(timer);
  }, [value, delayMs]);
  return debounced;
}

export function CreateInstancePage({ user }: { user: User }) {
  const [created, setCreated] = useState<string | undefined>();
  useTitle(created ? `Creating ${created}` : 'Create instance');
  return created ? <CreationProgress name={created} /> : <CreateForm user={user} onCreated={setCreated} />;
}

function CreateForm({ user, onCreated }: { user: User; onCreated: (name: string) => void }) {
  const client = useQueryClient();
  const { search } = useLocation();
  const templates = useQuery({ queryKey: ['templates'], queryFn: () => api.get<Template[]>('/templates') });
  const plans = useQuery({ queryKey: ['plans'], queryFn: () => api.get<Plan[]>('/plans') });
  // No Odoo installed: the banner above says the platform is not ready, not "try again in a minute".
  const readiness = usePlatformReadiness();
  // Operators are not held to per-account limits; customers see how much of each plan they use.
  const limited = user.role !== 'operator';
  const quota = useQuery({
    queryKey: ['tenant-quota'],
    queryFn: () => api.get<TenantQuota[]>('/tenant-quota'),
    enabled: limited,
  });
  const planIsFull = (plan: Plan) => planRoom(plan, quota.data)?.full === true;
  // Paid plans are paid online when the platform has a gateway: trial or pay now, chosen here.
  const billingSettings = useQuery({ queryKey: ['billing-settings'], queryFn: () => api.get<BillingSettings>('/billing/settings') });
  const [payment, setPayment] = useState<string>('');
  const form = useForm({ name: '', template: '', plan: search.get('plan') ?? '', adminEmail: user.email, adminPassword: '' }, (v) => ({
    name: validateSubdomain(v.name),
    template: v.template ? undefined : 'Choose a template.',
    plan: v.plan ? undefined : 'Choose a plan.',
    adminEmail: validateEmail(v.adminEmail),
    adminPassword: validatePassword(v.adminPassword, v.adminEmail),
  }));
  const { set } = form;

  // Sensible defaults once the catalogues arrive: the first usable template, the first plan.
  useEffect(() => {
    const usable = templates.data?.filter(templateIsUsable) ?? [];
    if (!form.values.template && usable[0]) set('template', usable[0].code);
  }, [templates.data, form.values.template, set]);
  // The first plan with room left, also when the plan asked for in the URL has none.
  useEffect(() => {
    if (!plans.data || (limited && !quota.data)) return;
    const current = plans.data.find((p) => p.code === form.values.plan);
    if (current && !planRoom(current, quota.data)?.full) return;
    const open = plans.data.find((p) => !planRoom(p, quota.data)?.full);
    if (open && open.code !== form.values.plan) set('plan', open.code);
  }, [plans.data, quota.data, limited, form.values.plan, set]);

  const name = form.values.name;
  const debouncedName = useDebounced(name, 250);
  const nameProblem = validateSubdomain(name);
  const availability = useQuery({
    queryKey: ['tenant-name', debouncedName],
    queryFn: ({ signal }) => api.get<NameCheck>(`/tenant-names/${encodeURIComponent(debouncedName)}`, { signal }),
    enabled: !validateSubdomain(debouncedName),
    staleTime: 5_000,
  });
  const checking = !nameProblem && (debouncedName !== name || availability.isFetching);
  const taken =
    !nameProblem && !checking && availability.data && !availability.data.available
      ? (availability.data.reason ?? 'This name is taken.')
      : undefined;
  const nameError = form.error('name') ?? (name && nameProblem && name.length >= 3 ? nameProblem : undefined) ?? taken;
  const suffix = tenantSuffix();

  const chosenPlan = plans.data?.find((p) => p.code === form.values.plan);
  const paymentChoices: Array<{ value: string; label: string }> =
    chosenPlan && !chosenPlan.free && billingSettings.data?.onlinePayment
      ? [
          ...(chosenPlan.trialDays > 0 ? [{ value: 'trial', label: `Start with the free ${chosenPlan.trialDays}-day trial` }] : []),
          ...chosenPlan.prices.map((price) => ({ value: price.interval, label: `Pay now: ${formatPrice(price)}` })),
        ]
      : [];
  const paymentChoice = paymentChoices.find((c) => c.value === payment)?.value ?? paymentChoices[0]?.value;
  const create = useMutation({
    mutationFn: (values: typeof form.values) =>
      api.post<Accepted>('/tenants', {
        name: values.name,
        template: values.template,
        plan: values.plan,
        adminEmail: values.adminEmail.trim(),
        adminPassword: values.adminPassword,
        ...(paymentChoice
          ? {
              billing:
                paymentChoice === 'trial'
                  ? { interval: chosenPlan?.prices[0]?.interval ?? 'month', trial: true }
                  : { interval: paymentChoice, trial: false },
            }
          : {}),
      }),
  });

  if (templates.isPending || plans.isPending || (limited && quota.isPending)) return <Loading label="Loading templates and plans…" />;
  if (templates.isError) return <ErrorState error={templates.error} onRetry={() => void templates.refetch()} />;
  if (plans.isError) return <ErrorState error={plans.error} onRetry={() => void plans.refetch()} />;
  if (quota.isError) return <ErrorState error={quota.error} onRetry={() => void quota.refetch()} />;
  const usableTemplates = templates.data.filter(templateIsUsable);
  const everyPlanFull = plans.data.every(planIsFull);

  return (
    <>
      <PageHeader title="Create instance" subtitle="Your own Odoo, ready in seconds." />
      {search.get('welcome') ? (
        <Notice tone="ok">Welcome, {user.name}! Your account is ready. Create your first Odoo instance below.</Notice>
      ) : null}
      {usableTemplates.length === 0 && readiness?.canCreateInstances !== false ? (
        <Notice tone="warn">No template is ready yet: the platform is still preparing them. Try again in a minute.</Notice>
      ) : null}
      <form
        className="card form-card"
        noValidate
        onSubmit={form.handleSubmit(async (values) => {
          if (taken) throw new Error(taken);
          const result = await create.mutateAsync(values);
          storeTenant(client, result.tenant);
          void client.invalidateQueries({ queryKey: ['tenants'] });
          void client.invalidateQueries({ queryKey: ['tenant-quota'] });
          onCreated(result.tenant.name);
        })}
      >
        <FormError message={form.formError} />
        <Field
          label="Name (subdomain)"
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          inputMode="url"
          maxLength={61}
          required
          {...form.bind('name')}
          onChange={(event) => set('name', event.target.value.trim().toLowerCase())}
          error={nameError}
          hint={`Lower-case letters, digits and hyphens; 3 to 61 characters.${suffix ? ` Your Odoo's address: <name>${suffix}` : ''}`}
          after={
            <p className="field__status" aria-live="polite">
              {checking && name ? 'Checking…' : null}
              {!checking && !nameProblem && availability.data?.available ? (
                <span className="ok-text">
                  <span aria-hidden="true">✓</span> {availability.data.name}
                  {suffix} is available
                </span>
              ) : null}
            </p>
          }
        />

        <fieldset className="choice-group" aria-describedby={form.error('template') ? 'template-error' : undefined}>
          <legend>Template</legend>
          <div className="choices">
            {templates.data.map((template) => {
              const usable = templateIsUsable(template);
              return (
                <label key={template.code} className={`choice${usable ? '' : ' choice--disabled'}`}>
                  <input
                    type="radio"
                    name="template"
                    value={template.code}
                    checked={form.values.template === template.code}
                    disabled={!usable}
                    onChange={() => set('template', template.code)}
                  />
                  <span className="choice__body">
                    <span className="choice__title">{template.name}</span>
                    <span className="choice__text">{template.description}</span>
                    {!usable ? <span className="choice__note">Not available yet</span> : null}
                  </span>
                </label>
              );
            })}
          </div>
          {form.error('template') ? (
            <p className="field__error" id="template-error">
              {form.error('template')}
            </p>
          ) : null}
        </fieldset>

        <fieldset className="choice-group" aria-describedby={form.error('plan') ? 'plan-error' : undefined}>
          <legend>Plan</legend>
          <div className="choices">
            {plans.data.map((plan) => {
              const room = planRoom(plan, quota.data);
              const text = room ? planRoomText(plan, room) : undefined;
              return (
                <label key={plan.code} className={`choice${room?.full ? ' choice--disabled' : ''}`} data-plan={plan.code}>
                  <input
                    type="radio"
                    name="plan"
                    value={plan.code}
                    checked={form.values.plan === plan.code}
                    disabled={room?.full}
                    onChange={() => set('plan', plan.code)}
                  />
                  <span className="choice__body">
                    <span className="choice__title">
                      {plan.name} <span className="choice__price">{planPriceLabel(plan)}</span>
                    </span>
                    <span className="choice__text">
                      {plan.limits.odooUsers} users · {plan.limits.storageGiB} GiB ·{' '}
                      {plan.placement.processStrategy === 'pool' ? 'shared Odoo' : 'dedicated Odoo'}
                    </span>
                    {text ? <span className="choice__usage">{text.usage}</span> : null}
                    {text?.full ? <span className="choice__note">{text.full}</span> : null}
                  </span>
                </label>
              );
            })}
          </div>
          {form.error('plan') ? (
            <p className="field__error" id="plan-error">
              {form.error('plan')}
            </p>
          ) : null}
        </fieldset>

        {paymentChoices.length > 0 ? (
          <fieldset className="choice-group">
            <legend>Payment</legend>
            {paymentChoices.map((choice) => (
              <label key={choice.value} className="choice">
                <input
                  type="radio"
                  name="payment"
                  value={choice.value}
                  checked={paymentChoice === choice.value}
                  onChange={() => setPayment(choice.value)}
                />
                <span className="choice__body">
                  <span className="choice__title">{choice.label}</span>
                  {choice.value !== 'trial' ? (
                    <span className="choice__text">You pay on the payment page next; the instance is set up once paid.</span>
                  ) : null}
                </span>
              </label>
            ))}
          </fieldset>
        ) : null}

        <div className="form-grid">
          <Field
            label="Odoo admin email"
            type="email"
            autoComplete="email"
            required
            {...form.bind('adminEmail')}
            error={form.error('adminEmail')}
            hint="You log in to your Odoo with this email."
          />
          <Field
            label="Odoo admin password"
            type="password"
            autoComplete="new-password"
            required
            {...form.bind('adminPassword')}
            error={form.error('adminPassword')}
            after={<PasswordChecklist password={form.values.adminPassword} email={form.values.adminEmail} />}
          />
        </div>
        <div className="form-actions">
          <Link to="/instances" className="button button--ghost">
            Cancel
          </Link>
          <button
            type="submit"
            className="button button--primary"
            disabled={form.submitting || usableTemplates.length === 0 || everyPlanFull}
          >
            {form.submitting ? 'Creating…' : 'Create instance'}
          </button>
        </div>
      </form>
    </>
  );
}

function CreationProgress({ name }: { name: string }) {
  const tenant = useTenant(name);
  const stream = useTenantStream(name, tenant.isSuccess);
  if (!tenant.data) return <Loading label="Starting…" />;
  const t = tenant.data;
  return (
    <>
      <PageHeader title={t.state === 'running' ? t.name : `Creating ${t.name}`} subtitle={t.hostName} />
      {t.state === 'pending_payment' ? (
        <PendingPayment tenantId={t.id} />
      ) : (
        <ProvisioningProgress tenant={t} events={stream.events} status={stream.status} />
      )}
      <div className="form-actions form-actions--start">
        {t.state === 'running' ? (
          <a className="button button--primary button--large" href={t.url} target="_blank" rel="noopener noreferrer">
            Open {t.name}
            <span className="visually-hidden"> (opens in a new tab)</span>
          </a>
        ) : null}
        <Link to={`/instances/${t.name}`} className="button button--secondary">
          Go to the instance page
        </Link>
      </div>
      {t.state === 'running' ? (
        <p className="muted">
          Log in to Odoo as <strong>{t.adminLogin}</strong> with the password you chose.
        </p>
      ) : null}
    </>
  );
}

/**
 * A tenant waiting for its first payment: what happens, and the way to the payment page (the
 * open invoice of its subscription, paid through the platform's gateway).
 */
export function PendingPayment({ tenantId }: { tenantId: string }) {
  const subscriptions = useQuery({ queryKey: ['subscriptions'], queryFn: () => api.get<Subscription[]>('/billing/subscriptions') });
  const subscription = subscriptions.data?.find((s) => s.tenantId === tenantId);
  const invoices = useQuery({
    queryKey: ['invoices', subscription?.id],
    queryFn: () => api.get<Invoice[]>(`/billing/invoices?subscriptionId=${subscription?.id}`),
    enabled: subscription !== undefined,
  });
  const open = invoices.data?.find((i) => i.status === 'open');
  const pay = useMutation({
    mutationFn: () => api.post<{ url: string }>(`/billing/invoices/${open?.id}/checkout`),
    onSuccess: ({ url }) => window.location.assign(url),
  });
  return (
    <Notice tone="warn">
      <p>
        Waiting for payment: the instance is set up as soon as its first invoice{open ? ` (${open.number})` : ''} is paid. Unpaid after 24
        hours, it is deleted.
      </p>
      {open ? (
        <button type="button" className="button button--primary" onClick={() => pay.mutate()} disabled={pay.isPending}>
          Pay now
        </button>
      ) : null}
      {pay.isError ? <p className="field__error">{errorMessage(pay.error)}</p> : null}
    </Notice>
  );
}
