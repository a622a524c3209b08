import { randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Selectable } from 'kysely';
import type { OdooSeries } from '../config/index.js';
import type { Db, TemplateBuildRow, TemplatesTable } from '../db/index.js';
import { ConflictError, NotFoundError } from '../errors/index.js';
import { publishDomainEvents } from '../events/index.js';
import type { JobQueue, QueueName } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';
import {
  detectOdooVersion,
  initialiseDatabase,
  type OdooInstallation,
  removeFilestore,
  warmWebAssets,
  writeOdooConfig,
} from '../odoo/index.js';
import type { DatabaseServerOperations, DatabaseServerRegistry } from '../postgres/index.js';
import { freePort } from '../system/index.js';
import { defaultTemplateCatalog, type TemplateDefinition, templateDatabaseName } from './catalog.js';
import type { CustomerTemplateView, TemplateBuildView, TemplateView } from './views.js';

export const TEMPLATE_BUILD_QUEUE = 'template-build' satisfies QueueName;
/** The role that owns template databases; clones hand its objects to the tenant role. */
export const TEMPLATE_OWNER_ROLE = 'saas_template_owner';

/**
 * Odoo's base data gives a new database's admin the password `admin`. The warm-up logs in with it
 * while the template is still served to nobody else; every clone gets its own password (identity step).
 */
const TEMPLATE_ADMIN = { login: 'admin', password: 'admin' };

/** Web asset bundles Odoo stored in a database (attachments under `/web/assets/`). */
async function storedAssetBundles(ops: DatabaseServerOperations, databaseName: string): Promise<number> {
  return ops.withDatabase(databaseName, async (client) => {
    const result = await client.query<{ count: string }>("SELECT count(*) AS count FROM ir_attachment WHERE url LIKE '/web/assets/%'");
    return Number(result.rows[0]?.count ?? 0);
  });
}

/** A build new tenants can be cloned from: the last successful one, even while a rebuild runs or after it failed. */
function isUsable(build: TemplateBuildRow): boolean {
  return build.odoo_version !== null && build.database_name !== '';
}

function toDefinition(row: Selectable<TemplatesTable>): TemplateDefinition {
  return {
    code: row.code,
    name: row.name,
    description: row.description,
    modules: row.modules,
    sortOrder: row.sort_order,
    ...(row.series ? { series: row.series as OdooSeries } : {}),
  };
}

function toTemplateView(definition: TemplateDefinition, builds: TemplateBuildRow[]): TemplateView {
  return { ...definition, available: builds.some(isUsable), builds: builds.map(toBuildView) };
}

/** The customer's view of a template. Pure. */
export function toCustomerTemplateView(template: TemplateView): CustomerTemplateView {
  return { code: template.code, name: template.name, description: template.description, available: template.available };
}

function toBuildView(row: TemplateBuildRow): TemplateBuildView {
  return {
    serverId: row.server_id,
    status: row.status,
    databaseName: row.database_name,
    odooVersion: row.odoo_version,
    error: row.error,
    jobId: row.job_id,
    startedAt: row.started_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
  };
}

export type TemplateService = ReturnType<typeof createTemplateService>;

