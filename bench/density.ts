/**
 * Density benchmark: N basic (pool) tenants on one pool (default 100), each provisioned, logged in
 * through the gateway and its backend (`/web`) loaded once with that session. At 1, 10, 30 and N
 * tenants it prints the memory of every Odoo process of the pool (RSS and PSS from
 * /proc/<pid>/smaps_rollup, PSS sharing the pages forked workers have in common), per tenant and
 * the marginal cost since the previous point, beside the pool role's PostgreSQL connections and
 * the PostgreSQL server's memory. Any failed request is counted and printed. Not part of the
 * test suite.
 *
 *   .tools/node/node_modules/node/bin/node --import tsx bench/density.ts            # fake Odoo
 *   ODOO_BIN=/path/to/odoo-bin .tools/node/node_modules/node/bin/node --import tsx bench/density.ts
 *
 * Then every tenant comes back once (`/web` again with its session, in the order they were made,
 * so the least recently used comes first) and the pool is measured again: what a day of visits
 * costs once the workers bound what they keep (ODOO_POOL_REGISTRY_CACHE drops the least recently
 * used registries, ODOO_POOL_WORKER_RECYCLE_MIB replaces a worker past that resident size), with
 * the revisits' latency beside it, since a dropped registry is loaded again on the next visit.
 *
 * Last, sizing workers by load: a burst of BENCH_BURST (16) `/web` loads at once over as many
 * tenants (its latency, and the web workers at its end), then the pool left idle until its web
 * workers are back at their minimum (ODOO_POOL_WORKERS_MIN; at most BENCH_IDLE_WAIT_S, 600 s) and
 * measured again: the idle pool with scaling, to compare with a run at a fixed count
 * (ODOO_POOL_WORKERS alone). ODOO_POOL_SCALE_DOWN_AFTER_S shortens the wait. A last burst hits
 * the idle pool: the latency of growing again.
 *
 * Environment: ODOO_BIN (default: the fake Odoo test double), BENCH_TENANTS (100),
 * BENCH_CONCURRENCY (4), ODOO_POOL_REGISTRY_CACHE, ODOO_POOL_WORKER_RECYCLE_MIB, ODOO_POOL_WORKERS,
 * ODOO_POOL_WORKERS_MIN, ODOO_POOL_SCALE_DOWN_AFTER_S, BENCH_BURST, BENCH_IDLE_WAIT_S, LOG_LEVEL (warn).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withConnection } from '../src/postgres/index.js';
import { hostRequest } from '../test/helpers/gateway-client.js';
import { type BenchPlatform, loadAverage, memoryOf, odooBin, processTree, provisionTenant, startBenchPlatform, usingFake } from './lib.js';

const total = Number(process.env.BENCH_TENANTS ?? 100);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 4);
const checkpoints = [...new Set([1, 10, 30, total].filter((n) => n <= total))];
const MIB = 1024 * 1024;
/** The pool settings under test, passed to the platform as they are. */
const poolSettings = Object.fromEntries(
  [
    'ODOO_POOL_REGISTRY_CACHE',
    'ODOO_POOL_WORKER_RECYCLE_MIB',
    'ODOO_POOL_WORKERS',
    'ODOO_POOL_WORKERS_MIN',
    'ODOO_POOL_SCALE_DOWN_AFTER_S',
  ].flatMap((key) => (process.env[key] ? [[key, process.env[key]]] : [])),
);

interface Point {
  tenants: number;
  rss: number;
  pss: number;
  processes: number;
  connections: number;
  postgresPss: number;
}

