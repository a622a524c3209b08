import type { Config, OdooSeries } from './config/index.js';
import type { Db } from './db/index.js';
import type { JobQueue } from './jobs/index.js';
import type { Logger } from './logging/index.js';
import { detectOdooVersion, findOdoo } from './odoo/index.js';
import {
  createOdooInstallService,
  createSeriesRegistry,
  NOT_READY_FOR_CUSTOMERS,
  type OdooInstallService,
  type OdooSeriesRegistry,
  type PlatformReadiness,
  type SeriesOdoo,
} from './odoo-installs/index.js';
import type { DatabaseServerRegistry } from './postgres/index.js';
import {
  deferredRuntime,
  ODOO_MISSING,
  type OdooCommand,
  type Runtime,
  type RuntimeRegistry,
  unavailableRuntime,
} from './runtimes/index.js';
import type { TemplateService } from './templates/index.js';

/** The platform's Odoo: what runs now, the installations, and whether instances can be created. */
export interface PlatformOdoo {
  installs: OdooInstallService;
  /** The installations by series (the override serving the series it reports). */
  registry: OdooSeriesRegistry;
  /** The Odoo of a series (null/undefined: the default series), if it can run now. */
  seriesOdoo(series?: string | null): Promise<SeriesOdoo | undefined>;
  /** The series a tenant's backups and imports are checked against: its own, else the default (undefined: none can run). */
  series(tenantSeries?: string | null): Promise<string | undefined>;
  /** The process runtime (a placeholder saying what is missing until an Odoo is there). */
  processRuntime: Runtime;
  readiness(role: 'customer' | 'operator'): Promise<PlatformReadiness>;
  /** After the API listens: installs the default series when nothing is installed, builds the first templates. */
  afterStart(input: { runtimes: RuntimeRegistry; templates: TemplateService }): Promise<void>;
}

const NETWORK_PROBE_MS = 5_000;

/** Whether the archive's host answers at all (DNS, TCP, TLS): no internet, no automatic install. */
async function reachable(url: string): Promise<string | undefined> {
  try {
    await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(NETWORK_PROBE_MS) });
    return undefined;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return cause?.code ?? (error as Error).message;
  }
}

/**
 * Composition of the Odoo installations (odoo-installs/) with the runtime and the templates:
 * the override (ODOO_BIN, or an odoo on PATH) wins; else the installation of ODOO_SERIES, else
 * any ready one. When an installation becomes ready while nothing ran, it becomes the platform's
 * Odoo at once: the process runtime arrives and the templates to build at start are built.
 */
