import { randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ODOO_SERIES, type OdooInstallConfig, type OdooSeries } from '../config/index.js';
import type { Db, OdooInstallationRow } from '../db/index.js';
import type { JobQueue } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';
import { detectOdooVersion, initialiseDatabase, type OdooInstallation, writeOdooConfig } from '../odoo/index.js';
import type { DatabaseServerRegistry } from '../postgres/index.js';
import { installationLayout } from './layout.js';
import { INSTALLER_STEPS, type InstallContext, installedOdoo } from './steps.js';
import { claimInstallation, failAbandonedInstallation, installationRow, installationRows, updateInstallation } from './store.js';
import { INSTALL_STEPS, type InstallStep, type OdooInstallationView } from './views.js';

export const ODOO_INSTALL_QUEUE = 'odoo-install' as const;
/** The role the installer's throwaway `-i base` database belongs to. */
const CHECK_ROLE = 'saas_install_check';

export type OdooInstallService = ReturnType<typeof createOdooInstallService>;

type UsedBy = OdooInstallationView['usedBy'];

function toView(
  series: OdooSeries,
  row: OdooInstallationRow | undefined,
  overridden: boolean,
  usedBy: UsedBy = { templates: [], tenants: 0 },
): OdooInstallationView {
  const stepsDone = row?.step ? INSTALL_STEPS.indexOf(row.step as InstallStep) + 1 : 0;
  return {
    series,
    status: row?.status ?? 'not_installed',
    step: (row?.step as InstallStep | null | undefined) ?? null,
    stepsDone,
    stepsTotal: INSTALL_STEPS.length,
    detail: row?.step_detail ?? null,
    sourceUrl: row?.source_url ?? null,
    archiveSha256: row?.archive_sha256 ?? null,
    version: row?.version ?? null,
    bin: row?.bin ?? null,
    error: row?.error ?? null,
    jobId: row?.job_id ?? null,
    requestedAt: row?.requested_at.toISOString() ?? null,
    finishedAt: row?.finished_at?.toISOString() ?? null,
    overridden,
    usedBy,
  };
}

/** Templates and tenants per series; those naming none count for `defaultSeries`. */
async function usage(db: Db, defaultSeries: string | undefined): Promise<Map<string, UsedBy>> {
  const [templates, tenants] = await Promise.all([
    db.selectFrom('templates').select(['code', 'series']).orderBy('sort_order').orderBy('code').execute(),
    db
      .selectFrom('tenants')
      .select(['odoo_series', (eb) => eb.fn.countAll<string>().as('count')])
      .where('state', '<>', 'deleted')
      .groupBy('odoo_series')
      .execute(),
  ]);
  const bySeries = new Map<string, UsedBy>();
  const of = (series: string | null) => {
    const key = series ?? defaultSeries ?? '';
    let entry = bySeries.get(key);
    if (!entry) {
      entry = { templates: [], tenants: 0 };
      bySeries.set(key, entry);
    }
    return entry;
  };
  for (const template of templates) of(template.series).templates.push(template.code);
  for (const row of tenants) of(row.odoo_series).tenants += Number(row.count);
  return bySeries;
}

/** Which series the override runs, and the default series: the composition knows them. */
export interface SeriesView {
  overrideSeries?: string | undefined;
  defaultSeries?: string;
}

/**
 * Odoo installations by series: `saasctl odoo install <series>` queues a job that downloads the
 * series' source archive, unpacks it under DATA_DIR/odoo/<series>/, makes a virtual environment,
 * installs Odoo's requirements with pip, checks `odoo-bin --version` and a throwaway `-i base`
 * database, and registers the installation (the row turns `ready` with its odoo-bin).
 */
