/**
 * Usage sampler benchmark: the whole platform with BENCH_TENANTS (default 500) tenants on the fake
 * Odoo's blank template, one round of samples run as the durable jobs run them (every tenant due at
 * once: the round's work without its spreading), and the platform API's latency meanwhile.
 *
 * One tenant is provisioned for real; the others are copies of the template database with their
 * own tenant rows (the sampler reads the row, the database on its server and the filestore; it
 * needs no Odoo process), so the setup takes a minute instead of an hour of provisioning.
 *
 * Printed: the time of one full round run unspread (queueing + 500 samples), samples/s, what the
 * round added to the platform database (transactions, rows written, blocks read, from
 * pg_stat_database), GET /api/v1/plans p50/p95/p99 under a saturating load idle (before and after)
 * and during the whole round, the time of a Prometheus scrape (METRICS_ADDRESS) with every tenant,
 * and the job log records the jobs wrote. Then the next round as production paces it (spread over
 * 4.5 of its 5 minutes), with the API under a steady load (BENCH_RATE/s) idle and throughout it:
 * the p95 the aim compares.
 *
 *   .tools/node/node_modules/node/bin/node --import tsx bench/sample.ts
 *
 * Environment: BENCH_TENANTS (500), BENCH_SECONDS (API load per idle phase, default 15), BENCH_RATE
 * (requests/s of the steady API load during the paced round, default 200), LOG_LEVEL (warn).
 */
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import { withConnection } from '../src/postgres/index.js';
import { roundStart, SAMPLE_INTERVAL_SECONDS } from '../src/usage/index.js';
import { loadAverage, percentile, provisionTenant, startBenchPlatform } from './lib.js';

const total = Number(process.env.BENCH_TENANTS ?? 500);
const seconds = Number(process.env.BENCH_SECONDS ?? 15);
const rate = Number(process.env.BENCH_RATE ?? 200);

/**
 * GET /api/v1/plans from 10 connections: for BENCH_SECONDS, or, given `until`, for as long as that
 * work runs (so the busy phase covers the whole round, not its first seconds). As fast as the
 * platform answers, or at `overallRate` requests per second (a steady load, not a saturating one).
 */
async function apiLatency(base: string, until?: Promise<unknown>, overallRate?: number, durationSeconds = seconds) {
  const latencies: number[] = [];
  let errors = 0;
  const instance = autocannon({
    url: `${base}/api/v1/plans`,
    connections: 10,
    duration: until ? 3600 : durationSeconds,
    timeout: 30,
    ...(overallRate ? { overallRate } : {}),
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    latencies.push(responseTime);
    if (statusCode !== 200) errors += 1;
  });
  if (until) void until.finally(() => instance.stop());
  await Promise.all([instance, until]);
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
  };
}

