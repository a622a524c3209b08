import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli } from '../helpers/cli.js';
import { createOperator, GOOD_PASSWORD, registerCustomer, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

/**
 * `saasctl billing ...` as a real child process against a real platform (manual gateway: invoices
 * paid by bank transfer, refunds sent back by hand; the platform's job workers issue the credit
 * notes). The CLI is logged in as an operator through a credentials file of its own.
 */
let test: TestPlatform;
let scratch: string;
let customer: Awaited<ReturnType<typeof registerCustomer>>;

beforeAll(async () => {
  test = await startTestPlatform({ TENANT_DATABASE_URL: postgresAdminUrl(), TEMPLATES_AUTOBUILD: '' });
  scratch = mkdtempSync(join(tmpdir(), 'saas-billing-cli-'));
  customer = await registerCustomer(test.http, 'billing-cli');
  const operator = await createOperator(test);
  const login = await saasctl(['login', '--email', operator.email, '--password-stdin', '--url', test.url], { input: GOOD_PASSWORD });
  expect(login.code, login.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await test?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function saasctl(args: string[], options: { input?: string } = {}): Promise<CliResult> {
  return runCli(args, {
    input: options.input,
    env: { SAASCTL_CONFIG: join(scratch, 'credentials.json'), SAASCTL_URL: test.url, HOME: scratch },
  });
}

function ok(result: CliResult): string {
  expect(result.code, `stderr: ${result.stderr}`).toBe(0);
  return result.stdout;
}

describe('saasctl billing', () => {
  let trialId: string;
  let invoiceNumber: string;

  it('subscriptions lists a customer trial; extend-trial moves its end', async () => {
    const trial = await test.http.post(
      '/api/v1/billing/subscriptions',
      { plan: 'standard', interval: 'month', trial: true },
      { token: customer.accessToken },
    );
    expect(trial.status, trial.text).toBe(201);
    trialId = trial.body.id;
    const listed = JSON.parse(ok(await saasctl(['billing', 'subscriptions', '--account', trial.body.accountId, '--json'])));
    expect(listed.map((s: { id: string; state: string }) => [s.id, s.state])).toEqual([[trialId, 'trialing']]);
    const table = ok(await saasctl(['billing', 'subscriptions']));
    expect(table).toMatch(new RegExp(`${trialId}\\s+trialing\\s+standard/month\\s+USD 19\\.00`));

    const extended = ok(await saasctl(['billing', 'extend-trial', trialId, '--days', '7']));
    const expected = new Date(new Date(trial.body.trialEndsAt).getTime() + 7 * 86_400_000).toISOString().slice(0, 10);
    expect(extended).toBe(`Trial of ${trialId} now ends ${expected}.\n`);
    const zero = await saasctl(['billing', 'extend-trial', trialId, '--days', '0']);
    expect(zero.code).not.toBe(0);
    expect(zero.stderr).toMatch(/--days must be a whole number of at least 1/);
  });

  it('mark-paid takes an invoice number; the overview shows the MRR it brings', async () => {
    const paid = await test.http.post(
      '/api/v1/billing/subscriptions',
      { plan: 'premium', interval: 'month' },
      { token: customer.accessToken },
    );
    expect(paid.status, paid.text).toBe(201);
    const invoices = ok(await saasctl(['billing', 'invoices', '--subscription', paid.body.id]));
    const match = /(INV-\d{4}-\d{6})\s+open\s+USD 39\.00/.exec(invoices);
    expect(match, invoices).not.toBeNull();
    invoiceNumber = match?.[1] ?? '';
    expect(ok(await saasctl(['billing', 'mark-paid', invoiceNumber, '--reference', 'TRF-2026-7']))).toBe(
      `Invoice ${invoiceNumber} is paid (USD 39.00).\n`,
    );
    const overview = ok(await saasctl(['billing', 'overview']));
    expect(overview).toContain('MRR: USD 39.00');
    expect(overview).toMatch(/trialing 1, active 1,/);
    expect(overview).toContain('No failed payments to look at.');
  });

  it('refund waits for the credit note; credit-notes lists it; an impossible amount is refused naming the field', async () => {
    const refunded = ok(await saasctl(['billing', 'refund', invoiceNumber, '--amount', '900', '--reason', 'Charged for a day of outage']));
    const match = new RegExp(`^Refunded USD 9\\.00 of ${invoiceNumber}: credit note (CN-\\d{4}-\\d{6})\\.\\n$`).exec(refunded);
    expect(match, refunded).not.toBeNull();
    const notes = ok(await saasctl(['billing', 'credit-notes', '--invoice', invoiceNumber]));
    expect(notes).toMatch(new RegExp(`${match?.[1]}\\s+issued\\s+${invoiceNumber}\\s+USD 9\\.00\\s+manual`));

    const tooMuch = await saasctl(['billing', 'refund', invoiceNumber, '--amount', '3001', '--reason', 'too much']);
    expect(tooMuch.code).toBe(1);
    expect(tooMuch.stderr).toMatch(/At most 3000 .* is left to refund .*\(field: amountMinor\)/);
    const unknown = await saasctl(['billing', 'refund', 'INV-1999-000001', '--reason', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/No invoice INV-1999-000001/);
  });

  it('portal: this platform takes no online payments, and the answer says what to do instead', async () => {
    const refused = await saasctl(['billing', 'portal', '--account', customer.accountId]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/invoices are paid by bank transfer\. Contact the operator to change how you pay\./);
    const unnamed = await saasctl(['billing', 'portal']);
    expect(unnamed.code).toBe(1);
    expect(unnamed.stderr).toMatch(/Name the account \(accountId\).*\(field: accountId\)/);
  });

  it('a customer cannot run operator billing commands', async () => {
    const login = await saasctl(['login', '--email', customer.email, '--password-stdin', '--url', test.url], {
      input: GOOD_PASSWORD,
    });
    expect(login.code, login.stderr).toBe(0);
    const refused = await saasctl(['billing', 'overview']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/saasctl: .*operator/i);
  });
});
