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
 * Environment: ODOO_BIN (default: the fake Odoo test double), BENCH_TENANTS (100),
 * BENCH_CONCURRENCY (4), LOG_LEVEL (warn).
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

interface Point {
  tenants: number;
  rss: number;
  pss: number;
  processes: number;
  connections: number;
  postgresPss: number;
}

async function measure(bench: BenchPlatform, tenants: number): Promise<Point> {
  const pools = bench.platform.runtimes.get('process').sharedWorkloads?.() ?? [];
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

async function main(): Promise<void> {
  console.log(
    `Odoo: ${usingFake ? 'the fake Odoo test double' : odooBin}; ${total} basic tenants, ${concurrency} at a time; load average ${loadAverage()}`,
  );
  const bench = await startBenchPlatform('basic', {}, { tenants: total });
  let failures = 0;
  try {
    console.log(`blank template built in ${bench.templateSeconds.toFixed(1)} s`);
    const points: Point[] = [];
    let done = 0;
    const started = performance.now();
    for (const target of checkpoints) {
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (done < target) {
            done += 1;
            try {
              const tenant = await provisionTenant(bench, 'dense');
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
      const marginal = previous
        ? ` | marginal ${((point.rss - previous.rss) / (point.tenants - previous.tenants) / MIB).toFixed(1)} MiB RSS / ` +
          `${((point.pss - previous.pss) / (point.tenants - previous.tenants) / MIB).toFixed(1)} MiB PSS per tenant`
        : '';
      console.log(
        `${String(point.tenants).padStart(4)} tenants: pool ${(point.rss / MIB).toFixed(0)} MiB RSS / ${(point.pss / MIB).toFixed(0)} MiB PSS ` +
          `in ${point.processes} processes = ${(point.pss / point.tenants / MIB).toFixed(1)} MiB PSS per tenant${marginal} | ` +
          `PostgreSQL: ${point.connections} pool connections, ${(point.postgresPss / MIB).toFixed(0)} MiB PSS | ` +
          `${((performance.now() - started) / 1000).toFixed(0)} s, load ${loadAverage()}`,
      );
    }
    const last = points.at(-1);
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