export function createTemplateService(deps: {
  db: Db;
  jobs: JobQueue;
  servers: DatabaseServerRegistry;
  /** The Odoo of a series (null: the default series), if it can run now (it may be installed while the platform runs). */
  odooFor: (series?: string | null) => Promise<(OdooInstallation & { series: string }) | undefined>;
  odooDataDir: string;
  logDir: string;
  logger: Logger;
}) {
  const { db, jobs, servers, logger } = deps;

  async function definition(code: string): Promise<TemplateDefinition> {
    const row = await db.selectFrom('templates').selectAll().where('code', '=', code).executeTakeFirst();
    if (!row) throw new NotFoundError(`Template ${code}`, { field: 'template' });
    return toDefinition(row);
  }

  function findBuild(code: string, serverId: string): Promise<TemplateBuildRow | undefined> {
    return db
      .selectFrom('template_builds')
      .selectAll()
      .where('template_code', '=', code)
      .where('server_id', '=', serverId)
      .executeTakeFirst();
  }

  async function buildOn(code: string, serverId: string, jobId: string): Promise<void> {
    const build = await findBuild(code, serverId);
    if (!build || build.job_id !== jobId) return; // superseded by a newer build request
    const fail = async (error: unknown) => {
      // A failed rebuild leaves the previous template usable: ready, with the error to read.
      const message = (error as Error).message.slice(0, 4000);
      await db
        .updateTable('template_builds')
        .set({
          status: isUsable(build) ? 'ready' : 'failed',
          error: message,
          finished_at: new Date(),
        })
        .where('id', '=', build.id)
        .execute();
    };
    const template = await definition(code);
    // Each template is built with its own series' Odoo (none named: the default series).
    const odoo = await deps.odooFor(template.series);
    if (!odoo) {
      const series = template.series ?? 'the default series (ODOO_SERIES)';
      await fail(
        new Error(
          `Odoo ${series} is not installed: install it with saasctl odoo install ${template.series ?? '<series>'}, then rebuild the template.`,
        ),
      );
      return;
    }
    const ops = await servers.operations(serverId);
    const adminUrl = new URL(await servers.adminUrl(serverId));
    // The database of the previous successful build stays in use until this one is ready.
    const previousReady = isUsable(build) ? build.database_name : undefined;
    const databaseName = templateDatabaseName(code, jobId);
    const workDir = join(deps.logDir, 'templates', `${code}-${serverId.slice(0, 8)}`);
    const logFile = join(workDir, 'build.log');
    // Holds the template owner's password: it lives only as long as the build.
    const configFile = join(workDir, 'odoo.conf');
    try {
      const password = randomBytes(24).toString('base64url');
      await ops.ensureRole(TEMPLATE_OWNER_ROLE, password);
      // A retried job starts the database afresh: a half-initialised one cannot be trusted.
      await ops.dropDatabase(databaseName);
      await removeFilestore(deps.odooDataDir, databaseName);
      await ops.createDatabase(databaseName, TEMPLATE_OWNER_ROLE);
      await writeOdooConfig(configFile, {
        db_host: adminUrl.hostname,
        db_port: Number(adminUrl.port || 5432),
        db_user: TEMPLATE_OWNER_ROLE,
        db_password: password,
        data_dir: deps.odooDataDir,
        list_db: false,
        without_demo: 'all',
        ...(odoo.addonsPath ? { addons_path: odoo.addonsPath } : {}),
      });
      const version = await detectOdooVersion(odoo);
      if (odoo.series !== version)
        throw new Error(
          `the odoo-bin registered for Odoo ${odoo.series} (${odoo.bin}) reports Odoo ${version}: ` +
            `install ${odoo.series} again (saasctl odoo install ${odoo.series}) or point ODOO_BIN at an Odoo ${odoo.series}`,
        );
      logger.info({ template: code, serverId, databaseName }, 'building template');
      await initialiseDatabase(odoo, { configFile, database: databaseName, modules: template.modules }, { logFile });
      const warmed = await warmWebAssets(
        odoo,
        { configFile, database: databaseName, port: await freePort(), admin: TEMPLATE_ADMIN },
        { logFile },
      );
      const stored = await storedAssetBundles(ops, databaseName);
      if (stored === 0) {
        throw new Error(
          `the web asset bundles were not stored in the template (${warmed.assetUrls.length} asset URLs fetched, ` +
            "no ir_attachment under /web/assets/): every new tenant would compile them on first use; see the build's Odoo log",
        );
      }
      logger.info({ template: code, serverId, assetUrls: warmed.assetUrls.length, storedBundles: stored }, 'template web assets warmed');
      await ops.lockTemplate(databaseName);
      // Told in the same transaction: spares (provisioning/) refill from the new build.
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('template_builds')
          .set({ status: 'ready', database_name: databaseName, odoo_version: version, error: null, finished_at: new Date() })
          .where('id', '=', build.id)
          .execute();
        await publishDomainEvents(trx, {
          type: 'template.build_ready',
          payload: { templateCode: code, databaseServerId: serverId, databaseName },
        });
      });
      if (previousReady && previousReady !== databaseName) {
        await ops
          .dropDatabase(previousReady)
          .catch((error: unknown) => logger.warn({ err: error }, 'could not drop the previous template database'));
        await removeFilestore(deps.odooDataDir, previousReady);
      }
      logger.info({ template: code, serverId, databaseName, version }, 'template ready');
    } catch (error) {
      await ops.dropDatabase(databaseName).catch(() => undefined);
      await removeFilestore(deps.odooDataDir, databaseName).catch(() => undefined);
      await fail(error);
      logger.error({ err: error, template: code, serverId, logFile }, 'template build failed');
    } finally {
      await rm(configFile, { force: true });
    }
  }

  return {
    /** Inserts catalog templates that do not exist yet. */
    async seed(catalog: TemplateDefinition[] = defaultTemplateCatalog): Promise<void> {
      await db
        .insertInto('templates')
        .values(
          catalog.map((t) => ({
            code: t.code,
            name: t.name,
            description: t.description,
            modules: JSON.stringify(t.modules),
            sort_order: t.sortOrder,
            series: t.series ?? null,
          })),
        )
        .onConflict((oc) => oc.column('code').doNothing())
        .execute();
    },

    async registerJobs(work: boolean): Promise<void> {
      await jobs.define(TEMPLATE_BUILD_QUEUE, async (data, job) => buildOn(data.template, data.serverId, job.id), work);
    },

    async list(): Promise<TemplateView[]> {
      const [rows, builds] = await Promise.all([
        db.selectFrom('templates').selectAll().orderBy('sort_order').orderBy('code').execute(),
        db.selectFrom('template_builds').selectAll().execute(),
      ]);
      return rows.map((row) =>
        toTemplateView(
          toDefinition(row),
          builds.filter((b) => b.template_code === row.code),
        ),
      );
    },

    async get(code: string): Promise<TemplateView> {
      const template = await definition(code);
      const builds = await db.selectFrom('template_builds').selectAll().where('template_code', '=', code).execute();
      return toTemplateView(template, builds);
    },

    /** Queues a (re)build of a template on a server (all shared servers when none is named). */
    async requestBuild(code: string, serverIds?: string[]): Promise<TemplateBuildView[]> {
      await definition(code);
      const targets = serverIds ?? (await servers.list()).filter((s) => s.kind === 'shared' && s.status === 'active').map((s) => s.id);
      const views: TemplateBuildView[] = [];
      for (const serverId of targets) {
        await servers.get(serverId);
        const current = await findBuild(code, serverId);
        if (current?.status === 'building') {
          views.push(toBuildView(current));
          continue;
        }
        // The row names its job before the job exists: a worker woken at once by NOTIFY must find
        // it, or it would take the build for a superseded one and leave it `building` forever.
        const jobId = randomUUID();
        const row = await db
          .insertInto('template_builds')
          .values({ template_code: code, server_id: serverId, database_name: '', status: 'building', job_id: jobId })
          .onConflict((oc) =>
            oc
              .columns(['template_code', 'server_id'])
              .doUpdateSet({ status: 'building', job_id: jobId, error: null, started_at: new Date(), finished_at: null }),
          )
          .returningAll()
          .executeTakeFirstOrThrow();
        await jobs.send(TEMPLATE_BUILD_QUEUE, { template: code, serverId }, { id: jobId });
        views.push(toBuildView(row));
      }
      return views;
    },

    /**
     * The template database to clone on that server: the last successful build (still usable
     * while a rebuild runs), or a 409 saying why there is none.
     */
    async readyDatabase(code: string, serverId: string): Promise<string> {
      const build = await findBuild(code, serverId);
      if (!build || !isUsable(build)) {
        throw new ConflictError(
          `Template ${code} is not ready on this database server (${build?.status ?? 'never built'}${build?.error ? `: ${build.error}` : ''}). ` +
            `Build it with: saasctl templates build ${code}`,
          { field: 'template' },
        );
      }
      return build.database_name;
    },

    /** Whether a ready build exists on at least one of the given servers. */
    async readyServers(code: string): Promise<string[]> {
      const rows = await db
        .selectFrom('template_builds')
        .select('server_id')
        .where('template_code', '=', code)
        .where('odoo_version', 'is not', null)
        .where('database_name', '<>', '')
        .execute();
      return rows.map((r) => r.server_id);
    },
  };
}
