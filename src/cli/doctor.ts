import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ODOO_SERIES } from '../config/index.js';
import { installationLayout } from '../odoo-installs/index.js';
import { findPostgresBinaries } from '../postgres/index.js';

export interface DoctorCheck {
  name: string;
  status: 'ok' | 'missing' | 'warning';
  found: string;
  enables: string;
  fix?: string;
}

function onPath(program: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, program))) return join(dir, program);
  }
  return undefined;
}

function versionOf(file: string, args: string[]): string | undefined {
  try {
    return execFileSync(file, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 })
      .toString()
      .trim()
      .split('\n')[0];
  } catch {
    return undefined;
  }
}

/** What is installed, what is missing, and what each piece enables. */
export function runDoctor(env: NodeJS.ProcessEnv = process.env): DoctorCheck[] {
  const checks: DoctorCheck[] = [];
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  checks.push({
    name: 'Node.js',
    status: nodeMajor >= 22 ? 'ok' : 'missing',
    found: process.version,
    enables: 'the platform itself (needs >= 22)',
    ...(nodeMajor >= 22 ? {} : { fix: 'run `npm start` once: it installs Node.js 24 into .tools/' }),
  });

  const pg = findPostgresBinaries(env);
  checks.push({
    name: 'PostgreSQL server binaries',
    status: pg ? 'ok' : env.DATABASE_URL ? 'warning' : 'missing',
    found: pg ? `${pg.binDir} (PostgreSQL ${pg.major})` : 'not found',
    enables: 'the embedded platform database, dedicated database servers, pg_dump/pg_restore for backups',
    ...(pg ? {} : { fix: 'apt-get install postgresql (or set DATABASE_URL for the platform database)' }),
  });

  // The override (ODOO_BIN, an odoo on PATH), else what `saasctl odoo install` registered under DATA_DIR/odoo/<series>/.
  // Several series run side by side: each one installed is listed with its odoo-bin.
  const installed = ODOO_SERIES.flatMap((series) => {
    const bin = installationLayout(join(env.DATA_DIR ?? './data', 'odoo'), series).bin;
    return existsSync(bin) ? [{ series, bin }] : [];
  });
  const override = env.ODOO_BIN ?? onPath('odoo', env) ?? onPath('odoo-bin', env);
  const odoo = override ?? installed.at(-1)?.bin;
  const odooVersion = odoo ? versionOf(odoo, ['--version']) : undefined;
  const series = env.ODOO_SERIES ?? '17.0';
  const bySeries = [
    ...(override ? [`override ${override} (${odooVersion ?? 'does not run'})`] : []),
    ...installed.map((i) => `Odoo ${i.series}: ${i.bin}`),
  ];
  checks.push({
    name: 'Odoo',
    status: odoo && odooVersion ? 'ok' : 'missing',
    found: odoo
      ? `${bySeries.join('; ')}${odooVersion || override ? '' : ' (does not run)'}`
      : 'NOT INSTALLED: no instance can be created (no installation under DATA_DIR/odoo, ODOO_BIN unset, no odoo on PATH)',
    enables: 'the process runtime: tenants served by local Odoo 16/17/18 processes',
    ...(odoo && odooVersion
      ? {}
      : {
          fix: `saasctl odoo install ${series} against the running platform (npm start does it when it can reach the archive), or set ODOO_BIN; see docs/operations/odoo.md`,
        }),
  });

  const dockerSocket = env.DOCKER_HOST ?? (existsSync('/var/run/docker.sock') ? 'unix:///var/run/docker.sock' : undefined);
  checks.push({
    name: 'Docker engine',
    status: dockerSocket ? 'ok' : 'missing',
    found: dockerSocket ?? (onPath('docker', env) ? 'docker client only, no engine socket' : 'not found'),
    enables: 'the docker runtime: a container per tenant or pool with CPU/memory limits',
    ...(dockerSocket ? {} : { fix: 'install and start a Docker engine, or set DOCKER_HOST' }),
  });

  // Kubernetes: asked of the cluster itself, in doctor-kubernetes.ts (async).

  checks.push({
    name: 'SMTP',
    status: env.SMTP_URL ? 'ok' : 'warning',
    found: env.SMTP_URL ? 'SMTP_URL set' : 'SMTP_URL unset: mails are written to DATA_DIR/mail-outbox',
    enables: 'password reset, verification and notification emails',
    ...(env.SMTP_URL ? {} : { fix: 'set SMTP_URL=smtp://user:pass@host:587' }),
  });
  return checks;
}

