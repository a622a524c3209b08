#!/usr/bin/env node
import { enableCompileCache } from 'node:module';
import { Command } from 'commander';
import { ConfigError } from '../errors/index.js';
import type { Plan } from '../plans/index.js';
import { registerBackupCommands } from './backup-commands.js';
import { registerBillingCommands } from './billing-commands.js';
import { ApiError, createApiClient } from './client.js';
import { credentialsPath, readCredentials } from './credentials.js';
import type { DoctorPool, DoctorSeries } from './doctor.js';
import { registerJobCommands } from './job-commands.js';
import { logIn } from './login.js';
import { registerMigrationCommands } from './migration-commands.js';
import { registerOdooCommands } from './odoo-commands.js';
import { defaultPlatformUrl } from './platform-url.js';
import { readPassword, readStdin } from './prompt.js';
import { registerTenantCommands } from './tenant-commands.js';

// Static imports stay light (test/unit/cli-imports.test.ts): --help and API commands start in a
// blink. What needs the platform's own modules loads them when it runs.
const local = () => import('./local-commands.js');
// V8 caches the compiled code of the modules loaded from here on (in the OS temp directory), so a
// later `serve` or command does not compile them again: a fifth less CPU at start-up.
enableCompileCache();

const program = new Command();
program
  .name('saasctl')
  .description('Operate the Odoo SaaS platform: serve it, check the machine, manage operators, plans and tenants.')
  .option(
    '--url <url>',
    'platform URL for API commands (default: SAASCTL_URL, or the one you logged in to, or the platform serving from DATA_DIR, or http://localhost:PORT)',
  )
  .showHelpAfterError();

