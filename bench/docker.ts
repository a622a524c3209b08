/**
 * Docker runtime benchmark: the whole platform with DOCKER_RUNTIME on, a dedicated plan placed on
 * the docker runtime, the fake Odoo image on the suite's engine (scripts/lib.sh ensure_docker
 * starts the engine and builds the image). For each tenant it measures the time from the create
 * request to a successful admin login through the gateway (the tenant's Odoo in its own
 * container), one after another and then several at a time, and prints p50/p95 and the load
 * average. Not part of the test suite.
 *
 *   bash -c 'source scripts/lib.sh; ensure_node; ensure_docker'   # once: engine and image
 *   .tools/node/node_modules/node/bin/node --import tsx bench/docker.ts
 *
 * Environment: BENCH_SEQUENTIAL (10), BENCH_PARALLEL (8), BENCH_CONCURRENCY (4), LOG_LEVEL (warn),
 * BENCH_PROCESS_STRATEGY (`dedicated`, a container per tenant; `pool`: tenants join a pool's
 * web + cron containers).
 */
import { randomBytes } from 'node:crypto';
import { findTestDocker, removeInstance, startContainerReachablePostgres } from '../test/helpers/docker.js';
import { loadAverage, percentile, provisionTenant, startBenchPlatform } from './lib.js';

const sequential = Number(process.env.BENCH_SEQUENTIAL ?? 10);
const parallel = Number(process.env.BENCH_PARALLEL ?? 8);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 4);
const processStrategy = process.env.BENCH_PROCESS_STRATEGY === 'pool' ? 'pool' : 'dedicated';
const PLAN = 'docker-bench';
const HEALTH_CHECK = 'node -e "fetch(\'http://127.0.0.1:8069/web/health\').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"';

async function main(): Promise<void> {
  const found = await findTestDocker();
  if (!found.ok) throw new Error(`no Docker engine for the benchmark: ${found.reason}`);
  const { docker, socketPath, image } = found.value;
  const version = await docker.version();
  console.log(
    `Docker ${version.Version} at ${socketPath}; image ${image} (fake Odoo); ${processStrategy} tenants; ${sequential} sequential + ${parallel} at ${concurrency} concurrent; load average ${loadAverage()}`,
  );
  process.env.DOCKER_HOST = `unix://${socketPath}`;
  const instance = `bench-${randomBytes(3).toString('hex')}`;
  const postgres = await startContainerReachablePostgres();
  const bench = await startBenchPlatform(
    PLAN,
    {
      TENANT_DATABASE_URL: postgres.connection.url,
      DOCKER_RUNTIME: 'true',
      DOCKER_ODOO_IMAGE: `${image}-{series}`,
      DOCKER_INSTANCE: instance,
      DOCKER_HEALTH_CHECK: HEALTH_CHECK,
    },
    { tenants: sequential + parallel },
  );
  try {
    await bench.platform.database.db
      .insertInto('plans')
      .values({
        code: PLAN,
        name: 'Docker bench',
        description: processStrategy === 'pool' ? 'Odoo pools in containers' : 'Dedicated Odoo in a container',
        limits: JSON.stringify({ cpu: 1, memoryMiB: 512, storageGiB: 5, odooUsers: 10, maxTenantsPerAccount: null }),
        placement: JSON.stringify({
          databaseStrategy: 'shared',
          processStrategy,
          replicas: 1,
          limitPolicy: 'block',
          runtime: 'docker',
        }),
        prices: JSON.stringify([]),
        trial_days: 0,
        sort_order: 99,
      })
      .execute();
    console.log(`blank template built in ${bench.templateSeconds.toFixed(1)} s`);
    const report = (label: string, times: number[], wallMs: number) => {
      const sorted = [...times].sort((a, b) => a - b);
      console.log(
        `${label}: n=${times.length}  p50 ${(percentile(sorted, 50) / 1000).toFixed(2)} s  p95 ${(percentile(sorted, 95) / 1000).toFixed(2)} s  ` +
          `max ${((sorted.at(-1) ?? 0) / 1000).toFixed(2)} s  ${(times.length / (wallMs / 60_000)).toFixed(1)} tenants/min  (load average ${loadAverage()})`,
      );
    };
    const one = async () => (await provisionTenant(bench, 'dock', { retryBadGateway: true })).ms;
    const sequentialTimes: number[] = [];
    const sequentialStart = performance.now();
    for (let i = 0; i < sequential; i++) sequentialTimes.push(await one());
    report('create -> admin login, one after another', sequentialTimes, performance.now() - sequentialStart);
    const parallelTimes: number[] = [];
    const parallelStart = performance.now();
    let remaining = parallel;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (remaining > 0) {
          remaining -= 1;
          parallelTimes.push(await one());
        }
      }),
    );
    report(`create -> admin login, ${concurrency} at a time`, parallelTimes, performance.now() - parallelStart);
    const containers = await docker.listContainers({ filters: { label: [`io.odoo-saas.instance=${instance}`] } });
    console.log(`${containers.length} Odoo containers running (${processStrategy})`);
  } finally {
    await bench.stop();
    await removeInstance(docker, instance);
    await postgres.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
