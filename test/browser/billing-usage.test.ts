import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertTenant, tenantPostgresNames } from '../../src/tenants/index.js';
import { insertSample, rollUp } from '../../src/usage/store.js';
import { assertChromium, ensureDashboardBuilt, launchChromium, SHOTS } from '../helpers/browser.js';
import { createOperator, GOOD_PASSWORD, registerCustomer, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { freeTestPort } from '../helpers/ports.js';

/**
 * The billing lines of the customer's Billing page in a real browser: the usage card of a
 * per-user priced subscription (peak so far, what is included, the estimated extra charge) and,
 * after an upgrade whose prorated invoice is still open, "Plan change: … once the open invoice is
 * paid", and, once cancelled at the end of the term, that the usage goes on a final invoice. The tenant is a row (no Odoo runs: billing meters what the usage sampler recorded, and
 * the samples are written as the sampler writes them); payments are an operator's mark-paid
 * (the manual gateway).
 */
const WAIT_MS = 20_000;

describe('billing lines of the dashboard (Chromium)', { timeout: 240_000 }, () => {
  let test: TestPlatform;
  let browser: Browser;
  let page: Page;
  let operatorToken: string;
  const consoleErrors: string[] = [];
  const poll = <T>(check: () => Promise<T> | T, timeout = WAIT_MS) => expect.poll(check, { timeout, interval: 100 });
  const shot = (name: string) =>
    page.screenshot({ path: join(SHOTS, `billing-usage-${name}.png`), fullPage: true, animations: 'disabled' });

  beforeAll(async () => {
    assertChromium();
    ensureDashboardBuilt();
    mkdirSync(SHOTS, { recursive: true });
    const port = await freeTestPort();
    const app = `http://app.lvh.me:${port}`;
    test = await startTestPlatform({ PUBLIC_URL: app, BASE_DOMAIN: 'lvh.me', TEMPLATES_AUTOBUILD: '' }, { port });
    operatorToken = (await createOperator(test)).accessToken;
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: app, reducedMotion: 'reduce' });
    context.setDefaultTimeout(WAIT_MS);
    page = await context.newPage();
    page.on('console', (message) => {
      const url = message.location().url ?? '';
      if (message.type() === 'error' && url.startsWith(app)) consoleErrors.push(`${message.text()} ${url}`);
    });
    page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await test?.stop();
  });

  it('shows the usage so far with the estimated extra charge, and a pending upgrade waiting for its invoice', async () => {
    const db = test.platform.database.db;
    // Standard and premium priced per user above what they include (an operator's catalog edit).
    await sql`update plans set prices = ${JSON.stringify([
      { interval: 'month', amountCents: 1900, currency: 'USD', perUser: { included: 2, amountCents: 700 } },
    ])}::jsonb where code = 'standard'`.execute(db);
    await sql`update plans set prices = ${JSON.stringify([
      { interval: 'month', amountCents: 4900, currency: 'USD', perUser: { included: 10, amountCents: 500 } },
    ])}::jsonb where code = 'premium'`.execute(db);

    const customer = await registerCustomer(test.http, 'billing-usage-browser');
    const name = `bu${Date.now().toString(36)}`;
    const names = tenantPostgresNames(name);
    const tenant = await db.transaction().execute((trx) =>
      insertTenant(
        {
          name,
          account_id: customer.accountId,
          plan_code: 'standard',
          template_code: 'blank',
          state: 'running',
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
      ),
    );
    const created = await test.http.post(
      '/api/v1/billing/subscriptions',
      { plan: 'standard', interval: 'month', tenant: name },
      { token: customer.accessToken },
    );
    expect(created.status, created.text).toBe(201);
    const subscriptionId = created.body.id as string;
    const [first] = (await test.http.get(`/api/v1/billing/invoices?subscriptionId=${subscriptionId}`, { token: customer.accessToken }))
      .body;
    const paid = await test.http.post(`/api/v1/billing/invoices/${first.id}/mark-paid`, { reference: 'TRF-1' }, { token: operatorToken });
    expect(paid.status, paid.text).toBe(200);

    // 5 active users measured in this period: 3 above the 2 included, at USD 7.00 each.
    const slot = new Date(); // after the period began (the subscription was made before), before the page reads it
    await insertSample(
      tenant.id,
      slot,
      slot,
      { odooUsers: 5, databaseBytes: 1_000_000, filestoreBytes: 0, cpuSeconds: null, memoryBytes: null },
      db,
    );
    await rollUp(slot, db);

    await page.goto('/login');
    await page.getByLabel('Email').fill(customer.email);
    await page.getByLabel('Password', { exact: true }).fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL((url) => !url.pathname.startsWith('/login'));
    await page.goto('/billing');
    const usage = page.getByRole('region', { name: 'Usage this period' });
    await poll(() => usage.getByText(/Estimated extra charge/).isVisible()).toBe(true);
    const usageText = await usage.textContent();
    expect(usageText).toMatch(/peak 5 users \(\d{4}-\d{2}-\d{2}\), 2 included: 3 extra, \$21\.00/);
    expect(usageText).toMatch(/Estimated extra charge\s*\$21\.00 \(billed with the renewal, plus tax\)/);
    await shot('usage-card');

    // An upgrade mid-period: billed at once, the plan change waits for the prorated invoice.
    const upgraded = await test.http.post(
      `/api/v1/billing/subscriptions/${subscriptionId}/change-plan`,
      { plan: 'premium', interval: 'month' },
      { token: customer.accessToken },
    );
    expect(upgraded.status, upgraded.text).toBe(200);
    expect(upgraded.body.planAwaitingPayment).toBe('premium');
    await page.reload();
    const card = page.getByRole('region', { name: 'Subscription to premium' });
    await poll(() => card.getByText('Premium once the open invoice is paid').isVisible()).toBe(true);
    expect(await card.textContent()).toMatch(/Plan change\s*Premium once the open invoice is paid/);
    await shot('pending-upgrade');

    // Paid: the line goes.
    const invoices = (await test.http.get(`/api/v1/billing/invoices?subscriptionId=${subscriptionId}`, { token: customer.accessToken }))
      .body as Array<{ id: string; status: string; reason: string }>;
    const proration = invoices.find((i) => i.status === 'open' && i.reason === 'proration');
    expect(proration).toBeDefined();
    await test.http.post(`/api/v1/billing/invoices/${proration?.id}/mark-paid`, { reference: 'TRF-2' }, { token: operatorToken });
    await page.reload();
    await poll(() => card.getByText(/Price/).isVisible()).toBe(true);
    expect(await card.getByText('once the open invoice is paid').count()).toBe(0);

    // Cancelled at the end of the term: no renewal will carry this period's usage, a final invoice will.
    await page.getByRole('button', { name: 'Cancel at end of term' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel subscription' }).click();
    await poll(() => card.getByText(/billed on a final invoice when the subscription ends/).isVisible()).toBe(true);
    await shot('cancelling');
    expect(consoleErrors).toEqual([]);
  });
});