function apiUrl(): string {
  const explicit = program.opts<{ url?: string }>().url;
  return explicit ?? process.env.SAASCTL_URL ?? readCredentials()?.url ?? defaultPlatformUrl();
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function printTable(rows: Record<string, string | number>[]): void {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0] as object);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${line(columns.map((c) => c.toUpperCase()))}\n`);
  for (const row of rows) process.stdout.write(`${line(columns.map((c) => String(row[c])))}\n`);
}

program
  .command('serve')
  .description('Serve the API, dashboard and gateway (PORT, default 8080); starts the embedded PostgreSQL when DATABASE_URL is unset')
  .action(async () => (await local()).serve());

program
  .command('doctor')
  .description('Show what is installed or missing (PostgreSQL, Odoo, Docker, Kubernetes, SMTP) and what each enables')
  .option('--json', 'machine-readable output')
  .action(async (options: { json?: boolean }) => {
    const { describePools, describeSeries, runDoctor } = await import('./doctor.js');
    const checks = runDoctor();
    // The engine is asked itself (runDoctor only sees whether a socket is named).
    const { dockerEngineCheck } = await import('./doctor-docker.js');
    const docker = checks.findIndex((check) => check.name === 'Docker engine');
    if (docker >= 0) checks[docker] = await dockerEngineCheck();
    // The cluster is asked too: reachability, the runtime's permissions, the pieces it relies on.
    const { kubernetesChecks } = await import('./doctor-kubernetes.js');
    const smtp = checks.findIndex((check) => check.name === 'SMTP');
    checks.splice(smtp >= 0 ? smtp : checks.length, 0, ...(await kubernetesChecks()));
    const credentials = readCredentials();
    // The pools and series live in the running platform: shown when this CLI is logged in to it as an operator.
    const client = credentials ? createApiClient({ url: apiUrl(), credentials }) : undefined;
    const pools = client
      ? await client.get<DoctorPool[]>('/pools').catch((error: unknown) => (error as Error).message)
      : 'log in as an operator (saasctl login) to see the Odoo pools of the running platform';
    const series = client ? await client.get<DoctorSeries[]>('/odoo/installations').catch(() => undefined) : undefined;
    if (options.json) return printJson({ checks, pools, ...(series ? { series } : {}) });
    const mark = { ok: '✔', missing: '✘', warning: '!' } as const;
    for (const check of checks) {
      process.stdout.write(`${mark[check.status]} ${check.name}: ${check.found}\n    enables: ${check.enables}\n`);
      if (check.fix) process.stdout.write(`    to fix: ${check.fix}\n`);
    }
    if (series) process.stdout.write(`Odoo series:\n${describeSeries(series).join('\n')}\n`);
    process.stdout.write('Odoo pools:\n');
    for (const line of typeof pools === 'string' ? [`  ${pools}`] : describePools(pools)) process.stdout.write(`${line}\n`);
  });

program
  .command('secret')
  .description('Secrets for the config file')
  .command('seal')
  .description('Encrypt a secret (e.g. BACKUP_S3_SECRET_ACCESS_KEY) with the platform key, for a config file; reads it from stdin')
  .action(async () => {
    const value = await readStdin();
    if (!value) throw new Error('Nothing to seal: pipe the secret into `saasctl secret seal`.');
    process.stdout.write(`${(await local()).sealSecret(value)}\n`);
  });

const edge = program.command('edge').description('The TLS edge in front of the platform');
edge
  .command('caddyfile')
  .description('Print a Caddyfile for this installation: on-demand TLS for every name the platform serves, HTTP -> HTTPS, websockets')
  .option('--upstream <host:port>', 'where Caddy reaches the platform (default: 127.0.0.1:PORT)')
  .option('--email <address>', "ACME account email (Let's Encrypt expiry notices)")
  .option('--internal-tls', "Caddy's own CA instead of Let's Encrypt (staging, offline machines)")
  .action(async (options: { upstream?: string; email?: string; internalTls?: boolean }) => {
    const { text, warning } = (await local()).caddyfile(options);
    process.stdout.write(text);
    if (warning) process.stderr.write(`saasctl: ${warning}\n`);
  });

const operator = program.command('operator').description('Manage operator users');
operator
  .command('create')
  .description('Create an operator user directly in the platform database (works before any operator exists)')
  .requiredOption('--email <email>', 'login email')
  .requiredOption('--name <name>', 'display name')
  .option('--password-stdin', 'read the password from standard input instead of asking')
  .option('--json', 'machine-readable output')
  .action(async (options: { email: string; name: string; passwordStdin?: boolean; json?: boolean }) => {
    const password = await readPassword(options);
    const user = await (await local()).createOperator({ email: options.email, name: options.name, password });
    if (options.json) printJson(user);
    else process.stdout.write(`Operator ${user.email} created (id ${user.id}). Log in with: saasctl login --email ${user.email}\n`);
  });

program
  .command('login')
  .description('Log in to the platform API and store the tokens for later commands (asks for the two-factor code when needed)')
  .requiredOption('--email <email>', 'login email')
  .option('--password-stdin', 'read the password (and, on a second line, the two-factor code) from standard input')
  .option('--json', 'machine-readable output')
  .action(async (options: { email: string; passwordStdin?: boolean; json?: boolean }) => {
    const url = apiUrl();
    // With --json, stdout stays one JSON document: what the user must read goes to stderr.
    const say = (text: string) => (options.json ? process.stderr : process.stdout).write(text);
    const { user, path, recoveryCodes } = await logIn(
      createApiClient({ url }),
      { url, email: options.email, passwordStdin: options.passwordStdin },
      say,
    );
    if (options.json)
      printJson({ url, email: user.email, role: user.role, credentials: path, ...(recoveryCodes ? { recoveryCodes } : {}) });
    else process.stdout.write(`Logged in to ${url} as ${user.email} (${user.role}). Tokens saved in ${path}\n`);
  });

const plans = program.command('plans').description('Plans on offer');
plans
  .command('list')
  .description('List the plans')
  .option('--json', 'machine-readable output')
  .option('--all', 'include archived plans (operators)')
  .action(async (options: { json?: boolean; all?: boolean }) => {
    const client = createApiClient({ url: apiUrl(), credentials: readCredentials() });
    const list = await client.get<Plan[]>(`/plans${options.all ? '?includeArchived=true' : ''}`);
    if (options.json) return printJson(list);
    // Amounts are in the currency's minor unit (whole yen for JPY, cents for USD): the billing
    // domain's formatter knows the digits; loaded here so --help stays light.
    const { formatMoney, money } = await import('../billing/index.js');
    const price = (minor: number, currency: string) => formatMoney(money(minor, currency));
    printTable(
      list.map((p) => ({
        code: p.code,
        name: p.name,
        cpu: p.limits.cpu,
        memory: `${p.limits.memoryMiB / 1024} GiB`,
        storage: `${p.limits.storageGiB} GiB`,
        users: p.limits.odooUsers,
        'tenants/account': p.limits.maxTenantsPerAccount ?? 'no limit',
        database: p.placement.databaseStrategy,
        odoo: p.placement.processStrategy,
        price:
          p.prices.length === 0
            ? 'free'
            : p.prices
                .map(
                  (x) =>
                    `${price(x.amountCents, x.currency)}/${x.interval}` +
                    (x.perUser ? ` + ${price(x.perUser.amountCents, x.currency)}/user above ${x.perUser.included}` : '') +
                    (x.perStorageGiB ? ` + ${price(x.perStorageGiB.amountCents, x.currency)}/GiB above ${x.perStorageGiB.included}` : ''),
                )
                .join(', '),
        status: p.archived ? 'archived' : 'offered',
      })),
    );
  });

program
  .command('whoami')
  .description('Show who the stored credentials belong to')
  .option('--json', 'machine-readable output')
  .action(async (options: { json?: boolean }) => {
    const client = createApiClient({ url: apiUrl(), credentials: readCredentials() });
    const me = await client.get<{ user: { email: string; role: string } }>('/me');
    if (options.json) return printJson(me);
    process.stdout.write(`${me.user.email} (${me.user.role}) at ${apiUrl()} — credentials in ${credentialsPath()}\n`);
  });

registerTenantCommands(program, {
  client: () => createApiClient({ url: apiUrl(), credentials: readCredentials() }),
  url: apiUrl,
  token: () => readCredentials()?.accessToken,
  printJson,
  printTable,
});

registerMigrationCommands(program, {
  client: () => createApiClient({ url: apiUrl(), credentials: readCredentials() }),
  printJson,
  printTable,
});

registerBackupCommands(program, {
  client: () => createApiClient({ url: apiUrl(), credentials: readCredentials() }),
  url: apiUrl,
  printJson,
  printTable,
});

registerBillingCommands(program, {
  client: () => createApiClient({ url: apiUrl(), credentials: readCredentials() }),
  printJson,
  printTable,
});

registerJobCommands(program, {
  client: () => createApiClient({ url: apiUrl(), credentials: readCredentials() }),
  printJson,
  printTable,
});

registerOdooCommands(program, {
  client: () => createApiClient({ url: apiUrl(), credentials: readCredentials() }),
  printJson,
  printTable,
});

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`saasctl: ${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  if (error instanceof ApiError) {
    process.stderr.write(`saasctl: ${error.message}${error.field ? ` (field: ${error.field})` : ''}\n`);
    process.exit(error.status === 0 ? 69 : 1);
  }
  const appError = error as { field?: string; message?: string };
  process.stderr.write(`saasctl: ${appError.message ?? String(error)}${appError.field ? ` (field: ${appError.field})` : ''}\n`);
  process.exit(1);
});