export async function startPlatformOdoo(deps: {
  config: Config;
  db: Db;
  jobs: JobQueue;
  servers: DatabaseServerRegistry;
  odooDataDir: string;
  logger: Logger;
  /** The process runtime, given the Odoo of each series (it rejects, saying what to install, for one that cannot run). */
  createProcessRuntime: (odooFor: (series: string | undefined) => Promise<OdooCommand>) => Runtime;
}): Promise<PlatformOdoo> {
  const { config, logger } = deps;
  const override = findOdoo({ ...process.env, ...(config.odooBin ? { ODOO_BIN: config.odooBin } : {}) });
  let later: { runtimes: RuntimeRegistry; templates: TemplateService } | undefined;
  const processRuntime = deferredRuntime('process', unavailableRuntime('process', ODOO_MISSING));

  const installs = createOdooInstallService({
    ...deps,
    config: config.odooInstall,
    overridden: override !== undefined,
    crashAt: config.crashAt,
    onReady: (series, odoo) => {
      logger.info({ series, bin: odoo.bin }, `Odoo ${series} is installed: its templates and tenants can run from now on`);
      const first = !processRuntime.provided;
      if (first) provideRuntime();
      if (later) {
        const { runtimes, templates } = later;
        if (first) runtimes.start().catch((error: unknown) => logger.error({ err: error }, 'starting the process runtime failed'));
        autobuild(templates).catch((error: unknown) => logger.error({ err: error }, 'automatic template build failed to start'));
      }
    },
  });
  const registry = createSeriesRegistry({
    override,
    configuredDefault: config.odooInstall.defaultSeries,
    addonsPath: config.odooAddonsPath,
    detectSeries: detectOdooVersion,
    installations: () => installs.ready(),
  });
  async function odooFor(series: string | undefined): Promise<OdooCommand> {
    const odoo = await registry.resolve(series);
    if (odoo) return odoo;
    const wanted = series ?? (await registry.defaultSeries());
    throw new Error(
      `Odoo ${wanted} is not installed on this platform: install it with \`saasctl odoo install ${wanted}\` (docs/operations/odoo.md)`,
    );
  }
  // One process runtime for every series (it starts each tenant with its series' odoo-bin), there once any Odoo can run.
  const provideRuntime = () => processRuntime.provide(deps.createProcessRuntime(odooFor));
  await installs.registerJobs(config.runWorkers);
  if ((await registry.available()).length > 0) provideRuntime();

  async function autobuild(templates: TemplateService): Promise<void> {
    if (!config.runWorkers || config.templatesAutobuild.length === 0) return;
    const existing = await templates.list();
    const defaultServer = (await deps.servers.list()).find((s) => s.isDefault);
    if (!defaultServer) return;
    for (const code of config.templatesAutobuild) {
      const template = existing.find((t) => t.code === code);
      if (template && !template.builds.some((b) => b.serverId === defaultServer.id)) await templates.requestBuild(code, [defaultServer.id]);
    }
  }

  const series: OdooSeries = config.odooInstall.defaultSeries;
  const anyOdoo = async () => (await registry.available()).length > 0;
  // What operators read: the series the override runs, and what uses each series.
  const seriesView = async () => ({ overrideSeries: await registry.overrideSeries(), defaultSeries: await registry.defaultSeries() });
  return {
    installs: {
      ...installs,
      list: async () => installs.list(await seriesView()),
      get: async (wanted) => installs.get(wanted, await seriesView()),
    },
    registry,
    seriesOdoo: (wanted) => registry.resolve(wanted),
    async series(tenantSeries) {
      return tenantSeries ?? ((await anyOdoo()) ? registry.defaultSeries() : undefined);
    },
    processRuntime,
    async readiness(role) {
      if (await anyOdoo()) return { canCreateInstances: true, operatorMessage: null, customerMessage: null, defaultSeries: series };
      const installation = await installs.get(series);
      const operatorMessage =
        installation.status === 'installing'
          ? `Odoo ${series} is being installed (${installation.stepsDone} of ${installation.stepsTotal} steps done): instances can be created once it is ready.`
          : `Odoo is not installed${installation.error ? ` (the last installation of ${series} failed: ${installation.error})` : ''}: ` +
            `install it with \`saasctl odoo install ${series}\` or from the Odoo page of the operator console (docs/operations/odoo.md).`;
      return {
        canCreateInstances: false,
        operatorMessage: role === 'operator' ? operatorMessage : null,
        customerMessage: NOT_READY_FOR_CUSTOMERS,
        defaultSeries: series,
      };
    },
    async afterStart(input) {
      later = input;
      if (await anyOdoo()) {
        await autobuild(input.templates);
        return;
      }
      const installation = await installs.get(series);
      if (installation.status === 'installing') return;
      const source = config.odooInstall.sources[series].url;
      const notAutomatic = !config.runWorkers
        ? 'this replica runs no workers (RUN_WORKERS=false)'
        : !config.odooInstall.autoInstall
          ? 'ODOO_AUTO_INSTALL=false'
          : await reachable(source).then((why) => (why ? `${new URL(source).host} cannot be reached: ${why}` : undefined));
      // A failed installation is tried again too: the network may be back, the URL fixed.
      if (!notAutomatic) {
        logger.warn({ series, source }, `No Odoo is installed: installing Odoo ${series} now (saasctl odoo list shows its progress)`);
        await installs.requestInstall(series);
        return;
      }
      // One banner, once: what is wrong and the one command that fixes it.
      logger.warn(
        { series, source, why: notAutomatic, lastError: installation.error },
        `NO ODOO INSTALLED: the platform runs, but no instance can be created. Install Odoo with \`saasctl odoo install ${series}\` ` +
          `(no automatic installation: ${notAutomatic}); see docs/operations/odoo.md`,
      );
    },
  };
}
