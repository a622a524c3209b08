import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentTotp } from '../../src/identity/index.js';
import { assertChromium, ensureDashboardBuilt, launchChromium, SHOTS } from '../helpers/browser.js';
import { dashboardClientAt, newSigningKey, startOidcProvider, type TestProvider, testIssuerSetting } from '../helpers/oidc.js';
import { createOperator, GOOD_PASSWORD, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { freeTestPort } from '../helpers/ports.js';

/**
 * Sign-in with an external OpenID provider (oidc-provider on loopback) and two-factor
 * authentication, in a real browser: "Sign in with Test IdP" goes through the provider's login
 * page and back (authorization code flow with PKCE) into the dashboard; the user sets up TOTP
 * with the key the page shows, and the next sign-in asks for a code computed from that key.
 * Screenshots go to test-output/screenshots/identity-*.png.
 */

const WAIT_MS = 15_000;

describe('identity in a real browser (Chromium)', { timeout: 180_000 }, () => {
  let provider: TestProvider;
  let test: TestPlatform;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let secret = '';
  const consoleErrors: string[] = [];

  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `identity-${name}.png`), fullPage: true, animations: 'disabled' });
  const poll = <T>(check: () => Promise<T> | T) => expect.poll(check, { timeout: WAIT_MS, interval: 100 });

  beforeAll(async () => {
    assertChromium();
    ensureDashboardBuilt();
    mkdirSync(SHOTS, { recursive: true });
    const port = await freeTestPort();
    const app = `http://app.lvh.me:${port}`;
    provider = await startOidcProvider({
      port: await freeTestPort(),
      keys: [(await newSigningKey('browser-key')).jwk],
      clients: [dashboardClientAt(app)],
      accounts: { ada: { email: 'ada@idp.example', email_verified: true, name: 'Ada Byron' } },
    });
    test = await startTestPlatform(
      {
        PUBLIC_URL: app,
        OIDC_ISSUERS: testIssuerSetting(provider),
        // Customers are free; operators must set up an authenticator at their first login.
        REQUIRE_OPERATOR_2FA: 'true',
      },
      { port },
    );
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 860 }, baseURL: app, reducedMotion: 'reduce' });
    context.setDefaultTimeout(WAIT_MS);
    page = await context.newPage();
    page.on('console', (message) => {
      // The provider's development pages load web fonts and a favicon that are not there: not ours.
      const url = message.location().url ?? '';
      if (message.type() === 'error' && url.startsWith(app)) consoleErrors.push(`${message.text()} ${url}`);
    });
    page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await test?.stop();
    await provider?.stop();
  });

  /** From the dashboard's login page through the provider's login form and back. */
  async function signInWithProvider(): Promise<void> {
    await page.goto('/login');
    const button = page.getByRole('link', { name: 'Sign in with Test IdP' });
    await poll(() => button.isVisible()).toBe(true);
    await button.click();
    await page.waitForURL((url) => url.origin === provider.issuer || url.pathname === '/login' || url.pathname === '/instances');
    if (new URL(page.url()).origin === provider.issuer) {
      await page.locator('input[name="login"]').fill('ada');
      await page.locator('input[name="password"]').fill('any-password');
      await shot('provider-login');
      await page.getByRole('button', { name: 'Sign-in' }).click();
    }
  }

  it('signs in with the provider through the code flow and lands in the dashboard with a session', async () => {
    await page.goto('/login');
    await poll(() => page.getByRole('link', { name: 'Sign in with Test IdP' }).isVisible()).toBe(true);
    await shot('login-with-provider');
    await signInWithProvider();
    await page.waitForURL(/\/instances/);
    await poll(() => page.getByRole('navigation', { name: 'Main' }).isVisible()).toBe(true);
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'saas_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(cookies.some((c) => c.name === 'saas_oidc_flow')).toBe(false);
    const me = (await page.evaluate(() => fetch('/api/v1/me').then((r) => r.json()))) as { user: unknown };
    expect(me.user).toMatchObject({ email: 'ada@idp.example', name: 'Ada Byron', role: 'customer' });
  });

  it('sets up TOTP with the key the page shows, and shows the recovery codes once', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account', exact: true }).click();
    await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    const key = page.getByTestId('totp-secret');
    await poll(() => key.isVisible()).toBe(true);
    secret = ((await key.textContent()) ?? '').replace(/\s+/g, '');
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await expect.poll(() => page.getByText('Linked sign-ins').isVisible()).toBe(true);
    await shot('two-factor-setup');
    await page.getByLabel('Code from the app').fill(currentTotp(secret));
    await page.getByRole('button', { name: 'Turn on' }).click();
    const codes = page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem');
    await poll(() => codes.count()).toBe(10);
    await poll(() => page.getByText(/10 recovery codes left/).isVisible()).toBe(true);
    await shot('two-factor-recovery-codes');
  });

  it('asks the next sign-in for a code computed from the shared secret', async () => {
    await page.getByRole('button', { name: 'Log out' }).first().click();
    await page.waitForURL(/\/login/);
    await signInWithProvider();
    await page.waitForURL(/\/login/);
    await poll(() => page.getByRole('heading', { name: 'Two-factor authentication' }).isVisible()).toBe(true);
    // The challenge does not stay in the address bar.
    expect(page.url()).not.toContain('challenge=');
    await shot('login-second-factor');
    await page.getByLabel('Authentication code').fill('000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    await poll(() => page.getByText(/That code is not right/).isVisible()).toBe(true);
    // The enrolment used the current time step: the next one is a fresh code, as the app would show it 30 s later.
    await page.getByLabel('Authentication code').fill(currentTotp(secret, Date.now() + 30_000));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(/\/instances/);
    await poll(() => page.getByRole('navigation', { name: 'Main' }).isVisible()).toBe(true);
    await shot('signed-in-after-second-factor');
    // The one refused code is the only error the dashboard logged (its 401).
    expect(consoleErrors.filter((e) => !/401/.test(e))).toEqual([]);
  });

  it('walks an operator without two-factor through setting it up at login (REQUIRE_OPERATOR_2FA)', async () => {
    const operator = await createOperator(test);
    expect(operator.accessToken).toBeUndefined(); // the password alone gave no tokens
    await page.getByRole('button', { name: 'Log out' }).first().click();
    await page.waitForURL(/\/login/);
    await page.getByLabel('Email').fill(operator.email);
    await page.getByLabel('Password', { exact: true }).fill(GOOD_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await poll(() => page.getByText('Operators must use two-factor authentication').isVisible()).toBe(true);
    const key = page.getByTestId('totp-secret');
    await poll(() => key.isVisible()).toBe(true);
    const operatorSecret = ((await key.textContent()) ?? '').replace(/\s+/g, '');
    await shot('operator-enrol-at-login');
    await page.getByLabel('Authentication code').fill(currentTotp(operatorSecret));
    await page.getByRole('button', { name: 'Verify' }).click();
    await poll(() => page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').count()).toBe(10);
    await shot('operator-recovery-codes');
    await page.getByRole('button', { name: 'I have saved them, continue' }).click();
    await page.waitForURL(/\/ops/);
    await poll(() => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).isVisible()).toBe(true);
    expect(consoleErrors.filter((e) => !/401/.test(e))).toEqual([]);
  });
});
