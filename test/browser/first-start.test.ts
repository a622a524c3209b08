import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertChromium, ensureDashboardBuilt, launchChromium, SHOTS } from '../helpers/browser.js';
import { exited, runCli, spawnServe } from '../helpers/cli.js';
import { waitFor } from '../helpers/gateway-client.js';
import { type ArchiveServer, fakeOdooSourceArchive, startArchiveServer } from '../helpers/odoo-archive.js';
import { createHttpClient, GOOD_PASSWORD, registerCustomer, uniqueEmail } from '../helpers/platform.js';
import { freeTestPort } from '../helpers/ports.js';
import { createTestDatabase, postgresAdminUrl, type TestDatabase } from '../helpers/postgres.js';

/**
 * A fresh platform on a machine without Odoo (issue 8, item 1), as `npm start` runs it
 * (`saasctl serve` as a child process). Without network to the source archive it starts anyway
 * with one banner (its log, `saasctl doctor`, the operator console), and a customer reads in the
 * browser that the platform is not ready to create instances, never an operator command. Started
 * again where the archive can be reached (a local server with a stand-in of Odoo's archive and a
 * PyPI-shaped index), it installs Odoo by itself, and the banner goes.
 */

const CUSTOMER_MESSAGE = 'The platform is not ready to create instances yet. Please try again later.';

