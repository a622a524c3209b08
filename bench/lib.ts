/**
 * What the provisioning and density benchmarks share: the whole platform on its own DATA_DIR
 * (managed PostgreSQL with durable settings, job workers, gateway on the API port), the blank
 * template built, one customer account without per-account limits, and provisioning a tenant up
 * to a successful admin login through the gateway.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { sql } from 'kysely';
import { loadConfig } from '../src/config/index.js';
import { startPlatform } from '../src/main.js';
import { freePort } from '../src/system/index.js';
import { hostRequest } from '../test/helpers/gateway-client.js';

export const odooBin = process.env.ODOO_BIN ?? resolve('test/fixtures/fake-odoo/odoo-bin');
export const usingFake = !process.env.ODOO_BIN;
export const ADMIN_PASSWORD = 'Bench-Admin-Pass-1';
const PASSWORD = 'Bench-Password-42';
/** The password of the bench's own user (a bench that needs an operator promotes it and logs in again). */
export const BENCH_USER_PASSWORD = PASSWORD;

if (usingFake) process.env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

export function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export function loadAverage(): string {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
}

export async function json<T>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; body: T }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Resident and proportional set size of a process (PSS shares pages among the processes using them). */
export function memoryOf(pid: number): { rss: number; pss: number } {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? 0) * 1024;
    return { rss: kib('Rss'), pss: kib('Pss') };
  } catch {
    return { rss: 0, pss: 0 };
  }
}

/** A process and its descendants. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirProc()) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), entry]);
    } catch {
      // gone meanwhile
    }
  }
  const tree: number[] = [];
  const walk = (id: number) => {
    tree.push(id);
    for (const child of children.get(id) ?? []) walk(child);
  };
  walk(pid);
  return tree;
}

function readdirProc(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

export type BenchPlatform = Awaited<ReturnType<typeof startBenchPlatform>>;

export async function startBenchPlatform(plan: string, env: Record<string, string> = {}, options: { tenants?: number } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'saas-bench-'));
  chmodSync(dataDir, 0o755);
  const port = await freePort();
  const config = loadConfig({
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    ODOO_BIN: odooBin,
    TEMPLATES_AUTOBUILD: 'blank',
    LOGIN_RATE_LIMIT_PER_MINUTE: '100000',
    // One account creates every tenant here: the per-account limits are not what is measured.
    TENANT_CREATE_RATE_LIMIT_PER_HOUR: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    ...env,
  });
  const platform = await startPlatform(config);
  const base = `http://127.0.0.1:${port}`;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= platform.stop().then(() => rmSync(dataDir, { recursive: true, force: true }));
    return stopping;
  };
  // Ctrl-C stops the platform (its Odoo processes and PostgreSQL) before exiting.
  process.once('SIGINT', () => {
    void stop().finally(() => process.exit(130));
  });
  try {
    // The default server takes 50 tenants; a run may ask for more.
    if (options.tenants) {
      await platform.database.db
        .updateTable('database_servers')
        .set({ capacity: sql`greatest(capacity, ${options.tenants + 10})` })
        .execute();
    }
    await platform.database.db
      .updateTable('plans')
      .set({ limits: sql`jsonb_set(limits, '{maxTenantsPerAccount}', 'null')` })
      .where('code', '=', plan)
      .execute();
    const email = `bench-${Date.now().toString(36)}@example.com`;
    await json(base, 'POST', '/api/v1/auth/register', { email, password: PASSWORD, name: 'Bench', organization: 'Bench Ltd' });
    const templateStart = performance.now();
    for (;;) {
      // Read from the database: customers do not see template builds.
      const build = await platform.database.db
        .selectFrom('template_builds')
        .select(['status', 'error'])
        .where('template_code', '=', 'blank')
        .executeTakeFirst();
      if (build?.status === 'ready') break;
      if (build?.status === 'failed') throw new Error(`template build failed: ${build.error}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const templateSeconds = (performance.now() - templateStart) / 1000;
    // Measure in the steady state: the pre-made spare copies of the template exist.
    while (
      (await platform.database.db.selectFrom('spare_databases').select('id').where('status', '=', 'ready').execute()).length <
      config.spareDatabases
    ) {
      await new Promise((r) => setTimeout(r, 200));
    }
    // Logged in once the platform is ready (a template build with a real Odoo on a busy machine
    // can outlast a token). Access tokens last 15 minutes; a long run logs in again (until it stops: a login after
    // the platform stopped would fail, unhandled, and end the process with an error).
    const relogin = setInterval(() => {
      json<{ accessToken: string }>(base, 'POST', '/api/v1/auth/login', { email, password: PASSWORD })
        .then((answer) => {
          if (answer.body?.accessToken) bench.token = answer.body.accessToken;
        })
        .catch((error: unknown) => console.log(`re-login failed: ${(error as Error).message}`));
    }, 10 * 60_000);
    relogin.unref();
    const token = (await json<{ accessToken: string }>(base, 'POST', '/api/v1/auth/login', { email, password: PASSWORD })).body.accessToken;
    const bench = {
      platform,
      config,
      base,
      port,
      token,
      plan,
      templateSeconds,
      stop: () => {
        clearInterval(relogin);
        return stop();
      },
    };
    return bench;
  } catch (error) {
    await stop();
    throw error;
  }
}

let counter = 0;

/**
 * Asks for a tenant and waits until its admin logs in through the gateway; resolves with the
 * tenant's name, the time that took, and the session cookie of that login.
 */
export async function provisionTenant(
  bench: BenchPlatform,
  prefix = 'bench',
  options: { retryBadGateway?: boolean } = {},
): Promise<{ name: string; ms: number; cookie: string; badGateways: number }> {
  let badGateways = 0;
  const { base, port, token, plan } = bench;
  counter += 1;
  const name = `${prefix}${counter}${Date.now().toString(36)}`;
  const started = performance.now();
  const created = await json(
    base,
    'POST',
    '/api/v1/tenants',
    { name, plan, template: 'blank', adminEmail: `admin@${name}.example.com`, adminPassword: ADMIN_PASSWORD },
    token,
  );
  if (created.status !== 202) throw new Error(`create ${name}: ${created.status} ${JSON.stringify(created.body)}`);
  // Poll the gateway itself: the tenant counts as ready when its admin can log in there.
  for (;;) {
    const login = await hostRequest(port, `${name}.lvh.me:${port}`, 'POST', '/web/session/authenticate', {
      jsonrpc: '2.0',
      method: 'call',
      params: { db: `t_${name}`, login: `admin@${name}.example.com`, password: ADMIN_PASSWORD },
    });
    if (login.status === 200 && login.json<{ result?: { uid?: number } }>().result?.uid) {
      const cookie = ([login.headers['set-cookie']].flat()[0] ?? '').split(';')[0] ?? '';
      return { name, ms: performance.now() - started, cookie, badGateways };
    }
    // 502: the pool was restarting (its supervisor kills an Odoo that fails health checks).
    if (login.status === 502 && options.retryBadGateway) {
      badGateways += 1;
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    // 404 until this replica's route table has heard of the tenant (NOTIFY, a few ms), 503 while it is prepared.
    if (![200, 404, 503].includes(login.status)) throw new Error(`login ${name}: HTTP ${login.status} ${login.text.slice(0, 200)}`);
    const state = await json<{ state: string; stateReason: string | null }>(base, 'GET', `/api/v1/tenants/${name}`, undefined, token);
    if (state.body.state === 'error') throw new Error(`${name} failed: ${state.body.stateReason}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
