/**
 * Provisioning benchmark: starts the whole platform (own DATA_DIR, managed PostgreSQL with
 * durable settings, job workers, gateway on the API port), builds the blank template, then
 * creates 20 basic (pool) tenants one after another and 20 more 4 at a time. For each tenant it
 * measures the time from the create request to a successful admin login *through the gateway*
 * (JSON-RPC /web/session/authenticate with the tenant's host name), and prints p50/p95, tenants
 * per minute, and the memory of the pool process per tenant served. Not part of the test suite.
 *
 *   .tools/node/node_modules/node/bin/node --import tsx bench/provision.ts            # fake Odoo
 *   ODOO_BIN=/path/to/odoo-bin .tools/node/node_modules/node/bin/node --import tsx bench/provision.ts
 *
 * Environment: ODOO_BIN (default: the fake Odoo test double), BENCH_SEQUENTIAL (20),
 * BENCH_PARALLEL (20), BENCH_CONCURRENCY (4), BENCH_PLAN (basic), LOG_LEVEL (warn).
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { sql } from 'kysely';
import { loadConfig } from '../src/config/index.js';
import { startPlatform } from '../src/main.js';
import { freePort } from '../src/system/index.js';
import { hostRequest } from '../test/helpers/gateway-client.js';

const sequential = Number(process.env.BENCH_SEQUENTIAL ?? 20);
const parallel = Number(process.env.BENCH_PARALLEL ?? 20);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 4);
const plan = process.env.BENCH_PLAN ?? 'basic';
const odooBin = process.env.ODOO_BIN ?? resolve('test/fixtures/fake-odoo/odoo-bin');
const usingFake = !process.env.ODOO_BIN;
const adminPassword = 'Bench-Admin-Pass-1';
const password = 'Bench-Password-42';

if (usingFake) process.env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

async function json<T>(base: string, method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: T }> {
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

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'saas-bench-provision-'));
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
  });
  console.log(
    `Odoo: ${usingFake ? 'the fake Odoo test double' : odooBin}; plan ${plan}; ${sequential} sequential + ${parallel} at ${concurrency} concurrent`,
  );
  const platform = await startPlatform(config);
  const base = `http://127.0.0.1:${port}`;
  try {
    await platform.database.db
      .updateTable('plans')
      .set({ limits: sql`jsonb_set(limits, '{maxTenantsPerAccount}', 'null')` })
      .where('code', '=', plan)
      .execute();
    const email = `bench-${Date.now().toString(36)}@example.com`;
    await json(base, 'POST', '/api/v1/auth/register', { email, password, name: 'Bench', organization: 'Bench Ltd' });
    const token = (await json<{ accessToken: string }>(base, 'POST', '/api/v1/auth/login', { email, password })).body.accessToken;

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
    console.log(`blank template built in ${((performance.now() - templateStart) / 1000).toFixed(1)} s`);
    // Start measuring in the steady state: the pre-made spare copies of the template exist.
    while (
      (await platform.database.db.selectFrom('spare_databases').select('id').where('status', '=', 'ready').execute()).length <
      config.spareDatabases
    ) {
      await new Promise((r) => setTimeout(r, 200));
    }

    let counter = 0;
    const provisionOne = async (): Promise<number> => {
      counter += 1;
      const name = `bench${counter}${Date.now().toString(36)}`;
      const started = performance.now();
      const created = await json(
        base,
        'POST',
        '/api/v1/tenants',
        { name, plan, template: 'blank', adminEmail: `admin@${name}.example.com`, adminPassword },
        token,
      );
      if (created.status !== 202) throw new Error(`create ${name}: ${created.status} ${JSON.stringify(created.body)}`);
      // Poll the gateway itself: the tenant counts as ready when its admin can log in there.
      for (;;) {
        const login = await hostRequest(port, `${name}.lvh.me:${port}`, 'POST', '/web/session/authenticate', {
          jsonrpc: '2.0',
          method: 'call',
          params: { db: `t_${name}`, login: `admin@${name}.example.com`, password: adminPassword },
        });
        if (login.status === 200 && login.json<{ result?: { uid?: number } }>().result?.uid) return performance.now() - started;
        // 404 until this replica's route table has heard of the tenant (NOTIFY, a few ms), 503 while it is prepared.
        if (![200, 404, 503].includes(login.status)) throw new Error(`login ${name}: HTTP ${login.status} ${login.text.slice(0, 200)}`);
        const state = await json<{ state: string; stateReason: string | null }>(base, 'GET', `/api/v1/tenants/${name}`, undefined, token);
        if (state.body.state === 'error') throw new Error(`${name} failed: ${state.body.stateReason}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };

    const report = (label: string, times: number[], wallMs: number) => {
      const sorted = [...times].sort((a, b) => a - b);
      console.log(
        `${label}: n=${times.length}  p50 ${(percentile(sorted, 50) / 1000).toFixed(2)} s  p95 ${(percentile(sorted, 95) / 1000).toFixed(2)} s  ` +
          `max ${((sorted.at(-1) ?? 0) / 1000).toFixed(2)} s  ${(times.length / (wallMs / 60_000)).toFixed(1)} tenants/min`,
      );
    };

    const sequentialTimes: number[] = [];
    const sequentialStart = performance.now();
    for (let i = 0; i < sequential; i++) sequentialTimes.push(await provisionOne());
    report('one after another', sequentialTimes, performance.now() - sequentialStart);

    const parallelTimes: number[] = [];
    const parallelStart = performance.now();
    let remaining = parallel;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (remaining > 0) {
          remaining -= 1;
          parallelTimes.push(await provisionOne());
        }
      }),
    );
    report(`${concurrency} at a time`, parallelTimes, performance.now() - parallelStart);

    // Where the time goes: each provisioning step records "<step> done in N ms" on the timeline.
    const stepTimes = new Map<string, number[]>();
    const pickups: number[] = [];
    for (const tenant of (
      await json<Array<{ name: string; createdAt: string }>>(base, 'GET', '/api/v1/tenants?limit=500', undefined, token)
    ).body) {
      const events = await json<Array<{ type: string; step: string | null; message: string | null; at: string }>>(
        base,
        'GET',
        `/api/v1/tenants/${tenant.name}/events`,
        undefined,
        token,
      );
      // Job pick-up: from the tenant row's creation to the end of the first (few ms) step.
      const placement = events.body.find((e) => e.step === 'placement');
      if (placement) pickups.push(new Date(placement.at).getTime() - new Date(tenant.createdAt).getTime());
      for (const event of events.body) {
        const ms = /done in (\d+) ms/.exec(event.message ?? '')?.[1];
        if (event.type === 'step' && event.step && ms) stepTimes.set(event.step, [...(stepTimes.get(event.step) ?? []), Number(ms)]);
      }
    }
    console.log(
      `job pick-up (request to first step done): median ${percentile(
        [...pickups].sort((a, b) => a - b),
        50,
      )} ms`,
    );
    console.log(
      `step medians: ${[...stepTimes]
        .map(
          ([step, times]) =>
            `${step} ${percentile(
              [...times].sort((a, b) => a - b),
              50,
            )} ms`,
        )
        .join(', ')}`,
    );

    // Memory of the pool serving these tenants (web + cron processes, RSS with children).
    const tenants = await json<Array<{ id: string; processStrategy: string }>>(base, 'GET', '/api/v1/tenants?limit=500', undefined, token);
    const poolTenants = tenants.body.filter((t) => t.processStrategy === 'pool');
    const statuses = await Promise.all(poolTenants.map((t) => platform.runtimes.get('process').status(t.id)));
    const byWorkload = new Map<string, { memory: number; tenants: number }>();
    for (const status of statuses) {
      if (!status) continue;
      const entry = byWorkload.get(status.workload) ?? { memory: status.memoryBytes ?? 0, tenants: 0 };
      entry.tenants += 1;
      byWorkload.set(status.workload, entry);
    }
    for (const [workload, { memory, tenants: count }] of byWorkload) {
      console.log(
        `pool ${workload}: ${(memory / 1048576).toFixed(1)} MiB RSS for ${count} tenants = ${(memory / count / 1048576).toFixed(2)} MiB per tenant`,
      );
    }
  } finally {
    await platform.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
