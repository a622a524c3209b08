import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium, driven by playwright-core (no browser download). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SHOTS = resolve('test-output/screenshots');
const WEB_DIST = resolve('web/dist/index.html');

/** Whether any file of the dashboard's sources (web/ outside web/dist) is newer than `than` (ms). */
function webSourcesNewerThan(than: number, directory = resolve('web')): boolean {
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'dist' && entry.name !== 'node_modules' && webSourcesNewerThan(than, path)) return true;
    } else if (statSync(path).mtimeMs > than) return true;
  }
  return false;
}

/**
 * Builds the dashboard when `npm test` did not (vitest run directly), or rebuilds it when a source
 * changed since (as build_web in scripts/lib.sh decides): a stale build would test the old pages.
 */
export function ensureDashboardBuilt(): void {
  if (existsSync(WEB_DIST) && !webSourcesNewerThan(statSync(WEB_DIST).mtimeMs)) return;
  // The pages import the API types generated from the routes (not committed).
  const types = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/generate-api-types.ts'], { stdio: 'inherit' });
  if (types.status !== 0) throw new Error('generating the dashboard API types (scripts/generate-api-types.ts) failed');
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