async function measure(bench: BenchPlatform, tenants: number): Promise<Point> {
  const pools = (await bench.platform.runtimes.get('process').sharedWorkloads?.()) ?? [];
  const pids = pools.flatMap((pool) => pool.processes.flatMap((p) => (p.pid === undefined ? [] : processTree(p.pid))));
  const memory = pids.map(memoryOf).reduce((sum, m) => ({ rss: sum.rss + m.rss, pss: sum.pss + m.pss }), { rss: 0, pss: 0 });
  const adminUrl = bench.platform.database.adminUrl ?? '';
  const connections = await withConnection(adminUrl, async (client) => {
    const result = await client.query<{ count: number }>('SELECT count(*)::int AS count FROM pg_stat_activity WHERE usename = ANY($1)', [
      pools.map((pool) => pool.databaseRole),
    ]);
    return result.rows[0]?.count ?? 0;
  });
  // The managed cluster's postmaster pid is the first line of its postmaster.pid.
  const postmaster = Number(readFileSync(join(bench.config.dataDir, 'postgres', 'pgdata', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const postgresPss = processTree(postmaster)
    .map(memoryOf)
    .reduce((sum, m) => sum + m.pss, 0);
  return { tenants, rss: memory.rss, pss: memory.pss, processes: pids.length, connections, postgresPss };
}

function report(point: Point, label: string, previous?: Point): string {
  const marginal = previous
    ? ` | marginal ${((point.rss - previous.rss) / (point.tenants - previous.tenants) / MIB).toFixed(1)} MiB RSS / ` +
      `${((point.pss - previous.pss) / (point.tenants - previous.tenants) / MIB).toFixed(1)} MiB PSS per tenant`
    : '';
  return (
    `${label}: pool ${(point.rss / MIB).toFixed(0)} MiB RSS / ${(point.pss / MIB).toFixed(0)} MiB PSS ` +
    `in ${point.processes} processes = ${(point.pss / point.tenants / MIB).toFixed(1)} MiB PSS per tenant${marginal} | ` +
    `PostgreSQL: ${point.connections} pool connections, ${(point.postgresPss / MIB).toFixed(0)} MiB PSS`
  );
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Every tenant loads `/web` once more, oldest first; prints the latency and the pool after it. */
async function revisit(bench: BenchPlatform, tenants: { name: string; cookie: string }[]): Promise<number> {
  const queue = [...tenants];
  const timings: number[] = [];
  let failures = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let tenant = queue.shift(); tenant; tenant = queue.shift()) {
        const started = performance.now();
        const backend = await hostRequest(bench.port, `${tenant.name}.lvh.me:${bench.port}`, 'GET', '/web', undefined, {
          cookie: tenant.cookie,
        });
        timings.push(performance.now() - started);
        if (backend.status !== 200) {
          failures += 1;
          console.log(`failed: revisit of ${tenant.name}: HTTP ${backend.status}`);
        }
      }
    }),
  );
  timings.sort((a, b) => a - b);
  const point = await measure(bench, tenants.length);
  console.log(
    `${report(point, `after revisiting ${tenants.length}`)} | revisit /web p50 ${percentile(timings, 50).toFixed(0)} ms, ` +
      `p95 ${percentile(timings, 95).toFixed(0)} ms | load ${loadAverage()}`,
  );
  return failures;
}

/** The pool's web workers: Odoo's population when sized by load, else its HTTP worker processes. */
async function webWorkers(bench: BenchPlatform): Promise<{ now: number; min: number | undefined }> {
  const pools = (await bench.platform.runtimes.get('process').sharedWorkloads?.()) ?? [];
  const pool = pools[0];
  if (pool?.webWorkers) return { now: pool.webWorkers.alive, min: pool.webWorkers.min };
  const web = pool?.processes.find((p) => p.unit === 'web');
  // The master, its evented process and its workers.
  return { now: web ? web.processes - 2 : 0, min: undefined };
}