describe('first start without Odoo', { timeout: 300_000 }, () => {
  let database: TestDatabase;
  let dataDir: string;
  let port: number;
  let archives: ArchiveServer;
  let serve: ChildProcess | undefined;
  let log = '';
  let browser: Browser;
  const operator = { email: uniqueEmail('first-operator'), password: GOOD_PASSWORD };
  let customer: Awaited<ReturnType<typeof registerCustomer>>;
  const base = () => `http://127.0.0.1:${port}`;

  /** `saasctl serve` with its output kept; answers once /readyz does. */
  async function startServe(env: Record<string, string>): Promise<void> {
    log = '';
    serve = spawnServe(
      {
        DATA_DIR: dataDir,
        DATABASE_URL: database.url,
        TENANT_DATABASE_URL: postgresAdminUrl(),
        SECRET_KEY: 'test-secret-key-that-is-at-least-32-characters-long',
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
        SPARE_DATABASES: '0',
        ...env,
      },
      ['ignore', 'pipe', 'pipe'],
    );
    serve.stdout?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    serve.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    await waitFor(
      'the platform to answer /readyz',
      async () => ((await fetch(`${base()}/readyz`).catch(() => undefined))?.ok ? true : undefined),
      90_000,
      200,
    );
  }

  async function stopServe(): Promise<void> {
    if (!serve) return;
    serve.kill('SIGTERM');
    await exited(serve);
    serve = undefined;
  }

  async function logIn(page: Page, email: string, password: string): Promise<void> {
    await page.goto('/login');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL((url) => !url.pathname.startsWith('/login'));
  }

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, baseURL: base(), reducedMotion: 'reduce' });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    page.on('pageerror', (error) => {
      throw error;
    });
    return page;
  }

  beforeAll(async () => {
    assertChromium();
    ensureDashboardBuilt();
    mkdirSync(SHOTS, { recursive: true });
    database = await createTestDatabase('firststart');
    dataDir = mkdtempSync(join(tmpdir(), 'saas-first-start-'));
    port = await freeTestPort();
    archives = await startArchiveServer();
    archives.archives.set('odoo_17.tar.gz', fakeOdooSourceArchive({ series: '17.0' }));
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await stopServe();
    await browser?.close();
    await archives?.close();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts without network to the archive, with one banner in its log', async () => {
    // A port nobody listens on stands for a machine that cannot reach nightly.odoo.com.
    const closed = await freeTestPort();
    await startServe({ ODOO_SOURCE_URL_17: `http://127.0.0.1:${closed}/odoo_17.0.latest.tar.gz` });
    await waitFor('the banner in the log', async () => (log.includes('NO ODOO INSTALLED') ? true : undefined), 30_000, 100);
    const banners = log.split('\n').filter((line) => line.includes('NO ODOO INSTALLED'));
    expect(banners).toHaveLength(1);
    expect(banners[0]).toContain('saasctl odoo install 17.0');
    expect(banners[0]).toContain(`127.0.0.1:${closed} cannot be reached`);
  });

  it('says so in saasctl doctor', async () => {
    const doctor = await runCli(['doctor'], { env: { DATA_DIR: dataDir, PATH: process.env.PATH ?? '' } });
    expect(doctor.stdout).toContain('Odoo: NOT INSTALLED');
    expect(doctor.stdout).toContain('saasctl odoo install 17.0');
  });

  it('tells a customer in the browser that the platform is not ready, with no operator command', async () => {
    customer = await registerCustomer(createHttpClient(base()), 'first');
    const page = await newPage();
    await logIn(page, customer.email, GOOD_PASSWORD);
    await page.goto('/instances/new');
    const banner = page.getByTestId('readiness-banner');
    await banner.waitFor();
    expect(await banner.textContent()).toBe(CUSTOMER_MESSAGE);
    const text = await page.locator('body').textContent();
    expect(text).not.toContain('saasctl');
    expect(text).not.toContain('Try again in a minute');
    await page.screenshot({ path: join(SHOTS, 'first-start-customer-not-ready.png'), fullPage: true });
    await page.context().close();
  });

  it('shows the operator what to run, and the Odoo page with the failed installation', async () => {
    const created = await runCli(['operator', 'create', '--email', operator.email, '--name', 'First Operator', '--password-stdin'], {
      env: { DATA_DIR: dataDir, DATABASE_URL: database.url, SECRET_KEY: 'test-secret-key-that-is-at-least-32-characters-long' },
      input: `${operator.password}\n`,
    });
    expect(created.code, created.stderr).toBe(0);
    const page = await newPage();
    await logIn(page, operator.email, operator.password);
    const banner = page.getByTestId('readiness-banner');
    await banner.waitFor();
    expect(await banner.textContent()).toContain('saasctl odoo install 17.0');
    await banner.getByRole('link', { name: 'Open the Odoo page' }).click();
    await page.waitForURL(/\/ops\/odoo$/);
    const card = page.locator('[data-series="17.0"]');
    await card.getByRole('button', { name: 'Install Odoo 17.0' }).click();
    await card.getByText('cannot reach 127.0.0.1').waitFor({ timeout: 30_000 });
    expect(await card.getByRole('button').textContent()).toContain('Install again');
    await banner.getByText('the last installation of 17.0 failed').waitFor();
    await page.screenshot({ path: join(SHOTS, 'first-start-operator-odoo-failed.png'), fullPage: true });
    await page.context().close();
  });

  it('installs Odoo by itself when started where the archive can be reached, and the banner goes', async () => {
    await stopServe();
    await startServe({
      ODOO_SOURCE_URL_17: `${archives.url}/archives/odoo_17.tar.gz`,
      ODOO_PIP_INDEX_URL: `${archives.url}/simple/`,
      TEMPLATES_AUTOBUILD: '',
    });
    await waitFor(
      'the automatic installation to start',
      async () => (log.includes('installing Odoo 17.0 now') ? true : undefined),
      30_000,
      100,
    );
    const page = await newPage();
    await logIn(page, customer.email, GOOD_PASSWORD);
    await page.goto('/instances/new');
    await page.getByTestId('readiness-banner').waitFor();
    const http = createHttpClient(base());
    await waitFor(
      'Odoo 17.0 to be installed by the platform itself',
      async () =>
        (await http.get('/api/v1/platform/readiness', { token: customer.accessToken })).body.canCreateInstances ? true : undefined,
      180_000,
      500,
    );
    // The page asks again every 5 s while the platform is not ready: the banner goes by itself.
    await page.getByTestId('readiness-banner').waitFor({ state: 'detached' });
    expect(log).toContain('Odoo installed and registered');
    await page.screenshot({ path: join(SHOTS, 'first-start-customer-ready.png'), fullPage: true });
    await page.context().close();
  }, 240_000);
});
