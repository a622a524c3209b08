import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { BillingOverview, CreditNoteView, InvoiceView, SubscriptionView } from '../billing/index.js';
import type { ApiClient } from './client.js';

/** `saasctl billing ...`: the operator's billing tasks over the API (docs/operations/billing.md). */
interface Io {
  client(): ApiClient;
  printJson(value: unknown): void;
  printTable(rows: Record<string, string | number>[]): void;
}

/** Formats an amount as invoices do; set before a billing command runs (see the preAction hook). */
let amount: (minor: number, currency: string) => string = (minor, currency) => `${currency} ${minor}`;
const day = (iso: string | null) => (iso ? iso.slice(0, 10) : '');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function query(params: Record<string, string | undefined>): string {
  const entries = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
  return entries.length ? `?${new URLSearchParams(entries).toString()}` : '';
}

/** An invoice's id from its id or its number (INV-2026-000042), which is what operators are told. */
async function invoiceId(io: Io, idOrNumber: string): Promise<string> {
  if (UUID.test(idOrNumber)) return idOrNumber;
  if (!/^INV-\d{4}-\d+$/i.test(idOrNumber))
    throw new Error(`${idOrNumber} is neither an invoice id nor an invoice number (INV-<year>-<sequence>).`);
  for (let offset = 0; ; offset += 500) {
    const page = await io.client().get<InvoiceView[]>(`/billing/invoices?limit=500&offset=${offset}`);
    const found = page.find((i) => i.number.toUpperCase() === idOrNumber.toUpperCase());
    if (found) return found.id;
    if (page.length < 500) throw new Error(`No invoice ${idOrNumber}; see \`saasctl billing invoices\`.`);
  }
}

function positiveInteger(value: string, option: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 1) throw new Error(`${option} must be a whole number of at least 1, not ${value}.`);
  return parsed;
}

