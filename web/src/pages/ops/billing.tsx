import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { DefinitionList, Dialog, EmptyState, Notice, PageHeader, QueryStatus } from '../../components/ui';
import { api, errorMessage, query } from '../../lib/api';
import { formatDateTime, formatMinor, humanize, parseMinor } from '../../lib/format';
import { useTitle } from '../../lib/title';
import type { BillingOverview, CreditNote, Invoice, Subscription } from '../../lib/types';
import { CreditNotesSection, InvoiceTable } from '../portal/billing';

/** The operator's billing overview: MRR, subscriptions per state, churn, failed payments to look at. */
export function OpsBillingPage() {
  useTitle('Billing');
  const client = useQueryClient();
  const overview = useQuery({ queryKey: ['billing-overview'], queryFn: () => api.get<BillingOverview>('/billing/overview') });
  const invoices = useQuery({
    queryKey: ['invoices', 'all'],
    queryFn: () => api.get<Invoice[]>(`/billing/invoices${query({ limit: 100 })}`),
  });
  const markPaid = useMutation({
    mutationFn: (invoice: { id: string; reference: string }) =>
      api.post(`/billing/invoices/${invoice.id}/mark-paid`, { reference: invoice.reference }),
    onSuccess: () => void client.invalidateQueries(),
  });
  const data = overview.data;
  return (
    <>
      <PageHeader title="Billing" subtitle="Recurring revenue, subscriptions and payments to look at" />
      <QueryStatus query={overview} loading="Loading the overview…" />
      {data ? (
        <section className="card" aria-labelledby="mrr-title">
          <h2 id="mrr-title" className="card__title">
            Monthly recurring revenue
          </h2>
          <DefinitionList
            items={[
              ...(data.mrr.length === 0
                ? ([['MRR', 'none yet']] as Array<[string, string]>)
                : data.mrr.map((m): [string, string] => [`MRR (${m.currency})`, formatMinor(m.amountMinor, m.currency)])),
              ...Object.entries(data.counts).map(([state, count]): [string, string] => [humanize(state), String(count)]),
              ['Churned (30 days)', String(data.churnedLast30Days)],
            ]}
          />
        </section>
      ) : null}
      {data ? (
        <section className="card" aria-labelledby="failed-title">
          <h2 id="failed-title" className="card__title">
            Failed payments
          </h2>
          {data.failedPayments.length === 0 ? <EmptyState title="No failed payments to look at" /> : null}
          <ul className="plain-list">
            {data.failedPayments.map((f) => (
              <li key={f.invoiceId}>
                <strong>{f.number}</strong> {formatMinor(f.totalMinor, f.currency)}, failed {formatDateTime(f.failedAt)}{' '}
                <button
                  type="button"
                  className="button button--secondary"
                  onClick={() => {
                    const reference = window.prompt(`Transfer reference for ${f.number}`);
                    if (reference) markPaid.mutate({ id: f.invoiceId, reference });
                  }}
                >
                  Mark paid
                </button>
              </li>
            ))}
          </ul>
          {markPaid.isError ? <Notice tone="error">{errorMessage(markPaid.error)}</Notice> : null}
        </section>
      ) : null}
      <section className="card" aria-labelledby="all-invoices-title">
        <h2 id="all-invoices-title" className="card__title">
          Invoices
        </h2>
        <QueryStatus query={invoices} loading="Loading invoices…" />
        {invoices.data && invoices.data.length > 0 ? (
          <InvoiceTable invoices={invoices.data} actions={(invoice) => <InvoiceActions invoice={invoice} />} />
        ) : null}
      </section>
      <CreditNotesSection />
      <TrialsSection />
    </>
  );
}

