import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/index.js';
import { LocalPostgresServer } from '../../src/postgres/index.js';
import { assertChromium, ensureDashboardBuilt, launchChromium, SHOTS } from '../helpers/browser.js';
import { waitFor } from '../helpers/gateway-client.js';
import {
  createOperator,
  GOOD_PASSWORD,
  registerCustomer,
  runningTenant,
  startTestPlatform,
  type TestPlatform,
} from '../helpers/platform.js';
import { freeTestPort } from '../helpers/ports.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

/**
 * The operator's migration screens in a real browser (Debian's Chromium, playwright-core) against
 * the platform with the fake Odoo and two real PostgreSQL servers: the Plan card of a tenant's
 * page previews a plan change (the move's steps and estimated downtime), runs it and follows it
 * to its end; the servers page's "Move tenants off" dialog lists what would move, drains the
 * server and follows each tenant's move, by name; the timeline tab lists the tenant's jobs with
 * their log lines. Any console error fails the test. Screenshots
 * go to test-output/screenshots/migration-*.png.
 */

const WAIT_MS = 15_000;
const MOVE_MS = 120_000;
process.env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

describe('migration screens in a real browser (Chromium)', { timeout: 300_000 }, () => {
  let test: TestPlatform;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let operator: Awaited<ReturnType<typeof createOperator>>;
  let customer: Awaited<ReturnType<typeof registerCustomer>>;
  let second: LocalPostgresServer;
  let secondDirectory: string;
  let secondId: string;
  let defaultId: string;
  const consoleErrors: string[] = [];

  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `migration-${name}.png`), fullPage: true, animations: 'disabled' });
  const tenantView = async (name: string) => (await test.http.get(`/api/v1/tenants/${name}`, { token: operator.accessToken })).body;

  beforeAll(async () => {
    assertChromium();
    ensureDashboardBuilt();
    mkdirSync(SHOTS, { recursive: true });
    secondDirectory = mkdtempSync(join(tmpdir(), 'saas-test-pg2-'));
    chmodSync(secondDirectory, 0o755);
    second = new LocalPostgresServer({
      directory: secondDirectory,
      logger: createLogger('warn'),
      unsafeFastMode: true,
      maxConnections: 200,
    });
    const secondUrl = (await second.start()).url;
    const port = await freeTestPort();
    const app = `http://app.lvh.me:${port}`;
    test = await startTestPlatform(
      {
        PUBLIC_URL: app,
        BASE_DOMAIN: 'lvh.me',
        ODOO_BIN: resolve('test/fixtures/fake-odoo/odoo-bin'),
        TENANT_DATABASE_URL: postgresAdminUrl(),
        TEMPLATES_AUTOBUILD: 'blank',
        SPARE_DATABASES: '0',
      },
      { port },
    );
    operator = await createOperator(test);
    customer = await registerCustomer(test.http, 'browser-migration');
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
    const added = await test.http.post(
      '/api/v1/database-servers',
      { name: 'second', url: secondUrl, kind: 'shared', capacity: 20 },
      { token: operator.accessToken },
    );
    expect(added.status, added.text).toBe(201);
    secondId = added.body.id;
    const servers = (await test.http.get('/api/v1/database-servers', { token: operator.accessToken })).body as Array<{
      id: string;
      isDefault: boolean;
    }>;
    defaultId = servers.find((s) => s.isDefault)?.id ?? '';

    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 860 }, baseURL: app, reducedMotion: 'reduce' });
    context.setDefaultTimeout(WAIT_MS);
    page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(`${message.text()} ${message.location().url ?? ''}`);
    });
    page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
    await page.goto('/login');
    await page.getByLabel('Email').fill(operator.email);
    await page.getByLabel('Password', { exact: true }).fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL((url) => !url.pathname.startsWith('/login'));
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await test?.stop();
    await second?.stop();
    if (secondDirectory) rmSync(secondDirectory, { recursive: true, force: true });
  });

  it('changes a tenant plan from the Plan card: preview with steps and estimate, then the move followed to its end', async () => {
    const name = `pc${Date.now().toString(36)}`;
    await runningTenant(test, operator.accessToken, { name, plan: 'basic', accountId: customer.accountId });
    await page.goto(`/ops/tenants/${name}`);
    const card = page.getByRole('region', { name: 'Plan' });
    const select = card.getByLabel('Change plan (now on basic)');
    await expect.poll(() => select.isVisible(), { timeout: WAIT_MS }).toBe(true);
    const submit = card.getByRole('button', { name: 'Change plan' });
    expect(await submit.isDisabled()).toBe(true);

    await select.selectOption('standard');
    // The dry run: a move (pool -> Odoo processes of its own), its estimated downtime and its steps.
    await expect
      .poll(() => card.getByText(/This moves the instance: about \d+\.\d s of maintenance page/).isVisible(), { timeout: WAIT_MS })
      .toBe(true);
    expect(await card.getByRole('listitem').count()).toBeGreaterThan(2);
    expect(await submit.isEnabled()).toBe(true);
    expect((await tenantView(name)).plan).toBe('basic');
    await shot('plan-card-preview');

    await submit.click();
    const outcome = card.getByText(/Move to standard: succeeded \(8\/8 steps\) — maintenance page for \d+\.\d s/);
    await expect.poll(() => outcome.isVisible(), { timeout: MOVE_MS, interval: 250 }).toBe(true);
    expect(await card.getByRole('progressbar', { name: 'Move progress' }).getAttribute('value')).toBe('8');
    // The page shows the tenant on its new plan without a reload.
    await expect.poll(() => card.getByLabel('Change plan (now on standard)').isVisible(), { timeout: WAIT_MS }).toBe(true);
    await shot('plan-card-moved');
    expect(await tenantView(name)).toMatchObject({ plan: 'standard', processStrategy: 'dedicated', state: 'running' });

    // The timeline tab lists the tenant's jobs, the move among them, with its log lines.
    await page.getByRole('link', { name: 'Timeline' }).click();
    const jobs = page.getByRole('list', { name: 'Jobs of this tenant' });
    const migrationJob = jobs.getByRole('listitem').filter({ hasText: 'Migration' });
    await expect.poll(() => migrationJob.isVisible(), { timeout: WAIT_MS }).toBe(true);
    expect(await jobs.getByRole('listitem').filter({ hasText: 'Tenant ops' }).count()).toBeGreaterThan(0);
    await migrationJob.locator('summary').click();
    const log = migrationJob.getByRole('log');
    await expect.poll(() => log.isVisible(), { timeout: WAIT_MS }).toBe(true);
    expect(await log.textContent()).toMatch(/#1 INFO {2}attempt 1 started[\s\S]*#1 INFO {2}attempt 1 completed in [\d.]+ s/);
    await shot('timeline-jobs');
    await migrationJob.getByRole('link', { name: 'The job' }).click();
    await page.waitForURL(/\/ops\/jobs\?id=/);
    await expect.poll(() => page.getByRole('log').isVisible(), { timeout: WAIT_MS }).toBe(true);
    expect(consoleErrors).toEqual([]);
  });

  it('drains a server from its "Move tenants off" dialog: the tenants that would move, then each move by name', async () => {
    const name = `dr${Date.now().toString(36)}`;
    await runningTenant(test, operator.accessToken, { name, plan: 'basic', accountId: customer.accountId });
    const moved = await test.http.post(`/api/v1/tenants/${name}/migrate`, { toServerId: secondId }, { token: operator.accessToken });
    expect(moved.status, moved.text).toBe(202);
    await waitFor('the move to the second server', async () => ((await tenantView(name)).databaseServerId === secondId ? true : undefined));
    await waitFor('the tenant to run again', async () => ((await tenantView(name)).state === 'running' ? true : undefined), MOVE_MS);

    await page.goto('/ops/servers');
    const open = page.getByRole('button', { name: 'Move tenants off second' });
    await expect.poll(() => open.isVisible(), { timeout: WAIT_MS }).toBe(true);
    await open.click();
    const dialog = page.getByRole('dialog', { name: 'Move every tenant off second' });
    await expect.poll(() => dialog.isVisible(), { timeout: WAIT_MS }).toBe(true);
    const wouldMove = dialog.getByRole('list', { name: 'Tenants that would move' });
    await expect.poll(() => wouldMove.getByText(new RegExp(`^${name}: about \\d+\\.\\d s of maintenance page$`)).isVisible()).toBe(true);
    // The dry run changed nothing.
    expect((await test.http.get(`/api/v1/database-servers/${secondId}`, { token: operator.accessToken })).body.status).toBe('active');
    await shot('drain-preview');

    await dialog.getByRole('button', { name: 'Move them' }).click();
    const progress = dialog.getByRole('list', { name: 'Migrations' });
    await expect
      .poll(() => progress.getByText(new RegExp(`^${name}: succeeded \\(maintenance page for \\d+\\.\\d s\\)$`)).isVisible(), {
        timeout: MOVE_MS,
        interval: 250,
      })
      .toBe(true);
    await shot('drain-done');
    await dialog.getByRole('button', { name: 'Close' }).click();
    // The server's card counts its tenants as the moves ended, without a reload.
    const card = page.locator('[data-server="second"]');
    await expect.poll(() => card.getByRole('link', { name: '0 tenants' }).isVisible(), { timeout: WAIT_MS }).toBe(true);
    expect(await card.getByText('Draining').isVisible()).toBe(true);
    await shot('drain-closed');
    expect((await test.http.get(`/api/v1/database-servers/${secondId}`, { token: operator.accessToken })).body.status).toBe('draining');
    expect(await tenantView(name)).toMatchObject({ databaseServerId: defaultId, state: 'running' });
    expect(consoleErrors).toEqual([]);
  });
});
