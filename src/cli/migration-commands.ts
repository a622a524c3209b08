import { MultiBar, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { MigrationPlanView, MigrationView } from '../migration/index.js';
import type { ApiClient } from './client.js';

interface Io {
  client(): ApiClient;
  printJson(value: unknown): void;
  printTable(rows: Record<string, string | number>[]): void;
}

interface Accepted {
  plan: MigrationPlanView;
  migration: MigrationView | null;
}

const seconds = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`);
const done = (m: MigrationView) => (m.state === 'succeeded' ? m.steps.length : m.step ? m.steps.indexOf(m.step) + 1 : 0);
const label = (m: MigrationView) => (m.state === 'running' ? (m.step ?? 'queued') : m.state);

/** Follows migrations (one bar each, counting their steps) until none is running. */
async function untilSettled(io: Io, ids: string[], names: string[], timeoutSeconds: number, quiet: boolean): Promise<MigrationView[]> {
  const tty = process.stderr.isTTY && !quiet;
  const format = ' {name} {bar} {value}/{total} | {step} {elapsed}s';
  const multi = tty && ids.length > 1 ? new MultiBar({ format, stream: process.stderr, hideCursor: true }) : undefined;
  const single = tty && ids.length === 1 ? new SingleBar({ format, stream: process.stderr, hideCursor: true }) : undefined;
  const bars = new Map<string, SingleBar>();
  const started = Date.now();
  try {
    for (;;) {
      const views = await Promise.all(ids.map((id) => io.client().get<MigrationView>(`/migrations/${encodeURIComponent(id)}`)));
      const elapsed = Math.round((Date.now() - started) / 1000);
      views.forEach((view, index) => {
        const payload = { name: names[index] ?? '', step: label(view), elapsed };
        let bar = bars.get(view.id);
        if (!bar && (multi || single)) {
          bar = multi ? multi.create(view.steps.length, done(view), payload) : single;
          if (single) single.start(view.steps.length, done(view), payload);
          if (bar) bars.set(view.id, bar);
        }
        bar?.update(done(view), payload);
      });
      if (views.every((view) => view.state !== 'running')) return views;
      if (elapsed > timeoutSeconds)
        throw new Error(`Migrations still running after ${timeoutSeconds} s; follow them with \`saasctl migrate list\`.`);
      // One GET a second per migration is all a bar needs; the steps are on the tenant's timeline too.
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    multi?.stop();
    single?.stop();
  }
}

function printPlan(plan: MigrationPlanView): void {
  process.stdout.write(
    `${plan.tenant}: estimated downtime ${seconds(plan.estimatedDowntimeMs)} (database ${(plan.databaseBytes / 1048576).toFixed(1)} MiB, filestore ${(plan.filestoreBytes / 1048576).toFixed(1)} MiB)\n`,
  );
  for (const action of plan.actions) process.stdout.write(`  - ${action}\n`);
}

/** Prints the outcome of migrations; a rolled back or failed one makes the exit code 1. */
function report(io: Io, accepted: Accepted[], finals: MigrationView[] | undefined, json: boolean | undefined): void {
  if (json) return void io.printJson(finals ?? accepted);
  if (!finals) {
    for (const { plan, migration } of accepted)
      process.stdout.write(migration ? `Migration ${migration.id} of ${plan.tenant} queued.\n` : `${plan.tenant}: done.\n`);
    return;
  }
  finals.forEach((final, index) => {
    const tenant = accepted[index]?.plan.tenant ?? final.tenantId;
    if (final.state === 'succeeded')
      process.stdout.write(
        `${tenant} moved (maintenance page for ${seconds(final.downtimeMs)}); the old database is kept until ${final.sourceDropAfter ?? '-'}.\n`,
      );
    else {
      process.stderr.write(
        `${tenant}: migration ${final.id} ${final.state.replace('_', ' ')}: ${final.failureReason ?? 'no reason given'}\n`,
      );
      process.exitCode = 1;
    }
  });
}