/** Polls a refund until the gateway answered and its credit note is issued (or it failed). */
async function untilSettled(io: Io, id: string, timeoutSeconds: number, quiet: boolean): Promise<CreditNoteView> {
  const bar =
    quiet || !process.stderr.isTTY ? undefined : new SingleBar({ format: ' {bar} | {status} {elapsed}s', stream: process.stderr });
  bar?.start(2, 0, { status: 'requested', elapsed: 0 });
  const started = Date.now();
  try {
    for (;;) {
      const note = await io.client().get<CreditNoteView>(`/billing/credit-notes/${id}`);
      const elapsed = Math.round((Date.now() - started) / 1000);
      bar?.update(note.status === 'requested' ? 1 : 2, { status: note.status, elapsed });
      if (note.status !== 'requested') return note;
      if (elapsed > timeoutSeconds)
        throw new Error(
          `The refund is still on its way to the gateway after ${timeoutSeconds} s; follow it with \`saasctl billing credit-notes\` (the billing-refund job retries).`,
        );
      // Polling: a refund has no event stream of its own.
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    bar?.stop();
  }
}

function noteRow(n: CreditNoteView): Record<string, string | number> {
  return {
    number: n.number ?? '',
    status: n.status,
    invoice: n.invoiceNumber,
    amount: amount(n.amountMinor, n.currency),
    gateway: n.gateway,
    requested: day(n.requestedAt),
    id: n.id,
    ...(n.failureReason ? { reason: n.failureReason } : {}),
  };
}

export function registerBillingCommands(program: Command, io: Io): void {
  const billing = program.command('billing').description('Subscriptions, invoices, refunds and credit notes (operators)');
  // billing/ loads zod and Stripe's SDK: only when a billing command runs, so other commands stay fast.
  billing.hook('preAction', async () => {
    const { formatMoney, money } = await import('../billing/index.js');
    amount = (minor, currency) => formatMoney(money(minor, currency));
  });

  billing
    .command('overview')
    .description('MRR per currency, subscriptions per state, churn and failed payments to look at')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const overview = await io.client().get<BillingOverview>('/billing/overview');
      if (options.json) return io.printJson(overview);
      const mrr = overview.mrr.map((m) => amount(m.amountMinor, m.currency)).join(', ') || 'none';
      process.stdout.write(`MRR: ${mrr}\n`);
      const counts = Object.entries(overview.counts)
        .map(([state, n]) => `${state} ${n}`)
        .join(', ');
      process.stdout.write(`Subscriptions: ${counts}\nChurned in the last 30 days: ${overview.churnedLast30Days}\n`);
      if (overview.failedPayments.length === 0) return void process.stdout.write('No failed payments to look at.\n');
      process.stdout.write('Failed payments to look at:\n');
      io.printTable(
        overview.failedPayments.map((f) => ({
          invoice: f.number,
          total: amount(f.totalMinor, f.currency),
          account: f.accountId,
          failed: day(f.failedAt),
        })),
      );
    });

  billing
    .command('subscriptions')
    .description('Subscriptions, newest first')
    .option('--account <id>', "one account's")
    .option('--json', 'machine-readable output')
    .action(async (options: { account?: string; json?: boolean }) => {
      const subs = await io.client().get<SubscriptionView[]>(`/billing/subscriptions${query({ accountId: options.account })}`);
      if (options.json) return io.printJson(subs);
      if (subs.length === 0) return void process.stdout.write('No subscriptions.\n');
      io.printTable(
        subs.map((s) => ({
          id: s.id,
          state: s.state,
          plan: `${s.plan}/${s.interval}`,
          price: amount(s.amountMinor, s.currency),
          'trial ends': day(s.trialEndsAt),
          'period ends': day(s.currentPeriodEnd),
          account: s.accountId,
        })),
      );
    });

  billing
    .command('invoices')
    .description('Invoices, newest first')
    .option('--account <id>', "one account's")
    .option('--subscription <id>', "one subscription's")
    .option('--limit <n>', 'how many', '50')
    .option('--json', 'machine-readable output')
    .action(async (options: { account?: string; subscription?: string; limit: string; json?: boolean }) => {
      const invoices = await io
        .client()
        .get<InvoiceView[]>(
          `/billing/invoices${query({ accountId: options.account, subscriptionId: options.subscription, limit: options.limit })}`,
        );
      if (options.json) return io.printJson(invoices);
      if (invoices.length === 0) return void process.stdout.write('No invoices.\n');
      io.printTable(
        invoices.map((i) => ({
          number: i.number,
          status: i.status,
          total: amount(i.totalMinor, i.currency),
          issued: day(i.issuedAt),
          paid: day(i.paidAt),
          id: i.id,
        })),
      );
    });

  billing
    .command('credit-notes')
    .description('Refunds and their credit notes, newest first')
    .option('--account <id>', "one account's")
    .option('--invoice <id-or-number>', "one invoice's")
    .option('--json', 'machine-readable output')
    .action(async (options: { account?: string; invoice?: string; json?: boolean }) => {
      const invoice = options.invoice ? await invoiceId(io, options.invoice) : undefined;
      const notes = await io
        .client()
        .get<CreditNoteView[]>(`/billing/credit-notes${query({ accountId: options.account, invoiceId: invoice })}`);
      if (options.json) return io.printJson(notes);
      if (notes.length === 0) return void process.stdout.write('No credit notes.\n');
      io.printTable(notes.map(noteRow));
    });

  billing
    .command('extend-trial <subscription-id>')
    .description("Extend a subscription's trial")
    .requiredOption('--days <n>', 'how many days more (1-365)')
    .option('--json', 'machine-readable output')
    .action(async (id: string, options: { days: string; json?: boolean }) => {
      const sub = await io.client().post<SubscriptionView>(`/billing/subscriptions/${encodeURIComponent(id)}/extend-trial`, {
        days: positiveInteger(options.days, '--days'),
      });
      if (options.json) return io.printJson(sub);
      process.stdout.write(`Trial of ${sub.id} now ends ${day(sub.trialEndsAt)}.\n`);
    });

  billing
    .command('portal')
    .description(
      "A link to the payment gateway's page where an account manages its saved card (Stripe's customer portal), to send to the customer",
    )
    .option('--account <id>', 'the account (operators; customers get their own)')
    .option('--json', 'machine-readable output')
    .action(async (options: { account?: string; json?: boolean }) => {
      const portal = await io
        .client()
        .post<{ url: string }>('/billing/payment-method/portal', options.account ? { accountId: options.account } : {});
      if (options.json) return io.printJson(portal);
      process.stdout.write(`${portal.url}\n`);
    });

  billing
    .command('mark-paid <invoice>')
    .description('Record a payment made outside the gateway (bank transfer); <invoice> is its id or number')
    .requiredOption('--reference <text>', 'the transfer reference (the same reference twice records one payment)')
    .option('--json', 'machine-readable output')
    .action(async (idOrNumber: string, options: { reference: string; json?: boolean }) => {
      const id = await invoiceId(io, idOrNumber);
      const invoice = await io.client().post<InvoiceView>(`/billing/invoices/${id}/mark-paid`, { reference: options.reference });
      if (options.json) return io.printJson(invoice);
      process.stdout.write(`Invoice ${invoice.number} is ${invoice.status} (${amount(invoice.totalMinor, invoice.currency)}).\n`);
    });

  billing
    .command('refund <invoice>')
    .description('Refund a paid invoice through the gateway that collected it and issue a credit note; <invoice> is its id or number')
    .requiredOption('--reason <text>', 'printed on the credit note')
    .option('--amount <minor>', "how much, tax included, in the currency's minor unit (cents); default: all that is left")
    .option('--no-wait', 'return once the refund is requested')
    .option('--timeout <seconds>', 'give up waiting after this long', '120')
    .option('--json', 'machine-readable output')
    .action(async (idOrNumber: string, options: { reason: string; amount?: string; wait: boolean; timeout: string; json?: boolean }) => {
      const id = await invoiceId(io, idOrNumber);
      let note = await io.client().post<CreditNoteView>(`/billing/invoices/${id}/refund`, {
        reason: options.reason,
        ...(options.amount ? { amountMinor: positiveInteger(options.amount, '--amount') } : {}),
      });
      if (options.wait) note = await untilSettled(io, note.id, Number(options.timeout), Boolean(options.json));
      if (options.json) io.printJson(note);
      if (note.status === 'failed') {
        if (!options.json) process.stderr.write(`Refund of ${note.invoiceNumber} failed: ${note.failureReason ?? 'no reason given'}\n`);
        process.exitCode = 1;
        return;
      }
      if (options.json) return;
      process.stdout.write(
        note.status === 'issued'
          ? `Refunded ${amount(note.amountMinor, note.currency)} of ${note.invoiceNumber}: credit note ${note.number}.\n`
          : `Refund of ${amount(note.amountMinor, note.currency)} of ${note.invoiceNumber} requested; follow it with \`saasctl billing credit-notes\`.\n`,
      );
    });
}