const bench = await startBenchPlatform('basic', { SPARE_DATABASES: '0', METRICS_ADDRESS: '127.0.0.1:0' }, { tenants: total + 10 });
try {
  const { platform } = bench;
  const db = platform.database.db;
  // The test drives the round itself: the scheduled one is removed.
  await sql`DELETE FROM pgboss.schedule WHERE name = 'usage-round'`.execute(db);
  const first = await provisionTenant(bench, 'samp');
  const row = await db.selectFrom('tenants').selectAll().where('name', '=', first.name).executeTakeFirstOrThrow();
  const template = await db
    .selectFrom('template_builds')
    .select('database_name')
    .where('template_code', '=', 'blank')
    .where('status', '=', 'ready')
    .executeTakeFirstOrThrow();
  const adminUrl = platform.database.adminUrl ?? '';
  const setupStarted = performance.now();
  await withConnection(adminUrl, async (client) => {
    for (let i = 1; i < total; i++) {
      const name = `sb${i}x${Date.now().toString(36)}`;
      await client.query(`CREATE DATABASE "t_${name}" TEMPLATE "${template.database_name}"`);
      await db
        .insertInto('tenants')
        .values({
          ...row,
          id: randomUUID(),
          name,
          database_name: `t_${name}`,
          role_name: `r_${name}`,
          state_changed_at: new Date(),
          created_at: new Date(),
          updated_at: new Date(),
          spare_database: null,
        })
        .execute();
    }
  });
  const setupSeconds = (performance.now() - setupStarted) / 1000;

  /** Until the round `at` falls in has stored `queued` samples. */
  const waitForSlot = async (at: Date, queued: number) => {
    for (;;) {
      const done = await db
        .selectFrom('usage_samples')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('slot', '=', roundStart(at, SAMPLE_INTERVAL_SECONDS))
        .executeTakeFirst();
      if (Number(done?.n) >= queued) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const idle = await apiLatency(bench.base);
  const stats = async () =>
    (
      await sql<{ xact_commit: number; tup_inserted: number; tup_updated: number; blks_read: number; blks_hit: number }>`
        SELECT xact_commit, tup_inserted, tup_updated, blks_read, blks_hit FROM pg_stat_database WHERE datname = current_database()`.execute(
        db,
      )
    ).rows[0];
  const before = await stats();
  const now = new Date(roundStart(new Date(), SAMPLE_INTERVAL_SECONDS).getTime() + (SAMPLE_INTERVAL_SECONDS - 1) * 1000);
  const slot = roundStart(now, SAMPLE_INTERVAL_SECONDS);
  const started = performance.now();
  let queueMs = 0;
  let roundMs = 0;
  const round = (async () => {
    const queued = await platform.usage.round(now);
    queueMs = performance.now() - started;
    await waitForSlot(now, queued);
    roundMs = performance.now() - started;
  })();
  const busy = await apiLatency(bench.base, round);
  await round;
  const after = await stats();
  // Idle again: the machine's own drift (other work on shared cores) shows as the two idles' gap.
  const idleAfter = await apiLatency(bench.base);
  const diff = (key: keyof NonNullable<typeof before>) => Number(after?.[key] ?? 0) - Number(before?.[key] ?? 0);

  console.log(`usage sampler, ${total} tenants (fake Odoo, one shared server), load average ${loadAverage()}`);
  console.log(`  setup: ${total - 1} template copies and tenant rows in ${setupSeconds.toFixed(1)} s`);
  console.log(
    `  one round: queued in ${(queueMs / 1000).toFixed(2)} s, all ${total} samples stored in ${(roundMs / 1000).toFixed(1)} s (${(total / (roundMs / 1000)).toFixed(0)} samples/s: batches of 25, 2 per replica, 4 tenants at a time each)`,
  );
  console.log(
    `  platform database during the round (API load included): ${diff('xact_commit')} transactions, ${diff('tup_inserted')} rows inserted, ${diff('tup_updated')} updated, ${diff('blks_read')} blocks read, ${diff('blks_hit')} hit`,
  );
  console.log(`  GET /api/v1/plans, 10 connections, ${seconds} s idle before and after, and for the whole round:`);
  for (const [label, r] of [
    ['idle before', idle],
    ['during the round', busy],
    ['idle after', idleAfter],
  ] as const) {
    console.log(
      `    ${label.padEnd(17)} ${r.requests} requests, ${r.errors} errors, p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms`,
    );
  }
  const idleP95 = (idle.p95 + idleAfter.p95) / 2;
  console.log(
    `  API p95 during the round vs idle (mean of both idles): ${(((busy.p95 - idleP95) / idleP95) * 100).toFixed(1)} % (aim: within 10 %)`,
  );
  // A Prometheus scrape with every tenant (scrape-time reads: tenants, backups, domains, queues).
  const scrapeMs: number[] = [];
  let scraped = '';
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    scraped = await (await fetch(platform.metricsUrl ?? '')).text();
    scrapeMs.push(performance.now() - t0);
  }
  scrapeMs.sort((a, b) => a - b);
  const series = scraped.split('\n').filter((line) => line && !line.startsWith('#')).length;
  const jobLogRows = await sql<{ n: number }>`SELECT count(*)::int AS n FROM job_logs`.execute(db);
  console.log(
    `  GET /metrics (10 scrapes after the round): p50 ${scrapeMs[4]?.toFixed(0)} ms, max ${scrapeMs.at(-1)?.toFixed(0)} ms, ${series} series, ${(scraped.length / 1024).toFixed(0)} KiB`,
  );
  console.log(`  job log records written so far (setup and round): ${jobLogRows.rows[0]?.n}`);

  // The round as production runs it: the next slot's samples spread over 90 % of the interval by
  // each tenant's offset, the API under a steady load (BENCH_RATE requests/s) throughout the round,
  // then idle for as long. This is the figure the aim is about: the round above is its worst case.
  // Equal windows see the same periodic work (pg-boss maintenance, timers); a checkpoint first, so
  // the setup's 500 new databases are not flushed inside one of them.
  await withConnection(adminUrl, (client) => client.query('CHECKPOINT'));
  const pacedNow = new Date(slot.getTime() + SAMPLE_INTERVAL_SECONDS * 1000);
  const pacedStarted = performance.now();
  const paced = (async () => {
    await waitForSlot(pacedNow, await platform.usage.round(pacedNow));
  })();
  const pacedBusy = await apiLatency(bench.base, paced, rate);
  await paced;
  const pacedSeconds = (performance.now() - pacedStarted) / 1000;
  const pacedIdle = await apiLatency(bench.base, undefined, rate, Math.round(pacedSeconds));
  console.log(
    `  the round paced as in production: all ${total} samples stored in ${pacedSeconds.toFixed(0)} s; GET /api/v1/plans at ${rate}/s, 10 connections:`,
  );
  for (const [label, r] of [
    ['during the round', pacedBusy],
    ['idle as long after', pacedIdle],
  ] as const) {
    console.log(
      `    ${label.padEnd(17)} ${r.requests} requests, ${r.errors} errors, p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms`,
    );
  }
  console.log(
    `  API p95 during the paced round vs idle: ${(((pacedBusy.p95 - pacedIdle.p95) / pacedIdle.p95) * 100).toFixed(1)} % (aim: within 10 %)`,
  );
  console.log(`  load average at the end ${loadAverage()}`);
} finally {
  await bench.stop();
}
