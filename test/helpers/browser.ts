import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium, driven by playwright-core (no browser download). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SHOTS = resolve('test-output/screenshots');
const WEB_DIST = resolve('web/dist/index.html');

/** Builds the dashboard when `npm test` did not (vitest run directly). */
export function ensureDashboardBuilt(): void {
  if (existsSync(WEB_DIST)) return;
  const build = spawnSync(
    process.execPath,
    ['node_modules/vite/bin/vite.js', 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'],
    {
      stdio: 'inherit',
    },
  );
  if (build.status !== 0) throw new Error('building the dashboard (vite build) failed');
}

export function assertChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: the browser tests cannot run. ` +
        '`npm test` installs it with apt (Debian package "chromium"); install it by hand or set CHROMIUM_PATH.',
    );
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // No DNS here: every *.lvh.me name (the dashboard and the tenants) is this machine.
      '--host-resolver-rules=MAP *.lvh.me 127.0.0.1',
    ],
  });
}
