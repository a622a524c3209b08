import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CommandError } from '../errors/index.js';
import { runCommand } from '../system/index.js';
import { type OdooServerOptions, renderOdooConfig } from './config-file.js';
import { odooEnvironment } from './environment.js';
import {
  assetUrlsOf,
  authenticateSession,
  checkSession,
  fetchOdooPage,
  type OdooEndpoint,
  OdooRpcError,
  odooHealthy,
} from './rpc-client.js';

/** Where the Odoo executable is and how to run it. */
export interface OdooInstallation {
  /** Path of odoo-bin (ODOO_BIN, or `odoo`/`odoo-bin` found on PATH). */
  bin: string;
  addonsPath?: string[] | undefined;
}

export interface OdooRunOptions {
  /** Output of the command is appended here, readable by the platform's user only (and its tail is put in errors). */
  logFile: string;
  timeoutMs?: number;
  /** Default: the platform's environment without its secrets (odooEnvironment). */
  env?: NodeJS.ProcessEnv;
}

/** Writes an Odoo config file with mode 0600 (it holds database passwords). */
export async function writeOdooConfig(path: string, options: OdooServerOptions): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  // Removed first: the mode applies only to a new file, and an older one may have another.
  await rm(path, { force: true });
  await writeFile(path, renderOdooConfig(options), { mode: 0o600 });
}

function openLog(path: string) {
  return createWriteStream(path, { flags: 'a', mode: 0o600 });
}

/** Runs odoo-bin to completion with an argument vector; rejects with CommandError and the output's tail. */
export async function runOdooCommand(odoo: OdooInstallation, args: string[], options: OdooRunOptions): Promise<void> {
  await mkdir(dirname(options.logFile), { recursive: true });
  const log = openLog(options.logFile);
  try {
    await runCommand(odoo.bin, args, {
      env: options.env ?? odooEnvironment(process.env),
      timeoutMs: options.timeoutMs ?? 30 * 60_000,
      onOutput: (chunk) => log.write(chunk),
    });
  } finally {
    await new Promise((r) => log.end(r));
  }
}

/**
 * Initialises a template database: `-i <modules> --without-demo=all --stop-after-init`.
 * The config names the database role that will own every object in it.
 */
export async function initialiseDatabase(
  odoo: OdooInstallation,
  input: { configFile: string; database: string; modules: string[] },
  options: OdooRunOptions,
): Promise<void> {
  await runOdooCommand(
    odoo,
    ['-c', input.configFile, '-d', input.database, '-i', input.modules.join(','), '--without-demo=all', '--stop-after-init', '--no-http'],
    options,
  );
}

/** `odoo-bin neutralize`: disables crons, outgoing mail servers, payment providers... of a copy. */
export async function neutraliseDatabase(
  odoo: OdooInstallation,
  input: { configFile: string; database: string },
  options: OdooRunOptions,
): Promise<void> {
  await runOdooCommand(odoo, ['neutralize', '-c', input.configFile, '-d', input.database], options);
}

/** `odoo-bin --version` -> e.g. `16.0`. */
export async function detectOdooVersion(odoo: OdooInstallation): Promise<string> {
  const { stdout, stderr } = await runCommand(odoo.bin, ['--version'], { env: odooEnvironment(process.env) });
  const out = stdout + stderr;
  const version = /(\d+\.\d+)/.exec(out)?.[1];
  if (!version) throw new CommandError(`${odoo.bin} --version`, 0, `no version in its output: ${out}`);
  return version;
}

/** What a warm-up did: the asset URLs it requested (login page and backend). */
export interface WarmUpResult {
  assetUrls: string[];
}

/**
 * Serves the template once, as a browser would use a new tenant, so that every clone starts with
 * the web asset bundles compiled and stored (measured ~2 s saved on a clone's first page with
 * Odoo 16, 1-1.9 s per bundle with 17 and 18): the login page, a login as the template's admin,
 * the backend (`/web`), and every `/web/assets/...` URL these two pages link to. Odoo 16 builds
 * a page's bundles while rendering it; Odoo 17 and 18 only link them and build each one when its
 * URL is requested (web/controllers/binary.py), so fetching the pages alone stores nothing.
 * The login is checked like a tenant's (checkSession): an installation whose sessions do not
 * work fails here, with Odoo's traceback, once per template build instead of once per tenant.
 */
export async function warmWebAssets(
  odoo: OdooInstallation,
  input: { configFile: string; database: string; port: number; admin: { login: string; password: string } },
  options: OdooRunOptions,
): Promise<WarmUpResult> {
  await mkdir(dirname(options.logFile), { recursive: true });
  const log = openLog(options.logFile);
  const child = spawn(
    odoo.bin,
    [
      '-c',
      input.configFile,
      '-d',
      input.database,
      '--db-filter',
      `^${input.database}$`,
      // Odoo binds every interface unless told otherwise.
      '--http-interface',
      '127.0.0.1',
      '--http-port',
      String(input.port),
      '--max-cron-threads',
      '0',
      '--workers',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? odooEnvironment(process.env) },
  );
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    const endpoint: OdooEndpoint = { host: '127.0.0.1', port: input.port, timeoutMs: 120_000 };
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    while (!(await odooHealthy(endpoint))) {
      if (child.exitCode !== null) throw new CommandError(`${odoo.bin} (asset warm-up)`, child.exitCode, 'Odoo exited before serving');
      if (Date.now() > deadline) throw new CommandError(`${odoo.bin} (asset warm-up)`, null, 'Odoo did not become healthy in time');
      await new Promise((r) => setTimeout(r, 100));
    }
    const loginPage = await fetchOdooPage(endpoint, '/web/login');
    if (loginPage.status !== 200) throw new OdooRpcError(`Odoo answered HTTP ${loginPage.status} on /web/login of the template`);
    const session = await authenticateSession(endpoint, { database: input.database, ...input.admin });
    const { backendPage } = await checkSession(endpoint, session);
    const assetUrls = [...new Set([...assetUrlsOf(loginPage.body), ...assetUrlsOf(backendPage)])];
    for (const url of assetUrls) {
      const asset = await fetchOdooPage(endpoint, url, session);
      if (asset.status !== 200) throw new OdooRpcError(`Odoo answered HTTP ${asset.status} on the asset bundle ${url}`);
    }
    return { assetUrls };
  } finally {
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(killer);
    await new Promise((r) => log.end(r));
  }
}