/** Mark an open invoice paid (bank transfer), refund a paid one (in full or part). */
function InvoiceActions({ invoice }: { invoice: Invoice }) {
  const client = useQueryClient();
  const [open, setOpen] = useState<'mark-paid' | 'refund' | null>(null);
  const [reference, setReference] = useState('');
  const [amount, setAmount] = useState('');
  const [reason, setReason] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const close = () => {
    setOpen(null);
    setInvalid(null);
  };
  const act = useMutation({
    mutationFn: (request: { path: string; body: Record<string, unknown> }) =>
      api.post<Invoice | CreditNote>(`/billing/invoices/${invoice.id}/${request.path}`, request.body),
    onSuccess: () => {
      close();
      void client.invalidateQueries();
    },
  });
  if (invoice.status === 'void') return null;
  const submit = () => {
    if (open === 'mark-paid') return act.mutate({ path: 'mark-paid', body: { reference } });
    const minor = amount.trim() === '' ? undefined : parseMinor(amount, invoice.currency);
    if (minor === null || minor === 0) return setInvalid(`Enter an amount in ${invoice.currency}, such as 9.50, or leave it empty.`);
    act.mutate({ path: 'refund', body: { reason, ...(minor === undefined ? {} : { amountMinor: minor }) } });
  };
  return (
    <>
      <button
        type="button"
        className="button button--secondary"
        onClick={() => setOpen(invoice.status === 'open' ? 'mark-paid' : 'refund')}
      >
        {invoice.status === 'open' ? 'Mark paid' : 'Refund'}
      </button>
      <Dialog
        open={open !== null}
        title={open === 'mark-paid' ? `Mark ${invoice.number} paid` : `Refund ${invoice.number}`}
        onClose={close}
        footer={
          <>
            <button type="button" className="button button--ghost" onClick={close}>
              Cancel
            </button>
            <button type="submit" form={`invoice-action-${invoice.id}`} className="button button--primary" disabled={act.isPending}>
              {open === 'mark-paid' ? 'Mark paid' : 'Refund'}
            </button>
          </>
        }
      >
        <form
          id={`invoice-action-${invoice.id}`}
          onSubmit={(e) => {
            e.preventDefault();
            submit();
          }}
        >
          {open === 'mark-paid' ? (
            <div className="field">
              <label htmlFor={`reference-${invoice.id}`}>Transfer reference</label>
              <input id={`reference-${invoice.id}`} required value={reference} onChange={(e) => setReference(e.target.value)} />
            </div>
          ) : (
            <>
              <p className="small">
                Paid {formatMinor(invoice.totalMinor, invoice.currency)}. The money goes back through the gateway that collected it (marked
                paid by hand: send it back yourself); a credit note is issued.
              </p>
              <div className="field">
                <label htmlFor={`amount-${invoice.id}`}>Amount ({invoice.currency}, empty: all that is left)</label>
                <input id={`amount-${invoice.id}`} inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} />
              </div>
              <div className="field">
                <label htmlFor={`reason-${invoice.id}`}>Reason (printed on the credit note)</label>
                <input id={`reason-${invoice.id}`} required maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />
              </div>
            </>
          )}
        </form>
        {invalid ? <Notice tone="error">{invalid}</Notice> : null}
        {act.isError ? <Notice tone="error">{errorMessage(act.error)}</Notice> : null}
      </Dialog>
    </>
  );
}

/** Running trials, each extendable by some days. */
function TrialsSection() {
  const subscriptions = useQuery({ queryKey: ['subscriptions', 'all'], queryFn: () => api.get<Subscription[]>('/billing/subscriptions') });
  const trials = (subscriptions.data ?? []).filter((s) => s.state === 'trialing');
  return (
    <section className="card" aria-labelledby="trials-title">
      <h2 id="trials-title" className="card__title">
        Trials
      </h2>
      <QueryStatus query={subscriptions} loading="Loading subscriptions…" />
      {subscriptions.data && trials.length === 0 ? <p className="muted">No trials running.</p> : null}
      <ul className="plain-list">
        {trials.map((s) => (
          <ExtendTrial key={s.id} subscription={s} />
        ))}
      </ul>
    </section>
  );
}

function ExtendTrial({ subscription: s }: { subscription: Subscription }) {
  const client = useQueryClient();
  const [days, setDays] = useState('7');
  const extend = useMutation({
    mutationFn: () => api.post<Subscription>(`/billing/subscriptions/${s.id}/extend-trial`, { days: Number(days) }),
    onSuccess: () => void client.invalidateQueries({ queryKey: ['subscriptions'] }),
  });
  return (
    <li aria-label={`Trial ${s.id}`}>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          extend.mutate();
        }}
      >
        <span>
          <strong>{humanize(s.plan)}</strong> (account {s.accountId.slice(0, 8)}), ends{' '}
          {s.trialEndsAt ? formatDateTime(s.trialEndsAt) : '—'}
        </span>
        <div className="field">
          <label htmlFor={`days-${s.id}`}>Days</label>
          <input id={`days-${s.id}`} type="number" min={1} max={365} required value={days} onChange={(e) => setDays(e.target.value)} />
        </div>
        <button type="submit" className="button button--secondary" disabled={extend.isPending}>
          Extend trial
        </button>
      </form>
      {extend.isError ? <Notice tone="error">{errorMessage(extend.error)}</Notice> : null}
    </li>
  );
}
