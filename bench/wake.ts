/**
 * Wake benchmark: starts the whole platform (own DATA_DIR, managed PostgreSQL, job workers, gateway
 * on the API port), provisions one `standard` tenant (dedicated Odoo processes), then 20 times:
 * hibernates it (the sweep, with a clock past the plan's idle minutes) and times one request from
 * the moment it is sent to the last byte of its response; and the same request to the warm tenant
 * right after. Prints p50/p95/max of both and the wake's parts from the tenant's timeline. Not
 * part of the test suite.
 *
 * BENCH_MODE=database-server: a `premium` tenant instead (its own dedicated PostgreSQL server),
 * and each sweep a day ahead stops its Odoo *and* its server; the first request then starts the
 * server, then Odoo (the timeline's parts include the server's start).
 *
 *   .tools/node/node_modules/node/bin/node --import tsx bench/wake.ts            # fake Odoo
 *   BENCH_MODE=database-server .tools/node/node_modules/node/bin/node --import tsx bench/wake.ts
 *   ODOO_BIN=/opt/odoo-check/odoo-bin-16 .tools/node/node_modules/node/bin/node --import tsx bench/wake.ts
 *
 * Environment: ODOO_BIN (default: the fake Odoo test double), BENCH_MODE (`process` or
 * `database-server`), BENCH_WAKES (20), BENCH_PATH (`/web/login`: the login page, what a visitor
 * opens first), LOG_LEVEL (warn).
 */

import { hostRequest } from '../test/helpers/gateway-client.js';
import { loadAverage, odooBin, percentile, provisionTenant, startBenchPlatform, usingFake } from './lib.js';

const wakes = Number(process.env.BENCH_WAKES ?? 20);
const path = process.env.BENCH_PATH ?? '/web/login';
const databaseServerMode = process.env.BENCH_MODE === 'database-server';
/** Past the plan's idle minutes: standard's 30 (Odoo), or premium's 1440 (its database server too). */
const IDLE_MS = (databaseServerMode ? 1500 : 31) * 60_000;
const BROWSER = { accept: 'text/html,application/xhtml+xml' };

function summary(label: string, times: number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  const ms = (value: number) => `${Math.round(value)} ms`;
  return `${label}: n=${sorted.length}  p50 ${ms(percentile(sorted, 50))}  p95 ${ms(percentile(sorted, 95))}  max ${ms(sorted.at(-1) ?? 0)}`;
}

/** After a failed wake: the next requests until one is served (a wake failure's cool-down is 30 s). */
async function waitUntilServed(timed: () => Promise<{ status: number }>): Promise<void> {
  for (let attempt = 0; attempt < 120; attempt++) {
    if ((await timed()).status === 200) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error('the tenant was not served again within 2 minutes of a failed wake');
}

async function main(): Promise<void> {
  console.log(
    `Odoo: ${usingFake ? 'the fake Odoo test double' : odooBin}; ${wakes} wakes of GET ${path}` +
      `${databaseServerMode ? ' (Odoo and its dedicated PostgreSQL server hibernated)' : ''}; load average ${loadAverage()}`,
  );
  const bench = await startBenchPlatform(databaseServerMode ? 'premium' : 'standard');
  const { platform, port } = bench;
  try {
    const tenant = await provisionTenant(bench, 'wake');
    const host = `${tenant.name}.lvh.me:${port}`;
    const timed = async (): Promise<{ ms: number; status: number }> => {
      const started = performance.now();
      // hostRequest resolves once the whole body has been read.
      const answer = await hostRequest(port, host, 'GET', path, undefined, BROWSER);
      return { ms: performance.now() - started, status: answer.status };
    };
    // The first page views compile and cache what Odoo caches; neither series pays for that.
    for (let i = 0; i < 3; i++) await timed();

    const failures: string[] = [];
    const cold: number[] = [];
    const warm: number[] = [];
    for (let i = 0; i < wakes; i++) {
      const { hibernated, serversHibernated } = await platform.hibernation.sweep(new Date(Date.now() + IDLE_MS));
      if (hibernated !== 1) throw new Error(`wake ${i + 1}: the sweep hibernated ${hibernated} tenants, not 1`);
      if (databaseServerMode && serversHibernated !== 1)
        throw new Error(`wake ${i + 1}: the sweep hibernated ${serversHibernated} database servers, not 1`);
      const first = await timed();
      // A failed wake is reported, not hidden: the run goes on and the failures are counted.
      if (first.status !== 200) {
        failures.push(`wake ${i + 1}: HTTP ${first.status} after ${Math.round(first.ms)} ms`);
        await waitUntilServed(timed);
        continue;
      }
      cold.push(first.ms);
      const again = await timed();
      if (again.status !== 200) throw new Error(`warm request ${i + 1}: ${again.status}`);
      warm.push(again.ms);
    }
    console.log(summary('first request to a hibernated tenant (wake + response)', cold));
    console.log(summary('the same request to the warm tenant', warm));
    console.log(failures.length === 0 ? 'every wake answered 200' : `failed wakes (${failures.length}): ${failures.join('; ')}`);

    // The parts of each wake, as the tenant's timeline records them.
    const events = await platform.database.db
      .selectFrom('tenant_events')
      .select('message')
      .where(
        'tenant_id',
        '=',
        (await platform.database.db.selectFrom('tenants').select('id').where('name', '=', tenant.name).executeTakeFirstOrThrow()).id,
      )
      .where('message', 'like', 'Woken from hibernation%')
      .execute();
    const patterns = {
      total: /in (\d+) ms:/,
      queue: /waited (\d+) ms for a wake slot/,
      lock: /(\d+) ms for the tenant's lock/,
      pgsql: /(\d+) ms to start its PostgreSQL server/,
      spec: /(\d+) ms to load the serve spec/,
      odoo: /(\d+) ms for Odoo to start/,
    };
    const parts = Object.fromEntries(Object.keys(patterns).map((name) => [name, [] as number[]])) as Record<
      keyof typeof patterns,
      number[]
    >;
    for (const { message } of events) {
      for (const [name, pattern] of Object.entries(patterns) as Array<[keyof typeof patterns, RegExp]>) {
        const found = pattern.exec(message ?? '')?.[1];
        if (found !== undefined) parts[name].push(Number(found));
      }
    }
    if (!databaseServerMode) delete (parts as Partial<typeof parts>).pgsql;
    console.log('wake parts from the timeline (p50 / p95):');
    for (const [name, values] of Object.entries(parts)) {
      const sorted = values.sort((a, b) => a - b);
      console.log(`  ${name.padEnd(6)} ${percentile(sorted, 50)} ms / ${percentile(sorted, 95)} ms`);
    }
    console.log(`load average at the end: ${loadAverage()}`);
  } finally {
    await bench.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
