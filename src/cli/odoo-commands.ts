import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { OdooSeries } from '../config/index.js';
import type { OdooInstallationView } from '../odoo-installs/index.js';
import type { ApiClient } from './client.js';

interface Io {
  client(): ApiClient;
  printJson(value: unknown): void;
  printTable(rows: Record<string, string | number>[]): void;
}

const POLL_MS = 1_000;

function row(i: OdooInstallationView): Record<string, string | number> {
  return {
    series: i.series,
    status: i.overridden ? `${i.status} (ODOO_BIN overrides)` : i.status,
    step: i.status === 'installing' ? `${i.stepsDone}/${i.stepsTotal} ${i.detail ?? i.step ?? ''}` : (i.step ?? ''),
    version: i.version ?? '',
    bin: i.bin ?? '',
    'used by': `${i.usedBy.tenants} tenant(s)${i.usedBy.templates.length > 0 ? `, ${i.usedBy.templates.join(' ')}` : ''}`,
    error: i.error ?? '',
  };
}

/**
 * Follows an installation until it is ready or failed, with a bar of its steps (on a terminal)
 * and what the running step does (bytes downloaded, pip's last line).
 */
async function follow(io: Io, series: OdooSeries, timeoutSeconds: number, quiet: boolean): Promise<OdooInstallationView> {
  const bar =
    quiet || !process.stderr.isTTY
      ? undefined
      : new SingleBar({ format: ' {bar} {value}/{total} | {step} {detail}', stream: process.stderr, hideCursor: true });
  let view = await io.client().get<OdooInstallationView>(`/odoo/installations/${series}`);
  bar?.start(view.stepsTotal, view.stepsDone, { step: view.step ?? 'queued', detail: '' });
  let lastLine = '';
  const deadline = Date.now() + timeoutSeconds * 1000;
  try {
    while (view.status === 'installing') {
      if (Date.now() > deadline)
        throw new Error(`Odoo ${series} is still installing after ${timeoutSeconds} s; follow it with: saasctl odoo list`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      view = await io.client().get<OdooInstallationView>(`/odoo/installations/${series}`);
      bar?.update(view.stepsDone, { step: view.step ?? 'queued', detail: (view.detail ?? '').slice(0, 80) });
      const line = `${view.stepsDone}/${view.stepsTotal} ${view.step ?? 'queued'}`;
      if (!bar && !quiet && line !== lastLine) process.stderr.write(`${line}\n`);
      lastLine = line;
    }
  } finally {
    bar?.stop();
  }
  return view;
}

export function registerOdooCommands(program: Command, io: Io): void {
  const odoo = program.command('odoo').description('Odoo installations by series (operators)');
  odoo
    .command('install')
    .description("Install an Odoo series: its source archive, a virtual environment with Odoo's requirements, then checks")
    .argument('<series>', 'an Odoo series the platform installs, e.g. 17.0')
    .option('--no-wait', 'queue the installation and return')
    .option('--timeout <seconds>', 'how long to wait', '3600')
    .option('--json', 'machine-readable output')
    .action(async (series: string, options: { wait: boolean; timeout: string; json?: boolean }) => {
      // Loaded here, not up front: the series list lives with the configuration (zod), which
      // `saasctl --help` must not pay for.
      const { ODOO_SERIES } = await import('../config/index.js');
      if (!(ODOO_SERIES as readonly string[]).includes(series))
        throw Object.assign(new Error(`Odoo ${series} is not a series the platform installs: choose ${ODOO_SERIES.join(', ')}.`), {
          field: 'series',
        });
      const queued = await io.client().post<OdooInstallationView>(`/odoo/installations/${series}/install`);
      const view = options.wait ? await follow(io, series as OdooSeries, Number(options.timeout), options.json ?? false) : queued;
      if (options.json) io.printJson(view);
      else if (view.status === 'ready') process.stdout.write(`Odoo ${view.version} is installed and registered: ${view.bin}\n`);
      else if (view.status === 'installing')
        process.stdout.write(`Odoo ${series} is installing (job ${view.jobId}); follow it with: saasctl odoo list\n`);
      if (view.status === 'failed') throw new Error(`installing Odoo ${series} failed: ${view.error}`);
    });
  odoo
    .command('list')
    .description('Odoo series: installed or not, the installer progress, the odoo-bin in use')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const list = await io.client().get<OdooInstallationView[]>('/odoo/installations');
      if (options.json) return io.printJson(list);
      io.printTable(list.map(row));
    });
}