/** An Odoo series as GET /api/v1/odoo/installations reports it. */
export interface DoctorSeries {
  series: string;
  status: string;
  bin: string | null;
  overridden: boolean;
  error: string | null;
  usedBy: { templates: string[]; tenants: number };
}

/**
 * The lines `saasctl doctor` prints for each Odoo series of the running platform: what runs it,
 * what uses it, and a warning for a series templates declare but nothing runs (no instance of
 * them can be created until it is installed).
 */
export function describeSeries(series: DoctorSeries[]): string[] {
  return series.flatMap((s) => {
    const runs = s.overridden ? 'ODOO_BIN override' : s.status === 'ready' ? (s.bin ?? 'ready') : s.status.replace('_', ' ');
    const templates = s.usedBy.templates.length > 0 ? `; templates ${s.usedBy.templates.join(', ')}` : '';
    const line = `  Odoo ${s.series}: ${runs}; ${s.usedBy.tenants} tenant(s)${templates}`;
    const usable = s.overridden || s.status === 'ready';
    if (usable || s.usedBy.templates.length === 0) return [line];
    return [
      `! ${line.trimStart()}`,
      `      no instance of ${s.usedBy.templates.join(', ')} can be created: install it with saasctl odoo install ${s.series}` +
        `${s.error ? ` (last attempt failed: ${s.error.slice(0, 200)})` : ''}`,
    ];
  });
}

/** A pool as GET /api/v1/pools reports it (provisioning/poolReportSchema). */
export interface DoctorPool {
  name: string;
  databaseServer: string;
  odooSeries?: string | null;
  tenants: number;
  processes: Array<{ unit: string; state: string; pid: number | null; processes: number; memoryBytes: number | null }>;
  memoryBytes: number | null;
  /** Absent from an older platform's answer. */
  webWorkers?: { min: number; max: number; target: number; population: number; alive: number } | null;
  connections: { used: number | null; budget: number; serverMax: number | null };
  cron: { oldestDueAt: string | null; lagSeconds: number | null; unreadable: number };
}

const MIB = 1024 * 1024;
/** Odoo wakes its cron workers every 60 s: a due job older than a few rounds is not being run. */
const CRON_LAG_WARNING_SECONDS = 300;

/** The lines `saasctl doctor` prints for each pool of the running platform. */
export function describePools(pools: DoctorPool[]): string[] {
  if (pools.length === 0) return ['  no Odoo pool is running'];
  return pools.flatMap((pool) => {
    const memory = pool.memoryBytes === null ? 'memory unknown' : `${Math.round(pool.memoryBytes / MIB)} MiB`;
    const processes = pool.processes
      .map(
        (p) =>
          `${p.unit} ${p.state} (${p.processes} process${p.processes === 1 ? '' : 'es'}${p.memoryBytes === null ? '' : `, ${Math.round(p.memoryBytes / MIB)} MiB`})`,
      )
      .join(', ');
    const used = pool.connections.used ?? '?';
    const lag = pool.cron.lagSeconds;
    const cronLine =
      lag === null ? 'no scheduled action due' : `oldest due scheduled action waiting ${lag} s (since ${pool.cron.oldestDueAt})`;
    const warn = lag !== null && lag > CRON_LAG_WARNING_SECONDS ? '! ' : '  ';
    return [
      `${warn}${pool.name}${pool.odooSeries ? ` (Odoo ${pool.odooSeries})` : ''} on ${pool.databaseServer}: ${pool.tenants} tenant(s), ${memory}`,
      `      processes: ${processes || 'none running'}`,
      ...(pool.webWorkers
        ? [
            `      web workers: ${pool.webWorkers.population} (sized by load between ${pool.webWorkers.min} and ${pool.webWorkers.max}; load asks ${pool.webWorkers.target}, ${pool.webWorkers.alive} alive)`,
          ]
        : []),
      `      connections: ${used} used of a budget of ${pool.connections.budget} (server max_connections ${pool.connections.serverMax ?? '?'})`,
      `      cron: ${cronLine}${pool.cron.unreadable > 0 ? `; ${pool.cron.unreadable} tenant database(s) unreadable` : ''}`,
      ...(warn === '! '
        ? ['      to fix: look at the cron unit in the pool log (saasctl tenant logs <tenant>); restart the tenant to restart its pool']
        : []),
    ];
  });
}