async function follow(io: Io, accepted: Accepted[], options: { dryRun?: boolean; wait: boolean; timeout: string; json?: boolean }) {
  if (options.dryRun) {
    if (options.json) return io.printJson(accepted.map((a) => a.plan));
    for (const { plan } of accepted) printPlan(plan);
    return;
  }
  const started = accepted.filter((a) => a.migration);
  const finals =
    options.wait && started.length > 0
      ? await untilSettled(
          io,
          started.map((a) => a.migration?.id ?? ''),
          started.map((a) => a.plan.tenant),
          Number(options.timeout),
          Boolean(options.json),
        )
      : undefined;
  report(io, finals ? started : accepted, finals, options.json);
}

const commonOptions = (command: Command) =>
  command
    .option('--dry-run', 'show what would happen and the estimated downtime; change nothing')
    .option('--no-wait', 'return as soon as the migration is queued')
    .option('--timeout <seconds>', 'give up waiting after this long', '7200')
    .option('--json', 'machine-readable output');

type FollowOptions = { dryRun?: boolean; wait: boolean; timeout: string; json?: boolean };

export function registerMigrationCommands(program: Command, io: Io): void {
  const migrate = program.command('migrate').description('Move tenants between database servers and process strategies (operators)');

  commonOptions(
    migrate
      .command('tenant <name>')
      .description(
        'Move a tenant to another database server and/or process strategy (verified backup, check, switch, admin login; rolled back on failure)',
      )
      .option('--to-server <id>', 'the target database server (saasctl servers list)')
      .option('--process <strategy>', 'pool or dedicated'),
  ).action(async (name: string, options: FollowOptions & { toServer?: string; process?: string }) => {
    if (!options.toServer && !options.process) throw new Error('Name the target: --to-server <id> and/or --process pool|dedicated.');
    const accepted = await io.client().post<Accepted>(`/tenants/${encodeURIComponent(name)}/migrate`, {
      ...(options.toServer ? { toServerId: options.toServer } : {}),
      ...(options.process ? { processStrategy: options.process } : {}),
      ...(options.dryRun ? { dryRun: true } : {}),
    });
    await follow(io, [accepted], options);
  });

  commonOptions(
    migrate.command('server <id>').description('Drain a database server: move every tenant on it to the shared servers with the most room'),
  ).action(async (id: string, options: FollowOptions) => {
    const accepted = await io
      .client()
      .post<Accepted[]>(`/database-servers/${encodeURIComponent(id)}/drain`, options.dryRun ? { dryRun: true } : {});
    if (accepted.length === 0) return void process.stdout.write('No tenant to move on this server.\n');
    await follow(io, accepted, options);
  });

  migrate
    .command('list')
    .description('Migrations, newest first')
    .option('--tenant <name>', 'only this tenant')
    .option('--json', 'machine-readable output')
    .action(async (options: { tenant?: string; json?: boolean }) => {
      const rows = await io
        .client()
        .get<MigrationView[]>(`/migrations${options.tenant ? `?tenant=${encodeURIComponent(options.tenant)}` : ''}`);
      if (options.json) return io.printJson(rows);
      if (rows.length === 0) return void process.stdout.write('No migrations.\n');
      io.printTable(
        rows.map((m) => ({
          id: m.id,
          tenant: m.tenantId,
          trigger: m.trigger,
          state: m.state,
          step: m.step ?? '-',
          to: `${m.to.serverId ?? m.to.databaseStrategy}/${m.to.processStrategy}/${m.to.plan}`,
          downtime: seconds(m.downtimeMs),
          started: m.startedAt,
        })),
      );
    });

  const tenant = program.commands.find((command) => command.name() === 'tenant');
  if (!tenant) throw new Error('the tenant commands are registered first');
  commonOptions(
    tenant
      .command('change-plan <name> <plan>')
      .description("Change a tenant's plan: limits at once; a different database or process strategy moves it (after a verified backup)"),
  ).action(async (name: string, plan: string, options: FollowOptions) => {
    const accepted = await io
      .client()
      .post<Accepted>(`/tenants/${encodeURIComponent(name)}/change-plan`, { plan, ...(options.dryRun ? { dryRun: true } : {}) });
    if (!accepted.migration && !options.dryRun) {
      if (options.json) return io.printJson(accepted);
      return void process.stdout.write(`${name} is on plan ${plan}; its new limits apply now.\n`);
    }
    await follow(io, [accepted], options);
  });
}
