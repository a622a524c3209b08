import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exited, runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/gateway-client.js';
import { chargeSuccess, type PaystackServer, signedPaystackEvent, startPaystackServer } from '../helpers/paystack.js';
import { GOOD_PASSWORD, registerCustomer, uniqueEmail } from '../helpers/platform.js';
import { freeTestPort } from '../helpers/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { servedPlatform } from '../helpers/served-platform.js';

/**
 * kill -9 during a refund: the platform runs as a real child process with the Paystack gateway
 * (the loopback Paystack server lives in this test process, so it counts the refunds it was
 * asked for) and is killed (SAAS_TEST_CRASH_AFTER_STEP) after Paystack refunded but before the
 * credit note was written, and inside the transaction that issues it. A new process on the same
 * database must finish the refund exactly once: one refund at Paystack, one credit note, the
 * next number of the year (no gap).
 */
let database: TestDatabase;
let dataDir: string;
let port: number;
let paystack: PaystackServer;
const platform = servedPlatform(() => ({
  databaseUrl: database.url,
  dataDir,
  port,
  env: {
    TEMPLATES_AUTOBUILD: '',
    SPARE_DATABASES: '0',
    BILLING_GATEWAY: 'paystack',
    PAYSTACK_SECRET_KEY: paystack.secretKey,
    PAYSTACK_API_URL: paystack.url,
  },
}));
const http = platform.http;
let operatorEmail: string;

beforeAll(async () => {
  paystack = await startPaystackServer();
  database = await createTestDatabase('refundcrash');
  dataDir = mkdtempSync(join(tmpdir(), 'saas-refund-crash-'));
  port = await freeTestPort();
  await platform.startReady();
  operatorEmail = uniqueEmail('refund-operator');
  const created = await runCli(['operator', 'create', '--email', operatorEmail, '--name', 'Refunds', '--password-stdin'], {
    env: { DATABASE_URL: database.url, DATA_DIR: dataDir, SECRET_KEY: 'crash-test-secret-key-that-is-at-least-32-chars' },
    input: `${GOOD_PASSWORD}\n`,
  });
  expect(created.code, created.stderr).toBe(0);
  await platform.stopAll();
}, 120_000);

afterEach(platform.stopAll);

afterAll(async () => {
  await database?.drop();
  await paystack?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** A Paystack-paid invoice of a new customer. */
async function paidInvoice(): Promise<{ id: string; totalMinor: number; reference: string }> {
  const customer = await registerCustomer(http(), 'refund-crash');
  const auth = { token: customer.accessToken };
  const created = await http().post('/api/v1/billing/subscriptions', { plan: 'standard', interval: 'month' }, auth);
  expect(created.status, created.text).toBe(201);
  const invoice = (await http().get(`/api/v1/billing/invoices?subscriptionId=${created.body.id}`, auth)).body[0];
  expect((await http().post(`/api/v1/billing/invoices/${invoice.id}/checkout`, undefined, auth)).status).toBe(200);
  const transaction = [...paystack.transactions.values()].find((t) => (t.metadata as { invoiceId?: string }).invoiceId === invoice.id);
  if (!transaction) throw new Error('no Paystack transaction');
  paystack.settle(transaction.reference, 'success');
  const signed = signedPaystackEvent('charge.success', chargeSuccess(transaction), paystack.secretKey);
  await http().post('/api/v1/billing/webhooks/paystack', undefined, {
    raw: signed.body,
    headers: { 'content-type': 'application/json', 'x-paystack-signature': signed.signature },
  });
  await waitFor('the invoice to be paid', async () =>
    (await http().get(`/api/v1/billing/invoices/${invoice.id}`, auth)).body.status === 'paid' ? true : undefined,
  );
  return { id: invoice.id, totalMinor: invoice.totalMinor, reference: transaction.reference };
}

async function lastCreditNoteSequence(): Promise<number> {
  const [row] = await platform.query<{ last: number | null }>('select max(sequence) as last from billing_refunds');
  return Number(row?.last ?? 0);
}

describe('kill -9 while a refund is made', { timeout: 180_000 }, () => {
  for (const point of ['refund:gateway-answered', 'refund:issued']) {
    it(`crash at ${point}: the next process finishes the refund exactly once`, async () => {
      const crashing = await platform.startReady({ SAAS_TEST_CRASH_AFTER_STEP: point });
      const invoice = await paidInvoice();
      const before = await lastCreditNoteSequence();
      const token = (await http().post('/api/v1/auth/login', { email: operatorEmail, password: GOOD_PASSWORD })).body.accessToken;
      // The answer races the crash (the job starts as the request commits): either is fine, the refund is kept.
      await http()
        .post(`/api/v1/billing/invoices/${invoice.id}/refund`, { reason: 'crash test' }, { token })
        .catch(() => undefined);
      expect(await exited(crashing)).toEqual({ code: null, signal: 'SIGKILL' });
      const [kept] = await platform.query<{ id: string; status: string }>('select id, status from billing_refunds where invoice_id = $1', [
        invoice.id,
      ]);
      expect(kept?.status).toBe('requested');
      // Paystack refunded before the crash; no credit note was written.
      expect(paystack.refunds.filter((r) => r.transaction === invoice.reference)).toHaveLength(1);
      expect(await lastCreditNoteSequence()).toBe(before);

      await platform.startReady();
      const issued = await waitFor(
        'the refund to be finished by the new process',
        async () => {
          const [row] = await platform.query<{ status: string; number: string | null; sequence: number | null }>(
            'select status, number, sequence from billing_refunds where id = $1',
            [kept?.id],
          );
          return row?.status === 'issued' ? row : undefined;
        },
        60_000,
      );
      expect(issued.sequence).toBe(before + 1);
      expect(issued.number).toMatch(new RegExp(`^CN-\\d{4}-${String(before + 1).padStart(6, '0')}$`));
      const atPaystack = paystack.refunds.filter((r) => r.transaction === invoice.reference);
      expect(atPaystack.map((r) => [r.amount, r.merchant_note])).toEqual([[invoice.totalMinor, `refund ${kept?.id}`]]);
      const notes = await platform.query('select id from billing_refunds where invoice_id = $1', [invoice.id]);
      expect(notes).toHaveLength(1);
    });
  }
});
