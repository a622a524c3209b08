import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { TenantEventView, TenantView } from '../tenants/index.js';
import type { ApiClient } from './client.js';
import { followEvents } from './events.js';
import { readPassword } from './prompt.js';

interface Io {
  client(): ApiClient;
  url(): string;
  token(): string | undefined;
  printJson(value: unknown): void;
  printTable(rows: Record<string, string | number>[]): void;
}

const SETTLED = new Set(['running', 'stopped', 'suspended', 'scheduled_for_deletion', 'terminated', 'deleted', 'error']);

/** Follows a tenant's events with a progress bar until it settles; resolves with its final state. */
async function watch(io: Io, name: string, options: { quiet?: boolean; timeoutSeconds: number }): Promise<TenantView> {
  // Loaded here, not at the top: the tenants module is heavy and every other command would wait for it.
  const { PROVISIONING_STEPS } = await import('../tenants/index.js');
  const bar =
    options.quiet || !process.stderr.isTTY
      ? undefined
      : new SingleBar({ format: ' {bar} {percentage}% | {state} {step}', stream: process.stderr, hideCursor: true });
  bar?.start(PROVISIONING_STEPS.length + 1, 0, { state: 'provisioning', step: '' });
  let last: TenantView | undefined;
  let done = 0;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutSeconds * 1000);
  try {
    await followEvents(
      `${io.url()}/api/v1/tenants/${encodeURIComponent(name)}/events`,
      io.token(),
      (event, data) => {
        if (event === 'event') {
          const e = data as TenantEventView;
          if (e.type === 'step' && e.step) done = Math.max(done, PROVISIONING_STEPS.indexOf(e.step) + 1);
          if (!bar && !options.quiet) process.stderr.write(`  ${e.type === 'step' ? `step ${e.step}` : e.type}: ${e.message ?? ''}\n`);
          bar?.update(done, { step: e.step ?? '', state: e.toState ?? last?.state ?? '' });
        } else if (event === 'tenant') {
          last = data as TenantView;
          bar?.update(last.state === 'running' ? PROVISIONING_STEPS.length + 1 : done, { state: last.state });
          return SETTLED.has(last.state);
        }
        return false;
      },
      { signal: controller.signal },
    );
  } catch (error) {
    if (!controller.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    bar?.stop();
  }
  return last ?? (await io.client().get<TenantView>(`/tenants/${encodeURIComponent(name)}`));
}

function row(t: TenantView): Record<string, string | number> {
  return {
    name: t.name,
    state: t.state,
    plan: t.plan,
    template: t.template,
    url: t.url,
    created: t.createdAt.slice(0, 19).replace('T', ' '),
  };
}

const ACTIONS: Array<[string, string]> = [
  ['start', 'Start a stopped tenant'],
  ['stop', 'Stop a running tenant (data kept)'],
  ['restart', "Restart a tenant's Odoo"],
  ['suspend', 'Suspend a tenant (operators)'],
  ['resume', 'Lift a suspension (operators)'],
  ['schedule-delete', 'Soft delete: terminated after 12 h unless cancelled'],
  ['cancel-delete', 'Cancel a scheduled deletion'],
  ['force-delete', 'Delete at once, with all data (operators)'],
  ['reactivate', 'Bring back a tenant terminated less than 30 days ago'],
  ['terminate', 'Terminate now, data kept 30 days (operators)'],
  ['retry', 'Retry the failed operation of a tenant in error'],
];

