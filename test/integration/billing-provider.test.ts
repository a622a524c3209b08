import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BillingReads, type BuiltinBilling, HOUR_MS } from '../../src/billing/index.js';
import { AppError } from '../../src/errors/index.js';
import { changeTenantState, insertTenant, tenantPostgresNames } from '../../src/tenants/index.js';
import { requestTenantAsOperator, startPlatformForTenantRequests, type TenantRequestsPlatform } from '../helpers/platform.js';

/**
 * The built-in billing provider on the real platform (real PostgreSQL, no job workers: tenants
 * stay where billing's lifecycle requests put them, and the queued jobs are read back from
 * pg-boss). The billing clock is the test's: it travels through trials, renewals and dunning.
 */
let platform: TenantRequestsPlatform;
let now = new Date();
let provider: BuiltinBilling;
let reads: BillingReads;
const run = promisify(execFile);

const db = () => platform.test.platform.database.db;
const travel = (hours: number) => {
  now = new Date(now.getTime() + hours * HOUR_MS);
};

beforeAll(async () => {
  platform = await startPlatformForTenantRequests('billing', { clock: () => now });
  provider = platform.test.platform.billing.provider;
  reads = platform.test.platform.billing.reads;
  // A taxed plan, made through the API as an operator would.
  const created = await platform.test.http.post(
    '/api/v1/plans',
    {
      code: 'taxed',
      name: 'Taxed',
      limits: { cpu: 2, memoryMiB: 2048, storageGiB: 10, odooUsers: 10 },
      placement: { databaseStrategy: 'shared', processStrategy: 'dedicated', replicas: 1, limitPolicy: 'block' },
      prices: [{ interval: 'month', amountCents: 1900, currency: 'USD', taxRateBasisPoints: 1600 }],
      trialDays: 14,
    },
    { token: platform.operator.accessToken },
  );
  expect(created.status, created.text).toBe(201);
}, 120_000);

afterAll(async () => {
  await platform?.test.stop();
});

async function tenantState(id: string): Promise<string> {
  const row = await db().selectFrom('tenants').select('state').where('id', '=', id).executeTakeFirstOrThrow();
  return row.state;
}

/** A tenant brought to `running` the way its jobs would report it. */
async function runningTenant(plan = 'taxed'): Promise<string> {
  const { id } = await requestTenantAsOperator(platform, 'bill', plan);
  await changeTenantState(db(), id, 'provisioning_succeeded');
  await changeTenantState(db(), id, 'start_succeeded');
  return id;
}

