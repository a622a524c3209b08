import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertChromium, ensureDashboardBuilt, launchChromium, SHOTS } from '../helpers/browser.js';
import { waitFor } from '../helpers/gateway-client.js';
import { pdfText } from '../helpers/pdf.js';
import { createOperator, GOOD_PASSWORD, registerCustomer, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { freeTestPort } from '../helpers/ports.js';
import { postgresAdminUrl } from '../helpers/postgres.js';
import { signedStripeEvent, startStripeMock } from '../helpers/stripe-mock.js';

/**
 * Checkout from "Create instance" in a real browser, with the Stripe gateway on stripe-mock and
 * the fake Odoo: a customer picks the paid Standard plan and "Pay now", sees the instance wait for
 * payment and is sent to the Checkout Session stripe-mock created (the page itself is Stripe's:
 * answered here by a stand-in, there is no internet). The test then delivers the signed
 * `checkout.session.completed` Stripe would send; the customer sees the instance provision to
 * running and downloads the paid invoice's PDF; an operator sees the MRR move.
 */
const WAIT_MS = 20_000;
const WEBHOOK_SECRET = 'whsec_browser_checkout';

describe('checkout from Create instance (Chromium, stripe-mock, fake Odoo)', { timeout: 300_000 }, () => {
  let stripeMock: Awaited<ReturnType<typeof startStripeMock>>;
  let test: TestPlatform;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let operatorToken: string;
  const instance = `pay${Date.now().toString(36)}`;
  const consoleErrors: string[] = [];
  const poll = <T>(check: () => Promise<T> | T, timeout = WAIT_MS) => expect.poll(check, { timeout, interval: 100 });
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `checkout-${name}.png`), fullPage: true, animations: 'disabled' });

  beforeAll(async () => {
    assertChromium();
    ensureDashboardBuilt();
    mkdirSync(SHOTS, { recursive: true });
    stripeMock = await startStripeMock();
    const port = await freeTestPort();
    const app = `http://app.lvh.me:${port}`;
    test = await startTestPlatform(
      {
        PUBLIC_URL: app,
        BASE_DOMAIN: 'lvh.me',
        ODOO_BIN: resolve('test/fixtures/fake-odoo/odoo-bin'),
        TENANT_DATABASE_URL: postgresAdminUrl(),
        TEMPLATES_AUTOBUILD: 'blank',
        BILLING_GATEWAY: 'stripe',
        STRIPE_SECRET_KEY: 'sk_test_123',
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        STRIPE_API_URL: stripeMock.url,
      },
      { port },
    );
    operatorToken = (await createOperator(test)).accessToken;
    await waitFor(
      'the blank template to be built',
      async () => {
        const templates = await test.http.get('/api/v1/templates', { token: operatorToken });
        const build = templates.body.find((t: { code: string }) => t.code === 'blank')?.builds[0];
        if (build?.status === 'failed') throw new Error(`template build failed: ${build.error}`);
        return build?.status === 'ready' ? true : undefined;
      },
      120_000,
      200,
    );
    browser = await launchChromium();
    context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      baseURL: app,
      reducedMotion: 'reduce',
      acceptDownloads: true,
    });
    context.setDefaultTimeout(WAIT_MS);
    // Stripe's hosted page is on the internet: a stand-in answers it, the URL is what matters.
    await context.route('https://checkout.stripe.com/**', (route) =>
      route.fulfill({ contentType: 'text/html', body: '<title>Stripe Checkout (stand-in)</title><h1>Stripe Checkout</h1>' }),
    );
    // Stripe's customer portal, as stripe-mock's fixture names it (a stand-in answers it too).
    await context.route(/^https:\/\/[^/]*stripe\.me\//, (route) =>
      route.fulfill({ contentType: 'text/html', body: '<title>Stripe customer portal (stand-in)</title><h1>Customer portal</h1>' }),
    );
    page = await context.newPage();
    page.on('console', (message) => {
      const url = message.location().url ?? '';
      if (message.type() === 'error' && url.startsWith(app)) consoleErrors.push(`${message.text()} ${url}`);
    });
    page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await test?.stop();
    await stripeMock?.stop();
  });

  it('a customer picks a paid plan, pays on Checkout, watches the instance provision and downloads the invoice; the MRR moves', async () => {
    const customer = await registerCustomer(test.http, 'checkout-browser');
    const mrrBefore = (await test.http.get('/api/v1/billing/overview', { token: operatorToken })).body.mrr;
    expect(mrrBefore).toEqual([]);

    await page.goto('/login');
    await page.getByLabel('Email').fill(customer.email);
    await page.getByLabel('Password', { exact: true }).fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL((url) => !url.pathname.startsWith('/login'));
    await page.goto('/instances/new');
    await page.getByLabel('Name (subdomain)').fill(instance);
    await poll(() => page.getByText(`${instance}.lvh.me is available`).isVisible()).toBe(true);
    await page.getByRole('radio', { name: /Standard/ }).check();
    await page.getByRole('radio', { name: /Pay now: .*19\.00 \/ month/ }).check();
    await page.getByLabel('Odoo admin password').fill('Odoo-Admin-Pass-1');
    await shot('create-form');
    await page.getByRole('button', { name: 'Create instance' }).click();

    await poll(() => page.getByText(/Waiting for payment/).isVisible()).toBe(true);
    const tenant = (await test.http.get(`/api/v1/tenants/${instance}`, { token: customer.accessToken })).body;
    expect(tenant.state).toBe('pending_payment');
    await shot('pending-payment');
    await page.getByRole('button', { name: 'Pay now' }).click();
    await page.waitForURL(/^https:\/\/checkout\.stripe\.com\//);

    // What Stripe sends once the customer paid: the session of the tenant's open invoice.
    const [subscription] = (await test.http.get('/api/v1/billing/subscriptions', { token: customer.accessToken })).body;
    expect(subscription).toMatchObject({ tenantId: tenant.id, state: 'pending_payment' });
    const [invoice] = (await test.http.get(`/api/v1/billing/invoices?subscriptionId=${subscription.id}`, { token: customer.accessToken }))
      .body;
    const signed = signedStripeEvent(
      {
        id: `evt_browser_${instance}`,
        type: 'checkout.session.completed',
        object: {
          id: `cs_test_${instance}`,
          object: 'checkout.session',
          metadata: { invoiceId: invoice.id },
          payment_status: 'paid',
          amount_total: invoice.totalMinor,
          currency: 'usd',
          payment_intent: `pi_${instance}`,
          customer: `cus_${instance}`,
        },
      },
      WEBHOOK_SECRET,
    );
    const received = await test.http.post('/api/v1/billing/webhooks/stripe', undefined, {
      raw: signed.body,
      headers: { 'content-type': 'application/json', 'stripe-signature': signed.signature },
    });
    expect(received.status, received.text).toBe(200);

    // Back from Checkout (its success URL is the billing page): the instance provisions.
    await page.goto(`/instances/${instance}`);
    await poll(() => page.locator('[data-state="running"]').first().isVisible(), 120_000).toBe(true);
    await shot('running');

    await page.goto('/billing');
    const row = page.getByRole('row', { name: new RegExp(invoice.number) });
    await poll(() => row.getByText('paid').isVisible()).toBe(true);
    const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('link', { name: 'Download' }).click()]);
    const chunks: Buffer[] = [];
    for await (const chunk of await download.createReadStream()) chunks.push(chunk as Buffer);
    const text = await pdfText(Buffer.concat(chunks));
    expect(text).toContain(`Invoice ${invoice.number}`);
    expect(text).toMatch(/Status: Paid on \d{4}-\d{2}-\d{2}/);

    // The card paid with is saved for renewals; Stripe's customer portal manages it.
    await poll(() => page.getByText(/Renewals are charged to the card you paid with/).isVisible()).toBe(true);
    await shot('payment-method');
    await page.getByRole('button', { name: 'Manage payment method' }).click();
    await page.waitForURL(/stripe\.me\/session\//);

    const overview = await test.http.get('/api/v1/billing/overview', { token: operatorToken });
    expect(overview.body.mrr).toEqual([{ currency: 'USD', amountMinor: 1900 }]);
    expect(consoleErrors).toEqual([]);
  });
});
