import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { useState } from 'react';
import { ConfirmDialog, DefinitionList, EmptyState, Notice, PageHeader, QueryStatus, StateBadge } from '../../components/ui';
import { api, errorMessage, query } from '../../lib/api';
import { formatDateTime, formatMinor, humanize } from '../../lib/format';
import { useTitle } from '../../lib/title';
import type { CreditNote, Invoice, PaymentMethod, Plan, PlanChangePreview, Subscription, SubscriptionUsage } from '../../lib/types';

type MetricUsage = NonNullable<SubscriptionUsage['current']>['odooUsers'];

/** The customer's billing: subscriptions (with the past-due banner), plan changes, invoices. */
export function BillingPage() {
  useTitle('Billing');
  const subscriptions = useQuery({ queryKey: ['subscriptions'], queryFn: () => api.get<Subscription[]>('/billing/subscriptions') });
  const invoices = useQuery({
    queryKey: ['invoices'],
    queryFn: () => api.get<Invoice[]>(`/billing/invoices${query({ limit: 100 })}`),
  });
  return (
    <>
      <PageHeader title="Billing" subtitle="Your subscriptions and invoices" />
      {(subscriptions.data ?? [])
        .filter((s) => s.pastDue)
        .map((s) => (
          <Notice key={s.id} tone="warn">
            Payment for the {s.plan} plan failed {s.pastDue?.day === 0 ? 'today' : `${s.pastDue?.day} days ago`}.{' '}
            {s.pastDue?.suspendsAt
              ? `Your instances are suspended on ${formatDateTime(s.pastDue.suspendsAt)} unless the open invoice is paid.`
              : 'Your instances are suspended until the open invoice is paid.'}{' '}
            Plan changes wait until then.
          </Notice>
        ))}
      <QueryStatus query={subscriptions} loading="Loading subscriptions…" />
      {subscriptions.data?.length === 0 ? (
        <EmptyState title="No subscriptions">Free plans need none; paid plans start one when you create an instance.</EmptyState>
      ) : null}
      {(subscriptions.data ?? []).map((s) => (
        <SubscriptionCard key={s.id} subscription={s} />
      ))}
      <PaymentMethodSection />
      <section className="card" aria-labelledby="invoices-title">
        <h2 id="invoices-title" className="card__title">
          Invoices
        </h2>
        <QueryStatus query={invoices} loading="Loading invoices…" />
        {invoices.data?.length === 0 ? <p className="muted">No invoices yet.</p> : null}
        {invoices.data && invoices.data.length > 0 ? <InvoiceTable invoices={invoices.data} /> : null}
      </section>
      <CreditNotesSection />
    </>
  );
}

/**
 * The card renewals are charged to, and the gateway's page to change it (Stripe's customer
 * portal); a gateway without one says what to do instead. Hidden when payments are not online.
 */
function PaymentMethodSection() {
  const method = useQuery({ queryKey: ['payment-method'], queryFn: () => api.get<PaymentMethod>('/billing/payment-method') });
  const portal = useMutation({
    mutationFn: () => api.post<{ url: string }>('/billing/payment-method/portal', {}),
    onSuccess: ({ url }) => window.location.assign(url),
  });
  const data = method.data;
  if (!data || data.gateway === 'manual') return null;
  return (
    <section className="card" aria-labelledby="payment-method-title">
      <h2 id="payment-method-title" className="card__title">
        Payment method
      </h2>
      <p>
        {data.saved
          ? `Renewals are charged to ${data.saved.label ?? 'the card you paid with'} (saved ${formatDateTime(data.saved.savedAt)}).`
          : 'No card is saved yet: the card you pay your first invoice with online is charged for renewals.'}
      </p>
      {data.portal ? (
        <button type="button" className="button" onClick={() => portal.mutate()} disabled={portal.isPending || !data.saved}>
          Manage payment method
        </button>
      ) : (
        <p className="muted">{data.noPortalReason}</p>
      )}
      {portal.isError ? <p className="field__error">{errorMessage(portal.error)}</p> : null}
    </section>
  );
}