async function newAccount(name: string): Promise<string> {
  const row = await db().insertInto('accounts').values({ name }).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

async function openInvoiceOf(subscriptionId: string) {
  const invoices = await reads.invoices({ accountId: null }, { subscriptionId, limit: 50, offset: 0 });
  const open = invoices.filter((i) => i.status === 'open');
  expect(open).toHaveLength(1);
  return open[0] as (typeof open)[number];
}

async function queuedJobs(queue: string): Promise<Array<Record<string, unknown>>> {
  const rows = await db()
    .withSchema('pgboss')
    .selectFrom('job' as never)
    .select(['data' as never])
    .where('name' as never, '=', queue as never)
    .execute();
  return rows.map((r) => (r as { data: Record<string, unknown> }).data);
}

async function pay(invoice: { id: string; totalMinor: number; currency: string }, status: 'succeeded' | 'failed', reference: string) {
  return provider.recordPayment({
    invoiceId: invoice.id,
    gateway: 'test-gateway',
    reference,
    status,
    amountMinor: invoice.totalMinor,
    currency: invoice.currency,
  });
}

async function billingEvents(subscriptionId: string): Promise<string[]> {
  const rows = await db()
    .selectFrom('domain_events')
    .select(['type', 'payload'])
    .where('stream', '=', `subscription:${subscriptionId}`)
    .orderBy('id')
    .execute();
  return rows.map((r) => {
    const p = r.payload as { toState?: string; status?: string };
    return `${r.type}:${p.toState ?? p.status}`;
  });
}

describe('trial -> trial ends -> payment fails -> suspended on day 7 -> payment succeeds -> resumed', () => {
  it('moves the tenant through its lifecycle as the subscription moves', async () => {
    const tenantId = await runningTenant();
    const accountId = platform.customer.accountId as string;
    const sub = await provider.subscribe({ accountId, tenantId, plan: 'taxed', interval: 'month', trial: true });
    expect(sub.state).toBe('trialing');

    // One trial per account: a second one is a 409 naming the trial.
    const second = await provider
      .subscribe({ accountId, tenantId: await runningTenant(), plan: 'taxed', interval: 'month', trial: true })
      .catch((e: AppError) => e);
    expect(second).toBeInstanceOf(AppError);
    expect(second).toMatchObject({ kind: 'conflict', field: 'trial', details: { code: 'trial_already_used' } });

    // A tenant has one live subscription: a second is a 409 naming the tenant, not a 500.
    await expect(provider.subscribe({ accountId, tenantId, plan: 'taxed', interval: 'month', trial: false })).rejects.toMatchObject({
      kind: 'conflict',
      field: 'tenant',
    });

    travel(14 * 24);
    await provider.sweep();
    expect((await reads.subscription({ accountId }, sub.id)).state).toBe('active');
    const invoice = await openInvoiceOf(sub.id);
    expect(invoice).toMatchObject({ reason: 'first_period', subtotalMinor: 1900, taxMinor: 304, totalMinor: 2204, currency: 'USD' });
    expect(invoice.number).toMatch(/^INV-\d{4}-\d{6}$/);
    expect(await queuedJobs('billing-collect')).toContainEqual({ invoiceId: invoice.id, attempt: expect.any(String) });

    // Day 0: the payment fails (as a gateway reports it).
    await pay(invoice, 'failed', 'attempt-1');
    const pastDue = await reads.subscription({ accountId }, sub.id);
    expect(pastDue.state).toBe('past_due');
    expect(pastDue.pastDue).toMatchObject({ day: 0 });
    expect(await tenantState(tenantId)).toBe('running');
    // Grace: no plan changes (409 saying why).
    await expect(
      provider.act(sub.id, {
        type: 'change_plan',
        price: { plan: 'premium', interval: 'month', amountMinor: 3900, currency: 'USD', taxRateBasisPoints: 0 },
      }),
    ).rejects.toMatchObject({ kind: 'conflict', details: { code: 'no_plan_changes_in_dunning' } });
  });

  it('suspends on day 7 and resumes at once on payment (a fresh subscription)', async () => {
    const accountId = await newAccount('Dunning Ltd');
    const tenantId = await runningTenant();
    const sub = await provider.subscribe({ accountId, tenantId, plan: 'taxed', interval: 'month', trial: true });
    travel(14 * 24);
    await provider.sweep();
    const invoice = await openInvoiceOf(sub.id);
    await pay(invoice, 'failed', `${sub.id}-day0`);
    travel(7 * 24 - 1);
    await provider.sweep();
    expect((await reads.subscription({ accountId }, sub.id)).state).toBe('past_due');
    expect(await tenantState(tenantId)).toBe('running');
    travel(1);
    await provider.sweep();
    expect((await reads.subscription({ accountId }, sub.id)).state).toBe('suspended');
    expect(await tenantState(tenantId)).toBe('suspended');
    // Retries were queued on days 1, 3 and 6 (plus the first collection).
    expect((await queuedJobs('billing-collect')).filter((d) => d.invoiceId === invoice.id)).toHaveLength(4);

    const paid = await pay(invoice, 'succeeded', `${sub.id}-day8`);
    expect(paid.subscription?.state).toBe('active');
    expect(await tenantState(tenantId)).toBe('starting');
    expect((await reads.invoice({ accountId }, invoice.id)).status).toBe('paid');
    // The same report again (a webhook redelivered): recorded once, applied once.
    expect(await pay(invoice, 'succeeded', `${sub.id}-day8`)).toEqual({ duplicate: true, subscription: null });
    const payments = await db().selectFrom('billing_payments').select('status').where('invoice_id', '=', invoice.id).execute();
    expect(payments.map((p) => p.status)).toEqual(['failed', 'succeeded']);
    expect(await billingEvents(sub.id)).toEqual(
      expect.arrayContaining([
        'billing.subscription_changed:trialing',
        'billing.subscription_changed:active',
        'billing.invoice_changed:open',
        'billing.payment_recorded:failed',
        'billing.subscription_changed:past_due',
        'billing.subscription_changed:suspended',
        'billing.payment_recorded:succeeded',
        'billing.invoice_changed:paid',
      ]),
    );
  });
});

describe('pending payment', () => {
  async function pendingTenant(accountId: string): Promise<string> {
    const name = `pend${Date.now().toString(36)}${Math.floor(Math.random() * 1000)}`;
    return db()
      .transaction()
      .execute(async (trx) => {
        const names = tenantPostgresNames(name);
        const tenant = await insertTenant(
          {
            name,
            account_id: accountId,
            plan_code: 'taxed',
            template_code: 'blank',
            state: 'pending_payment',
            database_name: names.databaseName,
            role_name: names.roleName,
            role_password_encrypted: 'unused',
            process_strategy: 'dedicated',
            runtime: 'process',
            admin_email: `admin@${name}.example.com`,
            admin_login: `admin@${name}.example.com`,
          },
          { message: 'tenant requested' },
          trx,
        );
        return tenant.id;
      });
  }

  it('unpaid after 24 h: the tenant is deleted and the invoice voided; not a millisecond earlier', async () => {
    const accountId = await newAccount('Late Payer');
    const tenantId = await pendingTenant(accountId);
    const sub = await provider.subscribe({ accountId, tenantId, plan: 'taxed', interval: 'month', trial: false });
    expect(sub.state).toBe('pending_payment');
    const invoice = await openInvoiceOf(sub.id);
    now = new Date(now.getTime() + 24 * HOUR_MS - 1);
    await provider.sweep();
    expect(await tenantState(tenantId)).toBe('pending_payment');
    now = new Date(now.getTime() + 1);
    await provider.sweep();
    expect((await reads.subscription({ accountId }, sub.id)).state).toBe('expired');
    expect(await tenantState(tenantId)).toBe('deleted');
    expect((await reads.invoice({ accountId }, invoice.id)).status).toBe('void');
  });

  it('paid: the tenant is provisioned', async () => {
    const accountId = await newAccount('Prompt Payer');
    const tenantId = await pendingTenant(accountId);
    const sub = await provider.subscribe({ accountId, tenantId, plan: 'taxed', interval: 'month', trial: false });
    travel(3);
    await pay(await openInvoiceOf(sub.id), 'succeeded', `${sub.id}-first`);
    expect((await reads.subscription({ accountId }, sub.id)).state).toBe('active');
    expect(await tenantState(tenantId)).toBe('provisioning');
  });
});

describe('plan changes and the end of a term', () => {
  async function activeSubscription(accountId: string, tenantId: string) {
    const sub = await provider.subscribe({ accountId, tenantId, plan: 'taxed', interval: 'month', trial: false });
    await pay(await openInvoiceOf(sub.id), 'succeeded', `${sub.id}-first`);
    return sub;
  }

  it('an upgrade mid-period issues a prorated invoice; the tenant gets the new plan once it is paid (a billing-plan-change job)', async () => {
    const accountId = await newAccount('Upgrader');
    const tenantId = await runningTenant();
    const sub = await activeSubscription(accountId, tenantId);
    travel(24 * 10);
    await provider.act(sub.id, {
      type: 'change_plan',
      price: { plan: 'premium', interval: 'month', amountMinor: 3900, currency: 'USD', taxRateBasisPoints: 1600 },
    });
    const invoice = await reads.invoice({ accountId }, (await openInvoiceOf(sub.id)).id);
    expect(invoice.reason).toBe('proration');
    expect(invoice.lines?.map((l) => l.plan)).toEqual(['taxed', 'premium']);
    // (3900 - 1900) x the share of the period left, plus 16 % tax: strictly between nothing and a whole period.
    expect(invoice.subtotalMinor).toBeGreaterThan(0);
    expect(invoice.subtotalMinor).toBeLessThan(2000);
    expect(invoice.totalMinor).toBe(invoice.subtotalMinor + Math.round((invoice.subtotalMinor * 16) / 100));
    // Not paid: the tenant keeps its plan and no plan change is queued for it.
    const planChanges = async () =>
      (await queuedJobs('billing-plan-change')).filter((d) => d.tenantId === tenantId && d.plan === 'premium');
    expect(await planChanges()).toEqual([]);
    const tenant = await db().selectFrom('tenants').select(['plan_code', 'state']).where('id', '=', tenantId).executeTakeFirstOrThrow();
    expect(tenant).toEqual({ plan_code: 'taxed', state: 'running' });
    expect((await reads.subscription({ accountId }, sub.id)).planAwaitingPayment).toBe('premium');
    // Paid: the live plan change is queued with the payment, once (a report seen again queues nothing).
    await pay(invoice, 'succeeded', 'upgrade-paid');
    await pay(invoice, 'succeeded', 'upgrade-paid');
    expect(await planChanges()).toEqual([{ tenantId, plan: 'premium', subscriptionId: sub.id }]);
    expect((await reads.subscription({ accountId }, sub.id)).planAwaitingPayment).toBeNull();
  });

  it('cancellation at end of term -> terminated -> reactivated after paying upfront', async () => {
    const accountId = await newAccount('Leaver');
    const tenantId = await runningTenant();
    const sub = await activeSubscription(accountId, tenantId);
    await provider.act(sub.id, { type: 'cancel' });
    const view = await reads.subscription({ accountId }, sub.id);
    expect(view).toMatchObject({ state: 'active', cancelAtPeriodEnd: true });
    now = new Date(view.currentPeriodEnd as string);
    await provider.sweep();
    expect((await reads.subscription({ accountId }, sub.id)).state).toBe('cancelled');
    expect(await tenantState(tenantId)).toBe('terminated');
    travel(24 * 3);
    await provider.act(sub.id, { type: 'reactivate' });
    expect(await tenantState(tenantId)).toBe('terminated');
    const invoice = await openInvoiceOf(sub.id);
    expect(invoice.reason).toBe('reactivation');
    await pay(invoice, 'succeeded', `${sub.id}-back`);
    expect((await reads.subscription({ accountId }, sub.id)).state).toBe('active');
    expect(await tenantState(tenantId)).toBe('starting');
  });
});

describe('invoices', () => {
  it('are numbered per year without gaps, also when concurrent issuers roll back', async () => {
    const accounts = await Promise.all(Array.from({ length: 24 }, (_, i) => newAccount(`Concurrent ${i}`)));
    const results = await Promise.allSettled(
      accounts.map((accountId, i) =>
        db()
          .transaction()
          .execute(async (trx) => {
            await provider.subscribe({ accountId, tenantId: null, plan: 'taxed', interval: 'month', trial: false }, trx);
            // Every third issuer fails after taking a number: its number must go to the next one.
            if (i % 3 === 0) throw new Error('rolled back on purpose');
          }),
      ),
    );
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
    expect(failures.filter((f) => !f.includes('rolled back on purpose'))).toEqual([]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(16);
    const rows = await db()
      .selectFrom('billing_invoices')
      .select(['year', 'sequence', 'number'])
      .orderBy('year')
      .orderBy('sequence')
      .execute();
    const years = new Set(rows.map((r) => r.year));
    for (const year of years) {
      const sequences = rows.filter((r) => r.year === year).map((r) => r.sequence);
      expect(sequences).toEqual(Array.from({ length: sequences.length }, (_, i) => i + 1));
    }
    expect(rows.length).toBeGreaterThanOrEqual(16);
  });

  it('one account cannot see another account’s subscription or invoices', async () => {
    const mine = await newAccount('Mine');
    const theirs = await newAccount('Theirs');
    const sub = await provider.subscribe({ accountId: theirs, tenantId: null, plan: 'taxed', interval: 'month', trial: false });
    const invoice = await openInvoiceOf(sub.id);
    await expect(reads.subscription({ accountId: mine }, sub.id)).rejects.toMatchObject({ kind: 'not_found' });
    await expect(reads.invoice({ accountId: mine }, invoice.id)).rejects.toMatchObject({ kind: 'not_found' });
    await expect(reads.invoicePdf({ accountId: mine }, invoice.id)).rejects.toMatchObject({ kind: 'not_found' });
    expect(await reads.invoices({ accountId: mine }, { limit: 50, offset: 0, accountId: theirs })).toEqual([]);
    expect((await reads.invoices({ accountId: theirs }, { limit: 50, offset: 0 })).map((i) => i.id)).toEqual([invoice.id]);
  });

  it('renders a PDF that pdftotext reads back: number, lines, tax and total', async () => {
    const accountId = await newAccount('Acme Printing');
    const sub = await provider.subscribe({ accountId, tenantId: null, plan: 'taxed', interval: 'month', trial: false });
    const invoice = await openInvoiceOf(sub.id);
    const { pdf, number } = await reads.invoicePdf({ accountId }, invoice.id);
    expect(number).toBe(invoice.number);
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const dir = mkdtempSync(join(tmpdir(), 'invoice-pdf-'));
    try {
      writeFileSync(join(dir, 'invoice.pdf'), pdf);
      const { stdout } = await run('pdftotext', ['-layout', join(dir, 'invoice.pdf'), '-']).catch((error: NodeJS.ErrnoException) => {
        throw new Error(
          error.code === 'ENOENT'
            ? 'pdftotext is not installed: install poppler-utils (scripts/lib.sh ensure_pdftotext does)'
            : String(error),
        );
      });
      expect(stdout).toContain(`Invoice ${invoice.number}`);
      expect(stdout).toContain('Acme Printing');
      expect(stdout).toMatch(/taxed plan, monthly \(\d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2}\)\s+USD 19\.00/);
      expect(stdout).toMatch(/Tax \(16%\)\s+USD 3\.04/);
      expect(stdout).toMatch(/Total\s+USD 22\.04/);
      expect(stdout).toContain('Status: Open');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a payment that does not match the invoice, naming the field', async () => {
    const accountId = await newAccount('Short Payer');
    const sub = await provider.subscribe({ accountId, tenantId: null, plan: 'taxed', interval: 'month', trial: false });
    const invoice = await openInvoiceOf(sub.id);
    await expect(pay({ ...invoice, totalMinor: invoice.totalMinor - 1 }, 'succeeded', 'short')).rejects.toMatchObject({
      kind: 'validation',
      field: 'amountMinor',
    });
    await expect(pay({ ...invoice, currency: 'EUR' }, 'succeeded', 'euro')).rejects.toMatchObject({
      kind: 'validation',
      field: 'currency',
    });
    await expect(provider.subscribe({ accountId, tenantId: null, plan: 'taxed', interval: 'year', trial: false })).rejects.toMatchObject({
      kind: 'validation',
      field: 'interval',
    });
    expect((await reads.subscription({ accountId }, sub.id)).state).toBe('pending_payment');
  });
});
