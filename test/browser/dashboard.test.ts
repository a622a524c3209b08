import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { simpleParser } from 'mailparser';
import type { Browser, BrowserContext, ConsoleMessage, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logging/index.js';
import { startPlatform } from '../../src/main.js';
import { withConnection } from '../../src/postgres/index.js';
import { assertChromium, ensureDashboardBuilt, launchChromium, SHOTS } from '../helpers/browser.js';
import { knotMissing, startTestDnsServer, type TestDnsServer } from '../helpers/dns.js';
import { hostRequest, waitFor } from '../helpers/gateway-client.js';
import { createHttpClient, createOperator, GOOD_PASSWORD, registerCustomer, type TestPlatform, uniqueEmail } from '../helpers/platform.js';
import { freeTestPort } from '../helpers/ports.js';
import { createTestDatabase, postgresAdminUrl } from '../helpers/postgres.js';

/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) against the
 * whole platform with the fake Odoo: a customer signs up, creates an instance, watches it reach
 * running, opens it, stops and starts it; an operator finds it and suspends it, and the customer
 * sees that; nobody opens another account's instance by URL. Any console error fails the test.
 * Screenshots of the main pages go to test-output/screenshots/.
 */

const ODOO_ADMIN_PASSWORD = 'Odoo-Admin-Pass-1';
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 375, height: 812 };
// Playwright's own waits (locator actions) answer within this; expect.poll must not give up first.
const WAIT_MS = 15_000;

// The fake Odoo's launcher runs `node` from PATH: make that the Node running the tests (>= 22).
process.env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

