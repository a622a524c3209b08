/**
 * Migration benchmark: starts the whole platform (managed PostgreSQL, job workers, gateway on the
 * API port) and a second local PostgreSQL server, provisions BENCH_TENANTS (20) small basic (pool)
 * tenants, then moves them to the second server one after another and back all at once (the
 * migration queue runs 2 per replica). For each tenant it prints the downtime the platform
 * recorded (request to answering again) and, for the one-after-another round, the downtime seen
 * from outside: how long the gateway answered the tenant's host with the maintenance page (503),
 * probed every 50 ms. Prints p50/p95 and the load average, and where the time went: each step
 * and its parts as the timeline records them (`load.fetch` is the archive's copy from storage to
 * the scratch file, inside the downtime; `target.*` runs before the maintenance page), and the
 * downtime no step accounts for. Not part of the test suite.
 *
 *   .tools/node/node_modules/node/bin/node --import tsx bench/migrate.ts
 *
 * Environment: ODOO_BIN (default: the fake Odoo test double), BENCH_TENANTS (20), LOG_LEVEL (warn).
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../src/logging/index.js';
import { MIGRATION_STEP_NAMES } from '../src/migration/index.js';
import { LocalPostgresServer } from '../src/postgres/index.js';
import { hostRequest } from '../test/helpers/gateway-client.js';
import { BENCH_USER_PASSWORD, json, loadAverage, odooBin, percentile, provisionTenant, startBenchPlatform, usingFake } from './lib.js';

const count = Number(process.env.BENCH_TENANTS ?? 20);

const summary = (label: string, times: number[]) => {
  const sorted = [...times].sort((a, b) => a - b);
  return `${label}: n=${times.length}  p50 ${(percentile(sorted, 50) / 1000).toFixed(2)} s  p95 ${(percentile(sorted, 95) / 1000).toFixed(2)} s  max ${((sorted.at(-1) ?? 0) / 1000).toFixed(2)} s`;
};

async function main(): Promise<void> {
  console.log(`Odoo: ${usingFake ? 'the fake Odoo test double' : odooBin}; ${count} basic tenants; load average ${loadAverage()}`);
  const secondDir = mkdtempSync(join(tmpdir(), 'saas-bench-pg2-'));
  chmodSync(secondDir, 0o755);
  const second = new LocalPostgresServer({ directory: secondDir, logger: createLogger('warn') });
  const secondUrl = (await second.start()).url;
  const bench = await startBenchPlatform('basic', {}, { tenants: count });
  const { platform, port } = bench;
  try {
    const defaultId = (
      await platform.database.db.selectFrom('database_servers').select('id').where('is_default', '=', true).executeTakeFirstOrThrow()
    ).id;
    // Registered the way an operator does (the URL checked, stored encrypted).
    const target = await json<{ id: string }>(
      bench.base,
      'POST',
      '/api/v1/database-servers',
      { name: 'second', url: secondUrl, kind: 'shared', capacity: count + 10 },
      await operatorToken(bench),
    );
    if (target.status !== 201) throw new Error(`adding the second server: ${target.status} ${JSON.stringify(target.body)}`);
    const names: string[] = [];
    for (let i = 0; i < count; i++) names.push((await provisionTenant(bench, 'mig')).name);
    console.log(`${count} tenants provisioned; load average ${loadAverage()}`);

    const rowOf = async (name: string) =>
      platform.database.db
        .selectFrom('tenants')
        .selectAll()
        .where('name', '=', name)
        .where('state', '<>', 'deleted')
        .executeTakeFirstOrThrow();
    const settled = async (id: string) => {
      for (;;) {
        const row = await platform.migrations.list().then((rows) => rows.find((r) => r.id === id));
        if (row && row.state !== 'running') return row;
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    // One after another, each probed from outside through the gateway.
    const roundStart = new Date();
    const recorded: number[] = [];
    const observed: number[] = [];
    const settledRows: Array<{ tenant_id: string; downtime_ms: number | null }> = [];
    for (const name of names) {
      let maintenanceFrom: number | undefined;
      let maintenanceTo: number | undefined;
      let probing = true;
      const probe = (async () => {
        while (probing) {
          const answer = await hostRequest(port, `${name}.lvh.me:${port}`, 'GET', '/web/login').catch(() => undefined);
          const now = performance.now();
          if (answer?.status === 503) {
            maintenanceFrom ??= now;
            maintenanceTo = now;
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const { migration } = await platform.migrations.migrateTenant(await rowOf(name), { toServerId: target.body.id }, null);
      if (!migration) throw new Error('no migration started');
      const done = await settled(migration.id);
      probing = false;
      await probe;
      if (done.state !== 'succeeded') throw new Error(`${name}: ${done.state} ${done.failure_reason}`);
      recorded.push(done.downtime_ms ?? 0);
      settledRows.push(done);
      observed.push(maintenanceFrom !== undefined && maintenanceTo !== undefined ? maintenanceTo - maintenanceFrom + 50 : 0);
    }
    console.log(summary('one after another, recorded downtime', recorded));
    console.log(summary('one after another, maintenance page seen at the gateway (50 ms probe)', observed));
    console.log(await stepSummary(platform, roundStart, settledRows));
    console.log(`load average ${loadAverage()}`);

    // All back at once (the queue's concurrency decides how many move together).
    const started = performance.now();
    const secondRoundStart = new Date();
    const ids: string[] = [];
    for (const name of names) {
      const { migration } = await platform.migrations.migrateTenant(await rowOf(name), { toServerId: defaultId }, null);
      if (migration) ids.push(migration.id);
    }
    const finals = await Promise.all(ids.map(settled));
    const failed = finals.filter((m) => m.state !== 'succeeded');
    if (failed.length > 0) throw new Error(`${failed.length} migrations did not succeed: ${failed[0]?.failure_reason}`);
    console.log(
      summary(
        `all ${count} at once, recorded downtime`,
        finals.map((m) => m.downtime_ms ?? 0),
      ),
    );
    console.log(await stepSummary(platform, secondRoundStart, finals));
    console.log(`all ${count} moved back in ${((performance.now() - started) / 1000).toFixed(1)} s; load average ${loadAverage()}`);
  } finally {
    await bench.stop();
    await second.stop();
    rmSync(secondDir, { recursive: true, force: true });
  }
}

/**
 * Where the time goes: each step records "migration: <step> done in N ms (<part> N ms, ...)" on
 * the tenant's timeline; p50 and p95 of each step and part since `since`, in step order, and what
 * of each tenant's downtime no step accounts for (the journal's writes, finish, waits between steps).
 */
