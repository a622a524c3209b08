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
 *
 * In the same run, on the same server, it prints the floor of one provisioning (printFloor) and
 * the one-after-another p50/p95 as a ratio of it.
 */

import { applyTenantIdentity, hashOdooPassword } from '../src/odoo/index.js';
import { withConnection } from '../src/postgres/index.js';
import { hostRequest } from '../test/helpers/gateway-client.js';
import { ADMIN_PASSWORD, json, loadAverage, odooBin, percentile, provisionTenant, startBenchPlatform, usingFake } from './lib.js';

const sequential = Number(process.env.BENCH_SEQUENTIAL ?? 20);
const parallel = Number(process.env.BENCH_PARALLEL ?? 20);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 4);
const plan = process.env.BENCH_PLAN ?? 'basic';

async function main(): Promise<void> {
  console.log(
    `Odoo: ${usingFake ? 'the fake Odoo test double' : odooBin}; plan ${plan}; ${sequential} sequential + ${parallel} at ${concurrency} concurrent; load average ${loadAverage()}`,
  );
  const bench = await startBenchPlatform(plan, {}, { tenants: sequential + parallel });
  const { platform, base, token } = bench;
  try {
    console.log(`blank template built in ${bench.templateSeconds.toFixed(1)} s`);
    let badGateways = 0;
    const provisionOne = async (): Promise<number> => {
      const tenant = await provisionTenant(bench, 'bench', { retryBadGateway: true });
      badGateways += tenant.badGateways;
      return tenant.ms;
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
    // Right after, on the same server and load: the floor and the ratios.
    await printFloor(
      bench,
      [...sequentialTimes].sort((a, b) => a - b),
    );

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
    console.log(`load average at the end: ${loadAverage()}; logins retried after a 502 (pool restarting): ${badGateways}`);
  } finally {
    await bench.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

/**
 * The floor of one provisioning, measured here: what no provisioning can avoid. A raw
 * `CREATE DATABASE ... TEMPLATE` of the same template, one PBKDF2 hash at Odoo's rounds, the
 * identity SQL on that copy, and the first `/web/session/authenticate` on it through the pool
 * serving the tenants (the copy handed to the pool's role as provisioning does, so the pool
 * knows it; the first login loads its registry in a worker). Then p50/p95 as ratios of it.
 */
async function printFloor(bench: Awaited<ReturnType<typeof startBenchPlatform>>, sorted: number[]): Promise<void> {
  const { platform, port } = bench;
  const build = await platform.database.db
    .selectFrom('template_builds')
    .select(['database_name'])
    .where('template_code', '=', 'blank')
    .executeTakeFirstOrThrow();
  // The default shared server is the platform's own managed cluster here.
  const adminUrl = platform.database.adminUrl;
  if (!adminUrl) throw new Error('the bench runs on the managed cluster; it has no admin URL');
  const pool = (await platform.runtimes.get('process').sharedWorkloads?.())?.[0];
  if (!pool) {
    console.log('floor: no pool serves the tenants (plan is not a pool plan); skipped');
    return;
  }
  const name = `floor${Date.now().toString(36)}`;
  const database = `t_${name}`;
  const admin = (sqlText: string, dbName?: string) => {
    const url = new URL(adminUrl);
    if (dbName) url.pathname = `/${dbName}`;
    return withConnection(url.toString(), (client) => client.query(sqlText));
  };
  try {
    let started = performance.now();
    await admin(`CREATE DATABASE "${database}" TEMPLATE "${build.database_name}"`);
    const cloneMs = performance.now() - started;
    started = performance.now();
    const hash = await hashOdooPassword(ADMIN_PASSWORD);
    const hashMs = performance.now() - started;
    const url = new URL(adminUrl);
    url.pathname = `/${database}`;
    started = performance.now();
    await withConnection(url.toString(), (client) =>
      applyTenantIdentity(client, {
        baseUrl: `http://${name}.lvh.me:${port}`,
        companyName: name,
        adminLogin: `admin@${name}.example.com`,
        adminEmail: `admin@${name}.example.com`,
        adminPasswordHash: hash,
      }),
    );
    const identityMs = performance.now() - started;
    // Handed to the pool's role, as provisioning does (not timed: part of the clone step's hand-over).
    await admin(`REASSIGN OWNED BY saas_template_owner TO "${pool.databaseRole}"`, database);
    await admin(`ALTER DATABASE "${database}" OWNER TO "${pool.databaseRole}"`);
    const upstream = platform.runtimes.get('process').upstream(pool.tenants[0]?.tenantId ?? '');
    if (!upstream) throw new Error('the pool has no upstream');
    started = performance.now();
    const login = await hostRequest(upstream.port, `${name}.lvh.me:${port}`, 'POST', '/web/session/authenticate', {
      jsonrpc: '2.0',
      method: 'call',
      params: { db: database, login: `admin@${name}.example.com`, password: ADMIN_PASSWORD },
    });
    const loginMs = performance.now() - started;
    if (!login.json<{ result?: { uid?: number } }>().result?.uid) throw new Error(`floor login failed: ${login.text.slice(0, 300)}`);
    const floor = cloneMs + hashMs + identityMs + loginMs;
    const p50 = percentile(sorted, 50);
    const p95 = percentile(sorted, 95);
    console.log(
      `floor: clone ${cloneMs.toFixed(0)} ms + PBKDF2 ${hashMs.toFixed(0)} ms + identity SQL ${identityMs.toFixed(0)} ms + ` +
        `first authenticate ${loginMs.toFixed(0)} ms = ${floor.toFixed(0)} ms`,
    );
    console.log(`one after another vs the floor: p50 ${(p50 / floor).toFixed(2)}x, p95 ${(p95 / floor).toFixed(2)}x (aim: <= 1.3x, <= 2x)`);
  } finally {
    await admin(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => undefined);
  }
}