/** The platform on a known port, so that PUBLIC_URL (and so each tenant's URL) carries it. */
async function startDashboardPlatform(dnsResolver: string): Promise<TestPlatform> {
  const port = await freeTestPort();
  const database = await createTestDatabase('dashboard');
  const dataDir = mkdtempSync(join(tmpdir(), 'saas-test-dashboard-'));
  const config = {
    ...loadConfig({
      DATA_DIR: dataDir,
      DATABASE_URL: database.url,
      SECRET_KEY: 'test-secret-key-that-is-at-least-32-characters-long',
      LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      ODOO_BIN: resolve('test/fixtures/fake-odoo/odoo-bin'),
      TENANT_DATABASE_URL: postgresAdminUrl(),
      TEMPLATES_AUTOBUILD: 'blank',
      BASE_DOMAIN: 'lvh.me',
      PUBLIC_URL: `http://app.lvh.me:${port}`,
      DNS_RESOLVERS: dnsResolver,
    }),
    host: '127.0.0.1',
    port,
  };
  const platform = await startPlatform(config, { logger: createLogger(config.logLevel) });
  const url = platform.url ?? '';
  return {
    platform,
    url,
    database,
    config,
    http: createHttpClient(url),
    async stop() {
      await platform.stop();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The link of the newest mail to `to` with `subject` in the platform's outbox (no SMTP_URL in tests). */
async function linkFromOutbox(dataDir: string, to: string, subject: string): Promise<URL> {
  const outbox = join(dataDir, 'mail-outbox');
  const files = existsSync(outbox) ? readdirSync(outbox).sort().reverse() : [];
  for (const file of files) {
    const mail = await simpleParser(readFileSync(join(outbox, file)));
    const recipients = [mail.to ?? []].flat().flatMap((address) => address.value.map((v) => v.address));
    if (mail.subject !== subject || !recipients.includes(to)) continue;
    const link = /https?:\/\/\S+token=[A-Za-z0-9_.~%-]+/.exec(mail.text ?? '')?.[0];
    if (link) return new URL(link);
  }
  throw new Error(`no "${subject}" mail to ${to} in ${outbox}`);
}

describe('dashboard in a real browser (Chromium)', { timeout: 300_000 }, () => {
  let test: TestPlatform;
  let port: number;
  let app: string;
  let browser: Browser;
  let operator: Awaited<ReturnType<typeof createOperator>>;
  const consoleErrors: string[] = [];
  /** Console errors the current step expects (e.g. the 404 of a tenant that is not ours). */
  let expectedErrors: RegExp[] = [];
  const customer = { name: 'Ada Lovelace', organization: 'Analytical Engines Ltd', email: uniqueEmail('ada'), password: GOOD_PASSWORD };
  const instance = `ada${Date.now().toString(36)}`;
  let customerContext: BrowserContext;
  let customerPage: Page;
  /** The authoritative DNS server of the customer's own domain (test/helpers/dns.ts). */
  let dns: TestDnsServer;
  const ownZone = 'ada-engines.net';

  function watchConsole(page: Page, label: string): void {
    page.on('console', (message: ConsoleMessage) => {
      if (message.type() !== 'error') return;
      const text = `${message.text()} ${message.location().url ?? ''}`;
      if (expectedErrors.some((pattern) => pattern.test(text))) return;
      consoleErrors.push(`[${label}] ${text}`);
    });
    page.on('pageerror', (error) => consoleErrors.push(`[${label}] uncaught: ${error.message}`));
  }

  async function newContext(viewport: { width: number; height: number }, label: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport, baseURL: app, reducedMotion: 'reduce' });
    context.setDefaultTimeout(WAIT_MS);
    const page = await context.newPage();
    watchConsole(page, label);
    return { context, page };
  }

  /** Retries `check` until it gives the expected value (through expect.poll with a generous timeout). */
  function poll<T>(check: () => Promise<T> | T, timeout = WAIT_MS) {
    return expect.poll(check, { timeout, interval: 100 });
  }

  /** The laid-out width of the page: wider than the viewport means sideways scrolling. */
  function pageWidth(page: Page): Promise<number> {
    return page.evaluate<number>('document.documentElement.scrollWidth');
  }

  /** A link of the main navigation. */
  function nav(page: Page, label: string) {
    return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label, exact: true });
  }

  async function shot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true, animations: 'disabled' });
  }

  async function logInAs(page: Page, email: string, password: string): Promise<void> {
    await page.goto('/login');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL((url) => !url.pathname.startsWith('/login'));
  }

  beforeAll(async () => {
    assertChromium();
    const knot = knotMissing();
    if (knot) throw new Error(knot);
    ensureDashboardBuilt();
    mkdirSync(SHOTS, { recursive: true });
    dns = await startTestDnsServer([ownZone]);
    test = await startDashboardPlatform(dns.address);
    port = Number(new URL(test.url).port);
    app = `http://app.lvh.me:${port}`;
    operator = await createOperator(test);
    await waitFor(
      'the blank template to be built',
      async () => {
        const templates = await test.http.get('/api/v1/templates', { token: operator.accessToken });
        const build = templates.body.find((t: { code: string }) => t.code === 'blank')?.builds[0];
        if (build?.status === 'failed') throw new Error(`template build failed: ${build.error}`);
        return build?.status === 'ready' ? build : undefined;
      },
      120_000,
      200,
    );
    browser = await launchChromium();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await test?.stop();
    await dns?.stop();
  });

  it('serves the dashboard at / with an SPA fallback, and keeps API 404s as problem+json', async () => {
    const root = await fetch(`${test.url}/`);
    expect(root.status).toBe(200);
    expect(root.headers.get('content-type')).toContain('text/html');
    expect(root.headers.get('content-security-policy')).toContain("script-src 'self'");
    const deep = await fetch(`${test.url}/instances/some-name?tab=logs`);
    expect(deep.status).toBe(200);
    expect(await deep.text()).toContain('<div id="root">');
    const html = await (await fetch(`${test.url}/`)).text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const script = await fetch(`${test.url}${asset}`);
    expect(script.headers.get('content-type')).toContain('javascript');
    expect(script.headers.get('cache-control')).toContain('immutable');
    const apiMissing = await fetch(`${test.url}/api/v1/no-such-thing`);
    expect(apiMissing.status).toBe(404);
    expect(apiMissing.headers.get('content-type')).toContain('application/problem+json');
    expect((await fetch(`${test.url}/assets/missing-abc123.js`)).status).toBe(404);
    expect((await fetch(`${test.url}/..%2f..%2fpackage.json`)).status).toBe(404);
    expect((await fetch(`${test.url}/healthz`)).status).toBe(200);
  });

  it('a new customer signs up (validated as they type), logs out and logs in again', async () => {
    ({ context: customerContext, page: customerPage } = await newContext(DESKTOP, 'customer'));
    const page = customerPage;
    await page.goto('/signup');
    await poll(() => page.title()).toContain('Sign up');
    await page.getByLabel('Your name').fill(customer.name);
    await page.getByLabel('Organisation').fill(customer.organization);
    const email = page.getByLabel('Email');
    await email.fill('ada@');
    await email.blur();
    await poll(() => page.getByText('Enter an email address such as name@example.com.').isVisible()).toBe(true);
    await email.fill(customer.email);
    await poll(() => page.getByText('Enter an email address such as name@example.com.').count()).toBe(0);
    const password = page.getByLabel('Password', { exact: true });
    await password.fill('short');
    await password.blur();
    await poll(() => page.getByText(/Still needed: at least 8 characters/).isVisible()).toBe(true);
    await shot(page, 'signup-desktop');
    await password.fill(customer.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/\/instances\/new/);
    await poll(() => page.getByText(`Welcome, ${customer.name}!`).isVisible()).toBe(true);

    await page.getByRole('button', { name: 'Log out' }).first().click();
    await page.waitForURL(/\/login/);
    await logInAs(page, customer.email, customer.password);
    await page.waitForURL(/\/instances$/);
    await poll(() => page.getByRole('heading', { name: 'No instances yet' }).isVisible()).toBe(true);
    await shot(page, 'instances-empty-desktop');
    await nav(page, 'Plans').click();
    await poll(() => page.getByRole('heading', { name: 'Enterprise' }).isVisible()).toBe(true);
    await shot(page, 'plans-desktop');
    await nav(page, 'Account').click();
    await poll(() => page.getByText(/Please confirm your email address/).isVisible()).toBe(true);
    await shot(page, 'account-desktop');
    await nav(page, 'Instances').click();
  });

  it('creates an instance with a live name check and watches provisioning reach running', async () => {
    const page = customerPage;
    await page.getByRole('link', { name: 'Create your first instance' }).click();
    await page.waitForURL(/\/instances\/new/);
    const name = page.getByLabel('Name (subdomain)');
    await name.fill('admin');
    await poll(() => page.getByText(/reserved/i).isVisible()).toBe(true);
    await name.fill(instance);
    await poll(() => page.getByText(`${instance}.lvh.me is available`).isVisible()).toBe(true);
    expect(await page.getByRole('radio', { name: /Blank/ }).isChecked()).toBe(true);
    await poll(() => page.getByText('0 of 1 Basic instances used').isVisible()).toBe(true);
    await page.getByRole('radio', { name: /Basic/ }).check();
    expect(await page.getByLabel('Odoo admin email').inputValue()).toBe(customer.email);
    await page.getByLabel('Odoo admin password').fill(ODOO_ADMIN_PASSWORD);
    await shot(page, 'create-form-desktop');
    await page.getByRole('button', { name: 'Create instance' }).click();

    await poll(() => page.getByRole('progressbar', { name: 'Provisioning progress' }).isVisible()).toBe(true);
    await shot(page, 'create-progress-early-desktop');
    await page.getByRole('heading', { name: 'Your instance is ready' }).waitFor({ timeout: 120_000 });
    // Every step of the provisioning job was shown as done, fed by the events stream.
    for (const step of ['template', 'placement', 'role', 'clone', 'filestore', 'identity', 'serve', 'login_check']) {
      expect(await page.locator(`[data-step="${step}"]`).getAttribute('data-status')).toBe('done');
    }
    await shot(page, 'create-progress-desktop');
  });

  it('opens the running instance: the Odoo login page of that tenant', async () => {
    const page = customerPage;
    const [odoo] = await Promise.all([
      customerContext.waitForEvent('page'),
      page.getByRole('link', { name: new RegExp(`^Open ${instance}`) }).click(),
    ]);
    await odoo.waitForLoadState('domcontentloaded');
    await odoo.locator('form.oe_login_form').waitFor();
    expect(new URL(odoo.url()).host).toBe(`${instance}.lvh.me:${port}`);
    expect(await odoo.locator('.db').textContent()).toBe(`t_${instance}`);
    // The admin chosen at creation logs in.
    await odoo.locator('#login').fill(customer.email);
    await odoo.locator('#password').fill(ODOO_ADMIN_PASSWORD);
    await odoo.getByRole('button', { name: 'Log in' }).click();
    await odoo.locator('.o_web_client').waitFor({ state: 'attached' });
    await odoo.close();
  });

  it("searches the instance's Odoo log by text and level: the login page it just opened is there", async () => {
    const page = customerPage;
    await page.goto(`/instances/${instance}?tab=logs`);
    await page.getByLabel('Text', { exact: true }).fill('GET /web/login');
    await page.getByLabel('Level', { exact: true }).selectOption('INFO');
    await page.getByRole('button', { name: 'Search' }).click();
    const log = page.getByRole('log', { name: 'Matching records of the Odoo log' });
    await poll(async () => ((await log.isVisible()) ? await log.textContent() : '')).toContain('GET /web/login');
    expect((await log.textContent())?.split('\n').every((line) => line.includes('GET /web/login'))).toBe(true);
    await shot(page, 'logs-search-desktop');
    await page.getByLabel('Level', { exact: true }).selectOption('ERROR');
    await poll(() => page.getByText('Nothing matches this search.').isVisible()).toBe(true);
  });

  it('adds a domain of its own: shows the records to set, verifies it once DNS has them, and makes it primary', async () => {
    const page = customerPage;
    const domain = `erp.${ownZone}`;
    await page.goto(`/instances/${instance}?tab=domains`);
    const field = page.getByLabel('Domain', { exact: true });
    // The refusal of a name under the platform's domain is a 400 the page shows by the field.
    expectedErrors = [/400.*\/api\/v1\/tenants\/[a-z0-9]+\/domains/];
    await field.fill(`shop.lvh.me`);
    await page.getByRole('button', { name: 'Add domain' }).click();
    await poll(() => page.getByText(/is under lvh.me/).isVisible()).toBe(true);
    expectedErrors = [];
    await field.fill(domain);
    await page.getByRole('button', { name: 'Add domain' }).click();
    const card = page.getByRole('region', { name: new RegExp(`^${domain.replaceAll('.', '\\.')}`) });
    await poll(() => card.getByText('Waiting for DNS').isVisible()).toBe(true);
    const txtValue = await card.locator('tr', { hasText: 'TXT' }).locator('code').nth(1).textContent();
    expect(txtValue).toMatch(/^odoo-saas-verify=/);
    expect(await card.locator('tr', { hasText: 'CNAME' }).locator('code').nth(1).textContent()).toBe(`${instance}.lvh.me`);
    await shot(page, 'domains-pending-desktop');

    await dns.set(ownZone, `_odoo-saas-verify.${domain}`, 'TXT', `"${txtValue}"`);
    await dns.set(ownZone, domain, 'CNAME', `${instance}.lvh.me.`);
    await card.getByRole('button', { name: 'Check now' }).click();
    await poll(() => card.getByText('Verified', { exact: true }).isVisible()).toBe(true);
    await card.getByRole('button', { name: 'Make primary' }).click();
    await poll(() => card.getByText('Primary', { exact: true }).isVisible()).toBe(true);
    await shot(page, 'domains-verified-desktop');
    // The tenant is served on the domain; its subdomain's pages lead there.
    expect((await hostRequest(port, domain, 'GET', '/web/login')).status).toBe(200);
    const redirected = await hostRequest(port, `${instance}.lvh.me`, 'GET', '/web/login');
    expect(redirected.status).toBe(302);
    expect(redirected.headers.location).toBe(`http://${domain}/web/login`);

    const { context, page: ops } = await newContext(DESKTOP, 'operator-domains');
    await logInAs(ops, operator.email, GOOD_PASSWORD);
    await nav(ops, 'Domains').click();
    await poll(() => ops.getByRole('cell', { name: `${domain} (primary)` }).isVisible()).toBe(true);
    // This platform has no TLS edge to ask (EDGE_TLS_ADDRESS unset): the certificate is not checked.
    expect(
      await ops
        .getByRole('row', { name: new RegExp(domain.replaceAll('.', '\\.')) })
        .getByText('Not checked')
        .isVisible(),
    ).toBe(true);
    await shot(ops, 'ops-domains-desktop');
    await context.close();

    // Removed: served no more, and the subdomain serves again.
    await page.getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove domain' }).click();
    await poll(() => page.getByText('No domain of your own yet.').isVisible()).toBe(true);
    expect((await hostRequest(port, domain, 'GET', '/web/login')).status).toBe(404);
    await poll(async () => (await hostRequest(port, `${instance}.lvh.me`, 'GET', '/web/login')).status).toBe(200);
  });

  it('shows on the create page that the one Basic instance of the account is used, and offers the other plans', async () => {
    const page = customerPage;
    await page.goto('/instances/new');
    const basic = page.locator('label[data-plan="basic"]');
    await poll(() => basic.getByText('1 of 1 Basic instances used').isVisible()).toBe(true);
    await poll(() => basic.getByText(/Delete your Basic instance or choose another plan/).isVisible()).toBe(true);
    expect(await page.getByRole('radio', { name: /Basic/ }).isDisabled()).toBe(true);
    // The first plan with room is chosen instead; plans without a limit say nothing about it.
    expect(await page.getByRole('radio', { name: /Standard/ }).isChecked()).toBe(true);
    expect(await page.locator('label[data-plan="standard"] .choice__usage').count()).toBe(0);
    await shot(page, 'create-form-limit-desktop');
  });

  it('lists the instance live, stops it from its page and starts it from the list', async () => {
    const page = customerPage;
    await nav(page, 'Instances').click();
    await page.waitForURL(/\/instances$/);
    const row = page.locator(`tr[data-tenant="${instance}"]`);
    await poll(() => row.locator('[data-state]').getAttribute('data-state')).toBe('running');
    await shot(page, 'instances-desktop');

    await row.getByRole('link', { name: instance, exact: true }).click();
    await page.waitForURL(new RegExp(`/instances/${instance}$`));
    await poll(() => page.getByRole('heading', { name: 'Details' }).isVisible()).toBe(true);
    await shot(page, 'instance-desktop');
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    const badge = page.locator('h1 [data-state]');
    await poll(() => badge.getAttribute('data-state'), 60_000).toBe('stopped');
    await poll(() => page.getByRole('button', { name: 'Start', exact: true }).isVisible()).toBe(true);

    await page.getByRole('link', { name: 'Timeline' }).click();
    await poll(() => page.locator('.timeline__item').count()).toBeGreaterThan(5);
    await poll(() => page.getByText('Running → Stopping').isVisible()).toBe(true);
    await shot(page, 'instance-timeline-desktop');
    await page.getByRole('link', { name: 'Logs' }).click();
    await poll(() => page.getByRole('heading', { name: 'Odoo log' }).isVisible()).toBe(true);
    await page
      .getByText(/No log lines yet|Last lines/)
      .first()
      .waitFor()
      .catch(() => undefined);

    await nav(page, 'Instances').click();
    await row.getByRole('button', { name: /^Start/ }).click();
    await poll(() => row.locator('[data-state]').getAttribute('data-state'), 60_000).toBe('running');
  });

  it('backs the instance up from its Backups tab, shows it verified, and downloads the Odoo zip', async () => {
    const page = customerPage;
    await page.goto(`/instances/${instance}?tab=backups`);
    await poll(() => page.locator('#backups-title').isVisible()).toBe(true);
    await poll(() => page.getByText('No backups yet').isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Back up now' }).click();
    const row = page.locator('tr[data-backup]').first();
    await poll(() => row.locator('[data-state]').getAttribute('data-state'), 60_000).toBe('completed');
    expect(await row.getByText('Verified').isVisible()).toBe(true);
    expect(await row.getByText('On demand').isVisible()).toBe(true);
    await shot(page, 'instance-backups-desktop');
    const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('button', { name: /^Download/ }).click()]);
    expect(download.suggestedFilename()).toMatch(new RegExp(`^${instance}_.*\\.zip$`));
    expect(await download.failure()).toBeNull();
  });

  it('restores that backup over the instance from the Backups tab, after a confirmation, following its steps', async () => {
    const page = customerPage;
    await page.goto(`/instances/${instance}?tab=backups`);
    const row = page.locator('tr[data-backup]').first();
    await poll(() => row.getByRole('button', { name: /^Restore/ }).isVisible()).toBe(true);
    await row.getByRole('button', { name: /^Restore/ }).click();
    const dialog = page.getByRole('dialog');
    await poll(() => dialog.getByText(/maintenance page/).isVisible()).toBe(true);
    await shot(page, 'instance-restore-confirm-desktop');
    await dialog.getByRole('button', { name: 'Restore' }).click();
    await poll(() => page.getByText('The backup was restored.', { exact: false }).isVisible(), 90_000).toBe(true);
    await shot(page, 'instance-restored-desktop');
    // The data it replaced was backed up first, and the instance runs again.
    await poll(() => page.getByText('Before restore').first().isVisible()).toBe(true);
    await poll(() => page.locator('h1 [data-state]').getAttribute('data-state'), 60_000).toBe('running');
  });

  it('shows the import form for an Odoo backup made elsewhere', async () => {
    const page = customerPage;
    await page.goto('/instances');
    await page.getByRole('link', { name: 'Import a backup' }).click();
    await page.waitForURL(/\/instances\/import$/);
    await poll(() => page.getByLabel('Backup file (.zip)').isVisible()).toBe(true);
    expect(await page.getByLabel('Admin password').isVisible()).toBe(true);
    await shot(page, 'instance-import-desktop');
  });

  it('draws the usage of the instance with its plan limit; an operator sees it flagged at its user limit', async () => {
    const view = (await test.http.get(`/api/v1/tenants/${instance}`, { token: operator.accessToken })).body;
    expect(view.plan).toBe('basic');
    // Two rounds of the sampler: the admin alone, then two more internal users (the basic plan's 3).
    const slot = (minutesAgo: number) => new Date(Math.floor(Date.now() / 300_000) * 300_000 - minutesAgo * 60_000 + 17_000);
    expect((await test.platform.usage.sample(view.id, slot(10))).recorded).toBe(true);
    const url = new URL(postgresAdminUrl());
    url.pathname = `/${view.databaseName}`;
    await withConnection(url.toString(), async (client) => {
      for (const login of ['grace', 'charles']) {
        const partner = await client.query<{ id: number }>('INSERT INTO res_partner (name) VALUES ($1) RETURNING id', [login]);
        await client.query('INSERT INTO res_users (login, partner_id, company_id, active, share) VALUES ($1, $2, 1, true, false)', [
          login,
          partner.rows[0]?.id,
        ]);
      }
    });
    expect((await test.platform.usage.sample(view.id, slot(5))).actions).toEqual([
      { kind: 'notify', template: 'limit_reached', percent: 100 },
    ]);

    const page = customerPage;
    await page.goto(`/instances/${instance}?tab=usage`);
    await poll(() => page.locator('#usage-title').isVisible()).toBe(true);
    await poll(() => page.getByText(/Odoo users: 100 % of the plan's limit/).isVisible()).toBe(true);
    expect(await page.getByText('New internal users are refused').isVisible()).toBe(true);
    const users = page.locator('figure.usage-chart', { hasText: 'Internal users' });
    await poll(() => users.locator('canvas').count()).toBe(1);
    // uPlot's legend names both lines: what is used and the plan limit, on the same graph.
    expect(await users.locator('.u-legend').textContent()).toMatch(/used[\s\S]*plan limit/);
    expect(await users.getByRole('img').getAttribute('aria-label')).toBe('Internal users: 2 points, plan limit 3');
    expect(await page.locator('figure.usage-chart', { hasText: 'Storage' }).locator('canvas').count()).toBe(1);
    await shot(page, 'instance-usage-desktop');

    const { context, page: ops } = await newContext(DESKTOP, 'operator-usage');
    await logInAs(ops, operator.email, GOOD_PASSWORD);
    await ops.goto('/ops/tenants');
    const row = ops.locator(`tr[data-tenant="${instance}"]`);
    await poll(() => row.locator('.limit-flag').textContent()).toBe('users 100 %');
    await shot(ops, 'ops-tenants-limit-flag-desktop');
    await context.close();
  });

  it('registers a webhook endpoint: a private address is refused on its field, the secret is shown once', async () => {
    const page = customerPage;
    await nav(page, 'Webhooks').click();
    await page.waitForURL(/\/webhooks$/);
    expectedErrors = [/400.*\/api\/v1\/webhooks/];
    await page.getByLabel('URL').fill('http://10.0.0.1/hook');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await poll(() => page.getByText(/resolves to 10\.0\.0\.1/).isVisible()).toBe(true);
    expectedErrors = [];
    // A public address (TEST-NET-3: nothing answers there, which this test does not need).
    await page.getByLabel('URL').fill('https://203.0.113.5/odoo-events');
    await page.getByLabel('Events (comma-separated)').fill('tenant.state_changed');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await poll(() => page.getByText(/whsec_[A-Za-z0-9_-]{43}/).isVisible()).toBe(true);
    const endpoint = page.getByRole('article', { name: 'https://203.0.113.5/odoo-events' });
    await poll(() => endpoint.locator('[data-state]').first().getAttribute('data-state')).toBe('enabled');
    await shot(page, 'webhooks-desktop');
    await page.reload();
    await poll(() => endpoint.isVisible()).toBe(true);
    expect(await page.getByText(/whsec_/).count()).toBe(0);
  });

  it('an operator finds the instance by search and suspends it (bulk action); the customer sees it suspended', async () => {
    // The customer keeps the instance page open: it follows the events stream.
    await customerPage.goto(`/instances/${instance}`);
    await poll(() => customerPage.locator('h1 [data-state]').getAttribute('data-state')).toBe('running');

    const { context, page } = await newContext(DESKTOP, 'operator');
    await logInAs(page, operator.email, GOOD_PASSWORD);
    await page.waitForURL(/\/ops$/);
    await poll(() => page.getByRole('heading', { name: 'Provisioning time' }).isVisible()).toBe(true);
    await shot(page, 'ops-overview-desktop');

    // The instance's pool: its processes, connections against the budget, scheduled actions.
    await nav(page, 'Odoo pools').click();
    const pool = page.locator('[data-pool]').first();
    await poll(() => pool.isVisible()).toBe(true);
    await poll(() => pool.getByText(/of \d+ connections/).isVisible()).toBe(true);
    await poll(() => pool.getByText(/^cron: running/).isVisible()).toBe(true);
    await shot(page, 'ops-pools-desktop');

    await nav(page, 'Tenants').click();
    await page.getByLabel('Search by name').fill(instance.slice(0, 8));
    await page.waitForURL(/q=/);
    const row = page.locator(`tr[data-tenant="${instance}"]`);
    await row.waitFor();
    await poll(() => page.locator('tbody tr').count()).toBe(1);
    await row.getByRole('checkbox', { name: `Select ${instance}` }).check();
    await page.getByRole('button', { name: 'Suspend (1)' }).click();
    const dialog = page.getByRole('dialog');
    await poll(() => dialog.isVisible()).toBe(true);
    await dialog.getByRole('button', { name: 'Suspend' }).click();
    await poll(() => row.locator('[data-state]').getAttribute('data-state'), 60_000).toBe('suspended');
    await poll(() => page.getByText(/Suspend: 1 done/).isVisible()).toBe(true);
    await shot(page, 'ops-tenants-desktop');

    // Live on the customer's page: the badge, the notice, and no way to start it again.
    await poll(() => customerPage.locator('h1 [data-state]').getAttribute('data-state'), 60_000).toBe('suspended');
    await poll(() => customerPage.getByText(/This instance is suspended/).isVisible()).toBe(true);
    expect(await customerPage.getByRole('button', { name: 'Start', exact: true }).count()).toBe(0);
    expect(await customerPage.getByRole('button', { name: 'Resume' }).count()).toBe(0);
    await shot(customerPage, 'instance-suspended-desktop');

    await nav(page, 'Database servers').click();
    await poll(() => page.getByRole('meter').first().isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Add a server' }).click();
    await page.getByLabel('Admin URL').fill('mysql://nope');
    await page.getByLabel('Admin URL').blur();
    await poll(() => page.getByText('Use a postgres:// URL with an admin role.').isVisible()).toBe(true);
    await shot(page, 'ops-servers-desktop');
    // The platform's own check (it cannot connect) comes back as an error on the URL field.
    expectedErrors = [/400.*\/api\/v1\/database-servers/];
    await page.getByLabel('Name', { exact: true }).fill('db-unreachable');
    await page.getByLabel('Admin URL').fill('postgres://nobody:secret@127.0.0.1:1/postgres');
    await page.getByRole('button', { name: 'Add server' }).click();
    await poll(() =>
      page
        .locator('.field--invalid')
        .filter({ hasText: 'Admin URL' })
        .getByText(/Cannot connect with this URL/)
        .isVisible(),
    ).toBe(true);
    expectedErrors = [];
    await page.getByRole('button', { name: 'Close' }).click();

    await nav(page, 'Templates').click();
    const blank = page.locator('[data-template="blank"]');
    await poll(() => blank.locator('[data-state]').first().getAttribute('data-state')).toBe('ready');
    await shot(page, 'ops-templates-desktop');
    const startedBefore = await blank.locator('tr[data-started]').getAttribute('data-started');
    await blank.getByRole('button', { name: /Rebuild/ }).click();
    // A new build appears at once (the 202 answer), and the page follows it until it is ready.
    await poll(() => blank.locator('tr[data-started]').getAttribute('data-started')).not.toBe(startedBefore);
    await poll(() => blank.locator('[data-state]').first().getAttribute('data-state'), 120_000).toBe('ready');

    await nav(page, 'Jobs').click();
    await poll(() => page.locator('tr[data-job]').count()).toBeGreaterThan(0);
    await shot(page, 'ops-jobs-desktop');
    // A job's platform log: what the platform logged while its attempts ran.
    await page.locator('tr[data-job]').filter({ hasText: 'tenant-ops' }).first().getByRole('link', { name: 'tenant-ops' }).click();
    const jobLog = page.getByRole('log', { name: /Platform log of job/ });
    await poll(() => jobLog.textContent()).toContain('attempt 1 started');
    await shot(page, 'ops-job-log-desktop');
    await page.getByRole('button', { name: 'Close' }).click();

    await nav(page, 'Audit log').click();
    await poll(() => page.locator('tr[data-audit-action="tenant.suspend"]').count()).toBeGreaterThan(0);
    await shot(page, 'ops-audit-desktop');

    await nav(page, 'Accounts').click();
    await page.getByRole('link', { name: customer.organization }).click();
    await poll(() => page.getByRole('link', { name: instance }).isVisible()).toBe(true);
    await shot(page, 'ops-account-desktop');
    await nav(page, 'Users').click();
    await poll(() => page.getByText(customer.email).isVisible()).toBe(true);
    await shot(page, 'ops-users-desktop');
    await context.close();
  });

  it('a customer sees its subscription, previews an upgrade and downloads an invoice PDF; an operator sees MRR', async () => {
    const db = test.platform.database.db;
    const { accountId } = await db
      .selectFrom('users')
      .select('account_id as accountId')
      .where('email', '=', customer.email)
      .executeTakeFirstOrThrow();
    const { provider, reads } = test.platform.billing;
    const sub = await provider.subscribe({
      accountId: accountId as string,
      tenantId: null,
      plan: 'standard',
      interval: 'month',
      trial: false,
    });
    const [invoice] = await reads.invoices({ accountId }, { subscriptionId: sub.id, limit: 1, offset: 0 });
    if (!invoice) throw new Error('no invoice was issued');
    await provider.recordPayment({
      invoiceId: invoice.id,
      gateway: 'manual',
      reference: 'browser-test',
      status: 'succeeded',
      amountMinor: invoice.totalMinor,
      currency: invoice.currency,
    });

    await nav(customerPage, 'Billing').click();
    const card = customerPage.getByRole('region', { name: 'Subscription to standard' });
    await poll(() => card.isVisible()).toBe(true);
    await poll(() => card.getByText('Active').isVisible()).toBe(true);
    await card.getByLabel('Change plan').selectOption('premium');
    await poll(() => card.getByText(/Applies now: .* is charged for the rest of this period/).isVisible()).toBe(true);
    const row = customerPage.getByRole('row', { name: new RegExp(invoice.number) });
    await poll(() => row.getByText('paid').isVisible()).toBe(true);
    await shot(customerPage, 'billing-desktop');
    const [download] = await Promise.all([customerPage.waitForEvent('download'), row.getByRole('link', { name: 'Download' }).click()]);
    expect(download.suggestedFilename()).toBe(`${invoice.number}.pdf`);
    const stream = await download.createReadStream();
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).subarray(0, 5).toString()).toBe('%PDF-');

    const { context, page } = await newContext(DESKTOP, 'operator');
    await logInAs(page, operator.email, GOOD_PASSWORD);
    await nav(page, 'Billing').click();
    await poll(() => page.getByText('MRR (USD)').isVisible()).toBe(true);
    await poll(() =>
      page
        .getByText(/\$19\.00/)
        .first()
        .isVisible(),
    ).toBe(true);
    await shot(page, 'ops-billing-desktop');

    // Operator actions: a partial refund of the paid invoice issues a credit note.
    const invoiceRow = page.getByRole('row', { name: new RegExp(invoice.number) });
    await invoiceRow.getByRole('button', { name: 'Refund' }).click();
    const dialog = page.getByRole('dialog', { name: `Refund ${invoice.number}` });
    await dialog.getByLabel(/Amount/).fill('5.50');
    await dialog.getByLabel(/Reason/).fill('Outage on the 3rd');
    await dialog.getByRole('button', { name: 'Refund' }).click();
    const noteRow = page.getByRole('row', { name: /Outage on the 3rd/ });
    await poll(() => noteRow.getByText('issued').isVisible()).toBe(true);
    await poll(async () => /CN-\d{4}-\d{6}/.test((await noteRow.textContent()) ?? '')).toBe(true);
    const refunded = await db
      .selectFrom('billing_refunds')
      .select(['amount_minor', 'status'])
      .where('invoice_id', '=', invoice.id)
      .execute();
    expect(refunded).toEqual([{ amount_minor: 550, status: 'issued' }]);

    // Extending a trial moves its end by the days asked.
    const trialCustomer = await registerCustomer(test.http, 'trial');
    const trialAccount = await db
      .selectFrom('users')
      .select('account_id as accountId')
      .where('email', '=', trialCustomer.email)
      .executeTakeFirstOrThrow();
    const trial = await provider.subscribe({
      accountId: trialAccount.accountId as string,
      tenantId: null,
      plan: 'standard',
      interval: 'month',
      trial: true,
    });
    await page.reload();
    const trialItem = page.getByRole('listitem', { name: `Trial ${trial.id}` });
    await trialItem.getByLabel('Days').fill('10');
    await trialItem.getByRole('button', { name: 'Extend trial' }).click();
    await poll(async () => (await reads.subscription({ accountId: null }, trial.id)).trialEndsAt).toBe(
      new Date((trial.trialEndsAt?.getTime() ?? 0) + 10 * 86_400_000).toISOString(),
    );
    await context.close();
  });

  it("does not open another account's instance by URL", async () => {
    const other = await registerCustomer(test.http, 'other');
    const otherName = `other${Date.now().toString(36)}`;
    const created = await test.http.post(
      '/api/v1/tenants',
      { name: otherName, plan: 'basic', template: 'blank', adminEmail: 'admin@other.example.com', adminPassword: ODOO_ADMIN_PASSWORD },
      { token: other.accessToken },
    );
    expect(created.status, created.text).toBe(202);
    // The browser logs the API's 404 for this one request; anything else still fails the test.
    expectedErrors = [new RegExp(`404.*/api/v1/tenants/${otherName}`)];
    await customerPage.goto(`/instances/${otherName}`);
    await poll(() => customerPage.getByRole('heading', { name: 'Instance not found' }).isVisible()).toBe(true);
    expect(await customerPage.getByText(otherName).first().textContent()).toContain(otherName);
    expect(await customerPage.locator('[data-state]').count()).toBe(0);
    expectedErrors = [];
  });

  it('works at 375 px: signup, instance list and instance page', async () => {
    const guest = await newContext(PHONE, 'phone-guest');
    await guest.page.goto('/signup');
    await guest.page.getByRole('heading', { name: 'Create your account' }).waitFor();
    await shot(guest.page, 'signup-375');
    await guest.context.close();

    const { context, page } = await newContext(PHONE, 'phone');
    await logInAs(page, customer.email, customer.password);
    await page.waitForURL(/\/instances$/);
    await page.locator(`tr[data-tenant="${instance}"]`).waitFor();
    // No sideways scrolling on a phone.
    expect(await pageWidth(page)).toBeLessThanOrEqual(PHONE.width);
    await shot(page, 'instances-375');
    // The navigation folds into a menu button.
    await page.getByRole('button', { name: 'Menu' }).click();
    await poll(() => page.getByRole('link', { name: 'Plans' }).isVisible()).toBe(true);
    await shot(page, 'menu-375');
    await nav(page, 'Instances').click();
    await page.getByRole('link', { name: instance, exact: true }).click();
    await page.getByRole('heading', { name: 'Details' }).waitFor();
    expect(await pageWidth(page)).toBeLessThanOrEqual(PHONE.width);
    await shot(page, 'instance-375');
    await page.goto('/instances/new');
    await page.getByLabel('Name (subdomain)').waitFor();
    expect(await pageWidth(page)).toBeLessThanOrEqual(PHONE.width);
    await shot(page, 'create-form-375');
    await context.close();
  });

  it('shows a dedicated instance asleep on its page, and the wake a visit caused', async () => {
    const db = test.platform.database.db;
    const { accountId } = await db
      .selectFrom('users')
      .select('account_id as accountId')
      .where('email', '=', customer.email)
      .executeTakeFirstOrThrow();
    const name = `adah${Date.now().toString(36)}`;
    const created = await test.http.post(
      '/api/v1/tenants',
      { name, plan: 'standard', template: 'blank', adminEmail: customer.email, adminPassword: ODOO_ADMIN_PASSWORD, accountId },
      { token: operator.accessToken },
    );
    expect(created.status, created.text).toBe(202);
    await poll(async () => (await test.http.get(`/api/v1/tenants/${name}`, { token: operator.accessToken })).body.state, 120_000).toBe(
      'running',
    );
    await test.platform.hibernation.sweep(new Date(Date.now() + 31 * 60_000));
    expect((await test.http.get(`/api/v1/tenants/${name}/hibernation`, { token: operator.accessToken })).body.state).toBe('hibernated');

    await customerPage.goto(`/instances/${name}`);
    const card = customerPage.getByRole('region', { name: 'Hibernation' });
    await poll(() => card.getByText(/^asleep since .* \(wakes on the next visit\)$/).isVisible()).toBe(true);
    await poll(() => card.getByText(/^after 30 minutes without a visit/).isVisible()).toBe(true);
    await shot(customerPage, 'instance-hibernated-desktop');

    const visit = await hostRequest(port, `${name}.lvh.me:${port}`, 'GET', '/web/login', undefined, { accept: 'text/html' });
    expect(visit.status).toBe(200);
    await customerPage.reload();
    await poll(() => card.getByText('awake', { exact: true }).isVisible()).toBe(true);
    await poll(() => card.getByText(/in \d+\.\d s \(by a visit\)$/).isVisible()).toBe(true);
    await shot(customerPage, 'instance-woken-desktop');
  });

  it('confirms the email address and resets a forgotten password through the emailed links', async () => {
    const { context, page } = await newContext(DESKTOP, 'reset');
    const verify = await linkFromOutbox(test.config.dataDir, customer.email, 'Confirm your email address');
    expect(verify.host).toBe(`app.lvh.me:${port}`);
    await page.goto(verify.pathname + verify.search);
    await poll(() => page.getByText('Your email address is confirmed.').isVisible()).toBe(true);

    // Keyboard only: the skip link comes first, Enter submits the form.
    await page.goto('/login');
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string>('document.activeElement.textContent')).toBe('Skip to content');
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    // After a navigation the new page's heading takes the focus (screen readers announce it).
    await poll(() => page.evaluate<string>('document.activeElement.textContent')).toBe('Reset your password');
    await page.getByLabel('Email').focus();
    await page.keyboard.type(customer.email);
    await page.keyboard.press('Enter');
    await poll(() => page.getByText(/a link to set a new password is on its way/).isVisible()).toBe(true);

    const reset = await waitFor(
      'the reset mail',
      () => linkFromOutbox(test.config.dataDir, customer.email, 'Reset your password').catch(() => undefined),
      10_000,
    );
    await page.goto(reset.pathname + reset.search);
    const newPassword = 'Another-Secret-77';
    await page.getByLabel('New password', { exact: true }).fill(newPassword);
    await page.getByLabel('Repeat the new password').fill('Another-Secret-78');
    await page.getByLabel('Repeat the new password').blur();
    await poll(() => page.getByText('The two passwords differ.').isVisible()).toBe(true);
    await page.getByLabel('Repeat the new password').fill(newPassword);
    await shot(page, 'reset-password-desktop');
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.waitForURL(/\/login\?reset=1/);
    await poll(() => page.getByText('Your password was changed.').isVisible()).toBe(true);
    await logInAs(page, customer.email, newPassword);
    await page.waitForURL(/\/instances$/);
    await context.close();
  });

  it('logged no console error in any dashboard page', async () => {
    await customerContext?.close();
    expect(consoleErrors).toEqual([]);
  });
});