async function stepSummary(
  platform: Awaited<ReturnType<typeof startBenchPlatform>>['platform'],
  since: Date,
  migrations: Array<{ tenant_id: string; downtime_ms: number | null }>,
): Promise<string> {
  const events = await platform.database.db
    .selectFrom('tenant_events')
    .select(['tenant_id', 'message'])
    .where('message', 'like', 'migration: % done in % ms%')
    .where('at', '>=', since)
    .execute();
  const figures = new Map<string, number[]>();
  const add = (key: string, ms: number) => figures.set(key, [...(figures.get(key) ?? []), ms]);
  const inWindow = new Map<string, number>();
  for (const { tenant_id, message } of events) {
    const match = /^migration: (\S+) done in (\d+) ms(?: \((.*)\))?$/.exec(message ?? '');
    if (!match?.[1]) continue;
    const step = match[1];
    add(step, Number(match[2]));
    if (step !== 'target') inWindow.set(tenant_id, (inWindow.get(tenant_id) ?? 0) + Number(match[2]));
    for (const part of match[3]?.split(', ') ?? []) {
      const parsed = /^(\S+) (\d+) ms$/.exec(part);
      if (parsed?.[1]) add(`${step}.${parsed[1]}`, Number(parsed[2]));
    }
  }
  const order = (key: string) => MIGRATION_STEP_NAMES.indexOf(key.split('.')[0] ?? '');
  const lines = [...figures]
    .sort(([a], [b]) => order(a) - order(b))
    .map(([key, times]) => {
      const sorted = [...times].sort((a, b) => a - b);
      return `${key.includes('.') ? '    ' : '  '}${key} ${percentile(sorted, 50)}/${percentile(sorted, 95)} ms`;
    });
  const outside = migrations.map((m) => (m.downtime_ms ?? 0) - (inWindow.get(m.tenant_id) ?? 0)).sort((a, b) => a - b);
  lines.push(`  downtime outside the steps (journal writes, finish) ${percentile(outside, 50)}/${percentile(outside, 95)} ms`);
  return `step p50/p95 (target runs before the maintenance page, the others inside it):\n${lines.join('\n')}`;
}

/** The bench's customer made an operator (moving tenants is an operator's action), logged in again. */
async function operatorToken(bench: Awaited<ReturnType<typeof startBenchPlatform>>): Promise<string> {
  const me = await json<{ user: { id: string; email: string } }>(bench.base, 'GET', '/api/v1/me', undefined, bench.token);
  await bench.platform.database.db.updateTable('users').set({ role: 'operator' }).where('id', '=', me.body.user.id).execute();
  const login = await json<{ accessToken: string }>(bench.base, 'POST', '/api/v1/auth/login', {
    email: me.body.user.email,
    password: BENCH_USER_PASSWORD,
  });
  return login.body.accessToken;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
