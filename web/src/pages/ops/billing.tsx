import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { DefinitionList, EmptyState, Notice, PageHeader, QueryStatus } from '../../components/ui';
import { api, errorMessage, query } from '../../lib/api';
import { formatDateTime, formatMinor, humanize } from '../../lib/format';
import { useTitle } from '../../lib/title';
import type { BillingOverview, Invoice } from '../../lib/types';
import { InvoiceTable } from '../portal/billing';

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
        {invoices.data && invoices.data.length > 0 ? <InvoiceTable invoices={invoices.data} /> : null}
      </section>
    </>
  );
}