export function registerTenantCommands(program: Command, io: Io): void {
  const tenant = program.command('tenant').description('Create and manage tenants (customer Odoo instances)');

  tenant
    .command('create <name>')
    .description('Create a tenant and follow its provisioning with a progress bar')
    .requiredOption('--plan <code>', 'plan code (saasctl plans list)')
    .option('--template <code>', 'template to clone', 'blank')
    .requiredOption('--admin-email <email>', 'login of the Odoo admin')
    .option('--admin-password-stdin', 'read the Odoo admin password from standard input instead of asking')
    .option('--account <id>', 'operators: the account the tenant belongs to')
    .option('--no-wait', 'return at once instead of following the provisioning')
    .option('--timeout <seconds>', 'give up waiting after this long', '600')
    .option('--json', 'machine-readable output')
    .action(
      async (
        name: string,
        options: {
          plan: string;
          template: string;
          adminEmail: string;
          adminPasswordStdin?: boolean;
          account?: string;
          wait: boolean;
          timeout: string;
          json?: boolean;
        },
      ) => {
        const adminPassword = await readPassword({ passwordStdin: options.adminPasswordStdin }, 'Odoo admin password: ');
        const created = await io.client().post<{ tenant: TenantView; jobId: string }>('/tenants', {
          name,
          plan: options.plan,
          template: options.template,
          adminEmail: options.adminEmail,
          adminPassword,
          ...(options.account ? { accountId: options.account } : {}),
        });
        if (!options.wait) {
          if (options.json) io.printJson(created);
          else process.stdout.write(`Tenant ${name} is being provisioned (job ${created.jobId}).\n`);
          return;
        }
        const final = await watch(io, name, { quiet: options.json, timeoutSeconds: Number(options.timeout) });
        if (options.json) io.printJson(final);
        else if (final.state === 'running')
          process.stdout.write(`Tenant ${name} is running at ${final.url} (admin login ${final.adminLogin}).\n`);
        else process.stdout.write(`Tenant ${name} is ${final.state}${final.stateReason ? `: ${final.stateReason}` : ''}.\n`);
        if (final.state !== 'running') process.exitCode = 1;
      },
    );

  tenant
    .command('list')
    .description('List tenants')
    .option('--state <state>', 'only tenants in this state')
    .option('--plan <code>', 'only tenants on this plan')
    .option('--json', 'machine-readable output')
    .action(async (options: { state?: string; plan?: string; json?: boolean }) => {
      const query = new URLSearchParams({
        limit: '500',
        ...(options.state ? { state: options.state } : {}),
        ...(options.plan ? { plan: options.plan } : {}),
      });
      const list = await io.client().get<TenantView[]>(`/tenants?${query}`);
      if (options.json) return io.printJson(list);
      if (list.length === 0) return void process.stdout.write('No tenants.\n');
      io.printTable(list.map(row));
    });

  tenant
    .command('show <name>')
    .description('Show one tenant')
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: { json?: boolean }) => {
      const t = await io.client().get<TenantView>(`/tenants/${encodeURIComponent(name)}`);
      if (options.json) return io.printJson(t);
      for (const [key, value] of Object.entries(t))
        process.stdout.write(`${key.padEnd(18)} ${Array.isArray(value) ? value.join(', ') : String(value ?? '')}\n`);
    });

  tenant
    .command('logs <name>')
    .description("Show or search the last records of a tenant's Odoo log")
    .option('--lines <n>', 'how many records (a traceback is part of its record)', '200')
    .option('--grep <text>', 'only records containing this text (case-insensitive)')
    .option('--level <level>', 'only records at this level or above (DEBUG, INFO, WARNING, ERROR, CRITICAL)')
    .option('--since <time>', 'only records from this time on (ISO 8601, e.g. 2026-12-07T10:00:00Z)')
    .option('--until <time>', 'only records up to this time (ISO 8601)')
    .action(async (name: string, options: { lines: string; grep?: string; level?: string; since?: string; until?: string }) => {
      const query = new URLSearchParams({ lines: String(Number(options.lines)) });
      if (options.grep) query.set('q', options.grep);
      if (options.level) query.set('level', options.level.toUpperCase());
      if (options.since) query.set('since', options.since);
      if (options.until) query.set('until', options.until);
      const result = await io.client().get<{ lines: string[] }>(`/tenants/${encodeURIComponent(name)}/logs?${query}`);
      for (const line of result.lines) process.stdout.write(`${line}\n`);
    });

  for (const [segment, description] of ACTIONS) {
    tenant
      .command(`${segment} <name>`)
      .description(description)
      .option('--reason <text>', 'recorded in the tenant timeline and the audit log')
      .option('--no-wait', 'return at once instead of following the operation')
      .option('--json', 'machine-readable output')
      .action(async (name: string, options: { reason?: string; wait: boolean; json?: boolean }) => {
        const result = await io
          .client()
          .post<{ tenant: TenantView }>(
            `/tenants/${encodeURIComponent(name)}/${segment}`,
            options.reason ? { reason: options.reason } : undefined,
          );
        const final =
          options.wait && !SETTLED.has(result.tenant.state)
            ? await watch(io, name, { quiet: options.json, timeoutSeconds: 600 })
            : result.tenant;
        if (options.json) io.printJson(final);
        else process.stdout.write(`Tenant ${name} is ${final.state}.\n`);
      });
  }

  tenant
    .command('duplicate <name> <copyName>')
    .description('Make a neutralised staging copy of a tenant')
    .option('--admin-password-stdin', 'read the admin password of the copy from standard input')
    .option('--json', 'machine-readable output')
    .action(async (name: string, copyName: string, options: { adminPasswordStdin?: boolean; json?: boolean }) => {
      const adminPassword = await readPassword({ passwordStdin: options.adminPasswordStdin }, 'Admin password of the copy: ');
      await io.client().post(`/tenants/${encodeURIComponent(name)}/duplicate`, { name: copyName, adminPassword });
      const final = await watch(io, copyName, { quiet: options.json, timeoutSeconds: 600 });
      if (options.json) io.printJson(final);
      else process.stdout.write(`Staging copy ${copyName} is ${final.state}${final.state === 'running' ? ` at ${final.url}` : ''}.\n`);
    });

  const templates = program.command('templates').description('Templates new tenants are cloned from');
  templates
    .command('list')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      // Operators get modules and builds; customers only whether each template is available.
      const list = await io.client().get<
        Array<{
          code: string;
          name: string;
          available: boolean;
          modules?: string[];
          builds?: Array<{ status: string; odooVersion: string | null }>;
        }>
      >('/templates');
      if (options.json) return io.printJson(list);
      io.printTable(
        list.map((t) => ({
          code: t.code,
          name: t.name,
          available: t.available ? 'yes' : 'no',
          ...(t.modules && t.builds
            ? {
                modules: t.modules.length,
                builds: t.builds.map((b) => `${b.status}${b.odooVersion ? ` (${b.odooVersion})` : ''}`).join(', ') || 'never built',
              }
            : {}),
        })),
      );
    });
  templates
    .command('build <code>')
    .description('(Re)build a template on every shared database server (or --server) and wait for it')
    .option('--server <id>', 'only on this database server')
    .option('--no-wait', 'return at once')
    .option('--json', 'machine-readable output')
    .action(async (code: string, options: { server?: string; wait: boolean; json?: boolean }) => {
      const builds = await io
        .client()
        .post<Array<{ serverId: string; status: string }>>(
          `/templates/${code}/build`,
          options.server ? { serverId: options.server } : undefined,
        );
      if (!options.wait) {
        if (options.json) io.printJson(builds);
        else process.stdout.write(`Building ${code} on ${builds.length} server(s).\n`);
        return;
      }
      const bar =
        process.stderr.isTTY && !options.json
          ? new SingleBar({ format: ` building ${code} {bar} {value}/{total} servers | {duration}s`, stream: process.stderr })
          : undefined;
      bar?.start(builds.length, 0);
      const deadline = Date.now() + 60 * 60_000;
      let current: Array<{ serverId: string; status: string; error: string | null }> = [];
      for (;;) {
        const template = await io
          .client()
          .get<{ builds: Array<{ serverId: string; status: string; error: string | null }> }>(`/templates/${code}`);
        current = template.builds.filter((b) => builds.some((x) => x.serverId === b.serverId));
        const finished = current.filter((b) => b.status !== 'building').length;
        bar?.update(finished);
        if (finished === builds.length || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      bar?.stop();
      if (options.json) return io.printJson(current);
      for (const b of current) process.stdout.write(`${code} on ${b.serverId}: ${b.status}${b.error ? ` (${b.error})` : ''}\n`);
      if (current.some((b) => b.status !== 'ready')) process.exitCode = 1;
    });

  const servers = program.command('servers').description('PostgreSQL servers tenants are placed on');
  servers
    .command('list')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const list = await io.client().get<
        Array<{
          id: string;
          name: string;
          kind: string;
          host: string;
          port: number;
          tenantCount: number;
          capacity: number;
          status: string;
        }>
      >('/database-servers');
      if (options.json) return io.printJson(list);
      io.printTable(
        list.map((s) => ({
          id: s.id,
          name: s.name,
          kind: s.kind,
          address: `${s.host}:${s.port}`,
          tenants: `${s.tenantCount}/${s.capacity}`,
          status: s.status,
        })),
      );
    });
  servers
    .command('add <name>')
    .description('Register a PostgreSQL server by the URL of an admin role (read from standard input, so it stays out of shell history)')
    .option('--kind <kind>', 'shared or dedicated', 'shared')
    .option('--capacity <n>', 'tenants it may hold', '50')
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: { kind: string; capacity: string; json?: boolean }) => {
      const url = (
        await readPassword({ passwordStdin: !process.stdin.isTTY }, 'Admin URL (postgres://user:password@host:port/postgres): ')
      ).trim();
      const server = await io
        .client()
        .post<{ id: string; name: string }>('/database-servers', { name, url, kind: options.kind, capacity: Number(options.capacity) });
      if (options.json) return io.printJson(server);
      process.stdout.write(`Server ${server.name} registered (id ${server.id}).\n`);
    });
}