export function createOdooInstallService(deps: {
  db: Db;
  jobs: JobQueue;
  servers: DatabaseServerRegistry;
  /** DATA_DIR/odoo: Odoo's data_dir, and the parent of each series' installation. */
  odooDataDir: string;
  config: OdooInstallConfig;
  /** True when ODOO_BIN (or an odoo on PATH) overrides the installations. */
  overridden: boolean;
  logger: Logger;
  /** Test-only (SAAS_TEST_CRASH_AT=odoo-install:<step>): the process is killed after that step is recorded. */
  crashAt?: string | undefined;
  /** Called once an installation is registered (the composition makes it the platform's Odoo). */
  onReady?: (series: OdooSeries, odoo: OdooInstallation) => void;
}) {
  const { db, jobs, logger, config } = deps;

  /** A throwaway database on the default server, initialised with base by this installation, then dropped. */
  async function checkBase(series: string, odoo: OdooInstallation, logFile: string): Promise<void> {
    const server = (await deps.servers.list()).find((s) => s.isDefault);
    if (!server) throw new Error('no default database server is registered to check the installation on');
    const ops = await deps.servers.operations(server.id);
    const adminUrl = new URL(await deps.servers.adminUrl(server.id));
    const database = `saas_install_check_${series.replace('.', '_')}`;
    const configFile = join(installationLayout(deps.odooDataDir, series).root, 'check.conf');
    const password = randomBytes(24).toString('base64url');
    await ops.ensureRole(CHECK_ROLE, password);
    await ops.dropDatabase(database);
    try {
      await ops.createDatabase(database, CHECK_ROLE);
      await writeOdooConfig(configFile, {
        db_host: adminUrl.hostname,
        db_port: Number(adminUrl.port || 5432),
        db_user: CHECK_ROLE,
        db_password: password,
        data_dir: join(deps.odooDataDir, series, 'check-data'),
        list_db: false,
        without_demo: 'all',
      });
      await initialiseDatabase(odoo, { configFile, database, modules: ['base'] }, { logFile, timeoutMs: 15 * 60_000 }).catch(
        (error: unknown) => {
          throw new Error(`the installed Odoo could not initialise a database with -i base: ${(error as Error).message.slice(-1500)}`);
        },
      );
    } finally {
      await rm(configFile, { force: true });
      await ops.dropDatabase(database).catch(() => undefined);
      await rm(join(deps.odooDataDir, series, 'check-data'), { recursive: true, force: true });
    }
  }

  async function install(series: OdooSeries, jobId: string): Promise<void> {
    const row = await installationRow(series, db);
    if (!row || row.job_id !== jobId || row.status !== 'installing') return; // superseded or finished
    const layout = installationLayout(deps.odooDataDir, series);
    await mkdir(layout.root, { recursive: true });
    const log = createWriteStream(layout.log, { flags: 'a', mode: 0o600 });
    let lastWrite = 0;
    let pending: Promise<void> = Promise.resolve();
    const context: InstallContext = {
      series,
      layout,
      source: { url: row.source_url, sha256: row.expected_sha256 ?? undefined },
      pipIndexUrl: config.pipIndexUrl,
      python: config.python,
      downloadIdleMs: config.downloadIdleSeconds * 1000,
      archiveSha256: row.archive_sha256,
      progress(detail) {
        // At most twice a second: a download reports every chunk.
        if (Date.now() - lastWrite < 500) return;
        lastWrite = Date.now();
        pending = pending.then(() => updateInstallation(series, { step_detail: detail }, db)).catch(() => undefined);
      },
      async recordArchive(sha256) {
        context.archiveSha256 = sha256;
        await updateInstallation(series, { archive_sha256: sha256 }, db);
      },
      checkBase: (odoo) => checkBase(series, odoo, layout.log),
      log: (chunk) => log.write(chunk),
    };
    const journal = row.step ? INSTALL_STEPS.indexOf(row.step as InstallStep) : -1;
    try {
      for (const [index, step] of INSTALLER_STEPS.entries()) {
        if (index <= journal && (await step.holds(context))) continue;
        log.write(`--- ${new Date().toISOString()} ${step.name}\n`);
        await step.run(context);
        await pending;
        await updateInstallation(series, { step: step.name, step_detail: null }, db);
        if (deps.crashAt === `odoo-install:${step.name}`) process.kill(process.pid, 'SIGKILL');
      }
      const odoo = installedOdoo(layout);
      const version = await detectOdooVersion(odoo);
      await updateInstallation(
        series,
        { status: 'ready', step: 'register', step_detail: null, bin: odoo.bin, version, error: null, finished_at: new Date() },
        db,
      );
      logger.info({ series, bin: odoo.bin }, 'Odoo installed and registered');
      deps.onReady?.(series, odoo);
    } catch (error) {
      await pending;
      const message = (error as Error).message.slice(0, 4000);
      log.write(`--- failed: ${message}\n`);
      // Half-made files of the failed step go; what finished stays for the next attempt's checks.
      await rm(`${layout.archive}.partial`, { force: true });
      await rm(`${layout.src}.partial`, { recursive: true, force: true });
      await updateInstallation(series, { status: 'failed', error: message, step_detail: null, finished_at: new Date() }, db);
      logger.error({ series, err: error, log: layout.log }, 'Odoo installation failed');
    } finally {
      await new Promise((r) => log.end(r));
    }
  }

  /**
   * An installation stays `installing` while its job runs. When the job has ended without the
   * installation finishing (its retries used up by processes that died, or its time limit passed),
   * nothing would ever move it on, and a new install request would be answered with it forever:
   * such a row is failed here, saying why, so the operator can install again.
   */
  async function settled(row: OdooInstallationRow | undefined): Promise<OdooInstallationRow | undefined> {
    if (row?.status !== 'installing' || !row.job_id) return row;
    const job = await jobs.find(ODOO_INSTALL_QUEUE, row.job_id);
    if (job && !['completed', 'failed', 'cancelled'].includes(job.state)) return row;
    const attempts = job ? ` after ${job.retryCount + 1} attempt(s)` : '';
    const error =
      `the installation stopped at ${row.step ? `the step after "${row.step}"` : 'its first step'} without finishing: ` +
      `its job ended (${job?.state ?? 'gone'}${attempts}), as when the platform process running it dies or the job passes its ` +
      `time limit. Install the series again to retry; the installation log is ${installationLayout(deps.odooDataDir, row.series).log}.`;
    if (await failAbandonedInstallation(row.series, row.job_id, error, db)) {
      logger.warn({ series: row.series, jobId: row.job_id, jobState: job?.state ?? 'gone' }, 'Odoo installation abandoned by its job');
    }
    return installationRow(row.series, db);
  }

  return {
    async registerJobs(work: boolean): Promise<void> {
      await jobs.define(ODOO_INSTALL_QUEUE, (data, job) => install(data.series, job.id), work);
    },

    /** Queues the installation of a series (a ready or running one is answered as it is). */
    async requestInstall(series: OdooSeries): Promise<OdooInstallationView> {
      await settled(await installationRow(series, db));
      const source = config.sources[series];
      const jobId = randomUUID();
      const row = await claimInstallation(
        { series, sourceUrl: source.url, expectedSha256: source.sha256 ?? null, jobId },
        db,
        async (trx) => {
          await jobs.send(ODOO_INSTALL_QUEUE, { series }, { id: jobId, transaction: trx });
        },
      );
      return toView(series, row, deps.overridden);
    },

    /** Every series, with what uses it (without `view`, the override counts for every series). */
    async list(view: SeriesView = {}): Promise<OdooInstallationView[]> {
      const [rows, used] = await Promise.all([installationRows(db), usage(db, view.defaultSeries)]);
      return Promise.all(
        ODOO_SERIES.map(async (series) =>
          toView(
            series,
            await settled(rows.find((r) => r.series === series)),
            view.overrideSeries === undefined ? deps.overridden : view.overrideSeries === series,
            used.get(series),
          ),
        ),
      );
    },

    async get(series: OdooSeries, view: SeriesView = {}): Promise<OdooInstallationView> {
      const [row, used] = await Promise.all([installationRow(series, db), usage(db, view.defaultSeries)]);
      const overridden = view.overrideSeries === undefined ? deps.overridden : view.overrideSeries === series;
      return toView(series, await settled(row), overridden, used.get(series));
    },

    /** The ready installations: series and odoo-bin (what the runtime and the template builds start). */
    async ready(): Promise<Array<{ series: string; bin: string }>> {
      return (await installationRows(db)).flatMap((r) => (r.status === 'ready' && r.bin ? [{ series: r.series, bin: r.bin }] : []));
    },

    /** The registered installation of a series, if ready. */
    async installed(series: OdooSeries): Promise<OdooInstallation | undefined> {
      const row = await installationRow(series, db);
      return row?.status === 'ready' && row.bin ? { bin: row.bin } : undefined;
    },
  };
}