/** Credit notes (refunds), with their PDFs once issued; shown only when there are any. */
export function CreditNotesSection() {
  const notes = useQuery({
    queryKey: ['credit-notes'],
    queryFn: () => api.get<CreditNote[]>(`/billing/credit-notes${query({ limit: 100 })}`),
    // A refund turns from requested to issued once the gateway answered.
    refetchInterval: (q) => (q.state.data?.some((n) => n.status === 'requested') ? 1000 : false),
  });
  if (!notes.data || notes.data.length === 0) return null;
  return (
    <section className="card" aria-labelledby="credit-notes-title">
      <h2 id="credit-notes-title" className="card__title">
        Credit notes
      </h2>
      <div className="table-wrap">
        <table className="table table--cards">
          <caption className="visually-hidden">Credit notes</caption>
          <thead>
            <tr>
              <th scope="col">Number</th>
              <th scope="col">Invoice</th>
              <th scope="col">Amount</th>
              <th scope="col">Reason</th>
              <th scope="col">Status</th>
              <th scope="col">PDF</th>
            </tr>
          </thead>
          <tbody>
            {notes.data.map((n) => (
              <tr key={n.id}>
                <td data-label="Number">{n.number ?? '—'}</td>
                <td data-label="Invoice">{n.invoiceNumber}</td>
                <td data-label="Amount">{formatMinor(n.amountMinor, n.currency)}</td>
                <td data-label="Reason">{n.reason}</td>
                <td data-label="Status">
                  <StateBadge state={n.status} label={n.status === 'failed' ? `failed: ${n.failureReason ?? ''}` : n.status} />
                </td>
                <td data-label="PDF">
                  {n.status === 'issued' && n.number ? (
                    <a href={`/api/v1/billing/credit-notes/${n.id}/pdf`} download={`${n.number}.pdf`}>
                      Download
                    </a>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function SubscriptionCard({ subscription: s }: { subscription: Subscription }) {
  const client = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const act = useMutation({
    mutationFn: (action: 'cancel' | 'undo-cancel' | 'reactivate') => api.post<Subscription>(`/billing/subscriptions/${s.id}/${action}`),
    onSuccess: () => {
      setConfirming(false);
      void client.invalidateQueries({ queryKey: ['subscriptions'] });
      void client.invalidateQueries({ queryKey: ['invoices'] });
    },
  });
  const running = s.state === 'trialing' || s.state === 'active';
  return (
    <section className="card" aria-label={`Subscription to ${s.plan}`}>
      <h2 className="card__title">
        {humanize(s.plan)} plan <StateBadge state={s.state} label={humanize(s.state)} />
      </h2>
      <DefinitionList
        items={[
          [
            'Price',
            `${formatMinor(s.amountMinor, s.currency)} / ${s.interval}${s.taxRateBasisPoints ? ` + ${s.taxRateBasisPoints / 100}% tax` : ''}`,
          ],
          ...(s.trialEndsAt && s.state === 'trialing' ? ([['Trial ends', formatDateTime(s.trialEndsAt)]] as Array<[string, string]>) : []),
          ...(s.currentPeriodEnd && running
            ? ([[s.cancelAtPeriodEnd ? 'Ends' : 'Renews', formatDateTime(s.currentPeriodEnd)]] as Array<[string, string]>)
            : []),
          ...(s.scheduledPlan
            ? ([['Next period', `${humanize(s.scheduledPlan.plan)} plan, ${s.scheduledPlan.interval}ly`]] as Array<[string, string]>)
            : []),
          ...(s.planAwaitingPayment
            ? ([['Plan change', `${humanize(s.planAwaitingPayment)} once the open invoice is paid`]] as Array<[string, string]>)
            : []),
          ...(s.endedAt ? ([['Ended', formatDateTime(s.endedAt)]] as Array<[string, string]>) : []),
        ]}
      />
      {running && s.state === 'active' && (s.perUser || s.perStorageGiB) ? <UsageSoFar subscription={s} /> : null}
      {running ? <ChangePlan subscription={s} /> : null}
      <div className="actions">
        {running && !s.cancelAtPeriodEnd ? (
          <button type="button" className="button button--secondary" onClick={() => setConfirming(true)}>
            Cancel at end of term
          </button>
        ) : null}
        {running && s.cancelAtPeriodEnd ? (
          <button type="button" className="button" onClick={() => act.mutate('undo-cancel')}>
            Keep my subscription
          </button>
        ) : null}
        {s.state === 'cancelled' || s.state === 'expired' ? (
          <button type="button" className="button" onClick={() => act.mutate('reactivate')}>
            Reactivate (pay the first period now)
          </button>
        ) : null}
      </div>
      {act.isError ? <Notice tone="error">{errorMessage(act.error)}</Notice> : null}
      <ConfirmDialog
        open={confirming}
        title="Cancel at the end of the term?"
        confirmLabel="Cancel subscription"
        busy={act.isPending}
        body={`Your instances keep running until ${formatDateTime(s.currentPeriodEnd ?? s.trialEndsAt)}; their data is then kept for 30 days.`}
        onConfirm={() => act.mutate('cancel')}
        onCancel={() => setConfirming(false)}
      />
    </section>
  );
}

/** The current period's billable usage so far (peak of daily maxima) and the extra charge it would add to the renewal. */
function UsageSoFar({ subscription: s }: { subscription: Subscription }) {
  const usage = useQuery({
    queryKey: ['subscription-usage', s.id],
    queryFn: () => api.get<SubscriptionUsage>(`/billing/subscriptions/${s.id}/usage`),
  });
  const current = usage.data?.current;
  const metric = (label: string, m: MetricUsage, unit: string): [string, string] => [
    label,
    m.peak === null
      ? 'nothing measured yet'
      : `peak ${m.peak} ${unit}${m.peakDay ? ` (${m.peakDay})` : ''}, ${m.included ?? 0} included${m.extra > 0 ? `: ${m.extra} extra, ${formatMinor(m.amountMinor, s.currency)}` : ''}`,
  ];
  return (
    <section aria-label="Usage this period">
      <h3 className="card__title">Usage this period</h3>
      <QueryStatus query={usage} loading="Loading usage…" />
      {current ? (
        <DefinitionList
          items={[
            ...(s.perUser ? [metric('Active users', current.odooUsers, 'users')] : []),
            ...(s.perStorageGiB ? [metric('Storage', current.storageGiB, 'GiB')] : []),
            [
              'Estimated extra charge',
              // A subscription ending at the period end has no renewal: its last usage gets a final invoice.
              `${formatMinor(current.estimatedExtraMinor, s.currency)} (${s.cancelAtPeriodEnd ? 'billed on a final invoice when the subscription ends' : 'billed with the renewal'}, plus tax)`,
            ],
          ]}
        />
      ) : usage.data ? (
        <p>No usage is metered for this subscription.</p>
      ) : null}
    </section>
  );
}

/** Change plan: the prorated amount is shown before confirming. */
function ChangePlan({ subscription: s }: { subscription: Subscription }) {
  const client = useQueryClient();
  const [plan, setPlan] = useState('');
  const [interval, setInterval] = useState<'month' | 'year'>(s.interval);
  // Paid plans on offer in this subscription's currency: the only ones it can change to.
  const plans = useQuery({ queryKey: ['plans'], queryFn: () => api.get<Plan[]>('/plans') });
  const choices = (plans.data ?? []).filter((p) => !p.free && p.prices.some((price) => price.currency === s.currency));
  const preview = useQuery({
    queryKey: ['change-preview', s.id, plan, interval],
    queryFn: () => api.post<PlanChangePreview>(`/billing/subscriptions/${s.id}/change-preview`, { plan, interval }),
    enabled: plan !== '',
    retry: false,
  });
  const change = useMutation({
    mutationFn: () => api.post<Subscription>(`/billing/subscriptions/${s.id}/change-plan`, { plan, interval }),
    onSuccess: () => {
      setPlan('');
      void client.invalidateQueries({ queryKey: ['subscriptions'] });
      void client.invalidateQueries({ queryKey: ['invoices'] });
    },
  });
  return (
    <form
      className="filters"
      aria-label="Plan change"
      onSubmit={(e) => {
        e.preventDefault();
        change.mutate();
      }}
    >
      <div className="field">
        <label htmlFor={`plan-${s.id}`}>Change plan</label>
        <select id={`plan-${s.id}`} value={plan} onChange={(e) => setPlan(e.target.value)}>
          <option value="">Choose…</option>
          {choices.map((p) => (
            <option key={p.code} value={p.code}>
              {p.name}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`interval-${s.id}`}>Billed</label>
        <select id={`interval-${s.id}`} value={interval} onChange={(e) => setInterval(e.target.value as 'month' | 'year')}>
          <option value="month">monthly</option>
          <option value="year">yearly</option>
        </select>
      </div>
      {preview.data ? (
        <p className="small" aria-live="polite">
          {preview.data.appliesAt === 'now' && preview.data.invoice
            ? `Applies now: ${formatMinor(preview.data.invoice.totalMinor, preview.data.invoice.currency)} is charged for the rest of this period.`
            : 'Applies when the current period ends; nothing is charged now.'}
        </p>
      ) : null}
      {preview.isError ? <Notice tone="error">{errorMessage(preview.error)}</Notice> : null}
      <button type="submit" className="button" disabled={!preview.data || change.isPending}>
        Confirm change
      </button>
      {change.isError ? <Notice tone="error">{errorMessage(change.error)}</Notice> : null}
    </form>
  );
}

export function InvoiceTable({ invoices, actions }: { invoices: Invoice[]; actions?: (invoice: Invoice) => ReactNode }) {
  return (
    <div className="table-wrap">
      <table className="table table--cards">
        <caption className="visually-hidden">Invoices</caption>
        <thead>
          <tr>
            <th scope="col">Number</th>
            <th scope="col">Issued</th>
            <th scope="col">For</th>
            <th scope="col">Total</th>
            <th scope="col">Status</th>
            <th scope="col">PDF</th>
            {actions ? <th scope="col">Actions</th> : null}
          </tr>
        </thead>
        <tbody>
          {invoices.map((invoice) => (
            <tr key={invoice.id}>
              <td data-label="Number">{invoice.number}</td>
              <td data-label="Issued">{formatDateTime(invoice.issuedAt)}</td>
              <td data-label="For">{humanize(invoice.reason)}</td>
              <td data-label="Total">{formatMinor(invoice.totalMinor, invoice.currency)}</td>
              <td data-label="Status">
                <StateBadge state={invoice.status} label={invoice.status} />
              </td>
              <td data-label="PDF">
                <a href={`/api/v1/billing/invoices/${invoice.id}/pdf`} download={`${invoice.number}.pdf`}>
                  Download
                </a>
              </td>
              {actions ? <td data-label="Actions">{actions(invoice)}</td> : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