/** BENCH_BURST `/web` loads at once over the last tenants made: latency, and the web workers before and after. */
async function burst(bench: BenchPlatform, tenants: { name: string; cookie: string }[], label: string): Promise<number> {
  const size = Math.min(tenants.length, Number(process.env.BENCH_BURST ?? 16));
  let failures = 0;
  const before = await webWorkers(bench);
  const started = performance.now();
  const timings = await Promise.all(
    tenants.slice(-size).map(async (tenant) => {
      const start = performance.now();
      const backend = await hostRequest(bench.port, `${tenant.name}.lvh.me:${bench.port}`, 'GET', '/web', undefined, {
        cookie: tenant.cookie,
      });
      if (backend.status !== 200) {
        failures += 1;
        console.log(`failed: burst /web of ${tenant.name}: HTTP ${backend.status}`);
      }
      return performance.now() - start;
    }),
  );
  const wall = performance.now() - started;
  timings.sort((a, b) => a - b);
  const after = await webWorkers(bench);
  console.log(
    `${label}: ${size} /web at once: p50 ${percentile(timings, 50).toFixed(0)} ms, p95 ${percentile(timings, 95).toFixed(0)} ms, ` +
      `all done in ${wall.toFixed(0)} ms | web workers ${before.now} before, ${after.now} after | load ${loadAverage()}`,
  );
  return failures;
}

/** A burst, the pool left idle until its workers are at their minimum and measured, then a burst on the idle pool. */
async function burstThenIdle(bench: BenchPlatform, tenants: { name: string; cookie: string }[]): Promise<number> {
  let failures = await burst(bench, tenants, 'burst');
  const deadline = Date.now() + Number(process.env.BENCH_IDLE_WAIT_S ?? 600) * 1000;
  const idleStarted = Date.now();
  for (;;) {
    const workers = await webWorkers(bench);
    if (workers.min === undefined || workers.now <= workers.min || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const point = await measure(bench, tenants.length);
  const workers = await webWorkers(bench);
  console.log(
    `${report(point, `idle after ${((Date.now() - idleStarted) / 1000).toFixed(0)} s`)} | web workers ${workers.now} | load ${loadAverage()}`,
  );
  failures += await burst(bench, tenants, 'burst on the idle pool');
  return failures;
}

async function main(): Promise<void> {
  console.log(
    `Odoo: ${usingFake ? 'the fake Odoo test double' : odooBin}; ${total} basic tenants, ${concurrency} at a time; ` +
      `pool settings ${JSON.stringify(poolSettings)}; load average ${loadAverage()}`,
  );
  const bench = await startBenchPlatform('basic', poolSettings, { tenants: total });
  let failures = 0;
  try {
    console.log(`blank template built in ${bench.templateSeconds.toFixed(1)} s`);
    const points: Point[] = [];
    const made: { name: string; cookie: string }[] = [];
    let done = 0;
    const started = performance.now();
    for (const target of checkpoints) {
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (done < target) {
            done += 1;
            try {
              const tenant = await provisionTenant(bench, 'dense');
              made.push(tenant);
              const backend = await hostRequest(bench.port, `${tenant.name}.lvh.me:${bench.port}`, 'GET', '/web', undefined, {
                cookie: tenant.cookie,
              });
              if (backend.status !== 200) throw new Error(`/web of ${tenant.name}: HTTP ${backend.status}`);
            } catch (error) {
              failures += 1;
              console.log(`failed: ${(error as Error).message.slice(0, 300)}`);
            }
          }
        }),
      );
      const point = await measure(bench, target);
      const previous = points.at(-1);
      points.push(point);
      console.log(
        `${report(point, `${String(point.tenants).padStart(4)} tenants`, previous)} | ` +
          `${((performance.now() - started) / 1000).toFixed(0)} s, load ${loadAverage()}`,
      );
    }
    const last = points.at(-1);
    failures += await revisit(bench, made);
    failures += await burstThenIdle(bench, made);
    if (last) {
      const aim = 2 * 1024 * MIB;
      console.log(
        `${last.tenants} tenants in ${(last.pss / MIB).toFixed(0)} MiB PSS for the pool (aim <= 2048 MiB: ${last.pss <= aim ? 'met' : 'NOT met'}); failed requests: ${failures}`,
      );
    }
  } finally {
    await bench.stop();
  }
  if (failures > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
