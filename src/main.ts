import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { createAccountService } from './accounts/index.js';
import { type Api, buildApiServer, type SharedPortGateway } from './api/index.js';
import { createAuditLog } from './audit/index.js';
import { createAccessTokenSigner, createAuthService } from './auth/index.js';
import { type BackupService, createBackupService, createBackupStorage } from './backups/index.js';
import type { BillingReads, BuiltinBilling } from './billing/index.js';
import { startBilling } from './billing-wiring.js';
import { type Config, resolveSecretKey } from './config/index.js';
import { createNotificationHub } from './db/index.js';
import { dockerRuntimes } from './docker-wiring.js';
import type { DomainService } from './domains/index.js';
import { startDomains, tlsAskFor } from './domains-wiring.js';
import { createDomainEventBus, DOMAIN_EVENTS_CHANNEL } from './events/index.js';
import { createGateway, createRouteTable } from './gateway/index.js';
import { awakeTenantsOnly, type Hibernation, startHibernation } from './hibernation-wiring.js';
import { createIdentityService } from './identity/index.js';
import { createJobQueue } from './jobs/index.js';
import { kubernetesRuntimes } from './kubernetes-wiring.js';
import { createLogger, type Logger } from './logging/index.js';
import { createMetrics } from './metrics/index.js';
import type { MigrationService } from './migration/index.js';
import { startMigrations } from './migration-wiring.js';
import { gatewayMetrics, startMonitoring } from './monitoring-wiring.js';
import { createMailer } from './notifications/index.js';
import { startPlatformOdoo } from './odoo-wiring.js';
import { startNotificationsAndWebhooks } from './outbound.js';
import { createPlanService } from './plans/index.js';
import { databaseReadiness, openPlatformDatabase, type PlatformDatabase } from './platform-database.js';
import {
  createDatabaseServerRegistry,
  createPoolAccess,
  type DatabaseServerRegistry,
  DEFAULT_SHARED_SERVER_CAPACITY,
} from './postgres/index.js';
import {
  createLifecycleSweep,
  createSpareDatabases,
  createTenantOperations,
  desiredTenantsLoader,
  poolReports,
} from './provisioning/index.js';
import { startRestores } from './restore-wiring.js';
import {
  connectionCosts,
  connectionShapeOf,
  createProcessRuntime,
  createRuntimeRegistry,
  type RuntimeRegistry,
  requiredMaxConnections,
  UpstreamLoad,
} from './runtimes/index.js';
import { createSecretBox } from './secrets/index.js';
import { closeListeners } from './shutdown.js';
import { createTemplateService } from './templates/index.js';
import { tenantUrlBuilder } from './tenant-urls.js';
import {
  createTenantService,
  POOL_DBFILTER,
  releaseServerOfDeletedTenants,
  tenantCountsPerServer,
  tenantDatabaseOfRole,
} from './tenants/index.js';
import type { UsageSampler } from './usage/index.js';
import { startUsage } from './usage-wiring.js';

export interface Platform {
  app: Api;
  database: PlatformDatabase;
  runtimes: RuntimeRegistry;
  /** The database servers (tests watch dedicated servers sleep and wake, and hold them awake). */
  servers: DatabaseServerRegistry;
  /** Where the API (and, without GATEWAY_PORT, the gateway) listens, once `listen` was asked for. */
  url: string | undefined;
  /** Where the gateway listens when it has a port of its own. */
  gatewayUrl: string | undefined;
  /** The internal metrics listener's `/metrics` (METRICS_ADDRESS). */
  metricsUrl: string | undefined;
  /** Custom domains (the scheduled re-check and the base-URL job call it; tests call it with their own clock). */
  domains: DomainService;
  /** Runs the lifecycle timers now (as the scheduled job does), with `now` for tests. */
  sweepLifecycle(now?: Date): Promise<{ terminated: number; deleted: number }>;
  /** Hibernation: the sweep (tests call it with their own clock), wakes, the API view. */
  hibernation: Hibernation;
  /** Backups: the scheduler, retention and runs can be called directly by tests. */
  backups: BackupService;
  /** Migrations between servers and live plan changes (tests drop kept sources with their own clock). */
  migrations: MigrationService;
  /** Billing: the provider (subscriptions, payments, the billing clocks) and what it answers. */
  billing: { provider: BuiltinBilling; reads: BillingReads };
  /** Usage sampling and limit enforcement (tests sample with their own clock). */
  usage: UsageSampler;
  stop(): Promise<void>;
}

/** Composition root: builds every service from the config and wires them into the API, workers and gateway. */
export async function startPlatform(
  config: Config,
  options: {
    logger?: Logger;
    listen?: boolean;
    /** Billing's clock (tests move it to travel through trials, renewals and dunning). */
    clock?: () => Date;
  } = {},
): Promise<Platform> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const secretKey = resolveSecretKey(config);
  const secretBox = createSecretBox(secretKey, config.previousSecretKeys);
  // The connections Odoo's processes may hold (runtimes/process/connection-budget.ts) size the
  // managed servers: the platform's cluster is also the default shared server (capacity 50).
  const odooDbMaxconn = { poolDbMaxconn: config.odooDbMaxconn.pool, dedicatedDbMaxconn: config.odooDbMaxconn.dedicated };
  // The budget counts a pool at its most workers.
  const odooConnectionCosts = connectionCosts(connectionShapeOf({ ...odooDbMaxconn, poolWorkers: config.odooPoolWorkers.max }));
  // Counted by the gateway, read by the process runtime to size each pool's workers.
  const upstreamLoad = new UpstreamLoad();
  const database = await openPlatformDatabase(config, logger, {
    maxConnections: Math.max(300, requiredMaxConnections(DEFAULT_SHARED_SERVER_CAPACITY, odooConnectionCosts)),
  });
  const { db } = database;
  const mailer = createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, outboxDir: join(config.dataDir, 'mail-outbox'), logger });
  const metrics = createMetrics({ tenantLabelLimit: config.metricsTenantLabelLimit });
  const plans = createPlanService({ db });
  await plans.seed();
  const auth = createAuthService({
    db,
    config,
    signer: createAccessTokenSigner(secretBox.deriveKey('access-token'), config.accessTokenTtlSeconds),
    mailer,
    logger,
  });
  const audit = createAuditLog({ db });
  const identity = createIdentityService({ db, auth, audit, secretBox, config });

  const notifications = await createNotificationHub(database.url, [DOMAIN_EVENTS_CHANNEL], logger);
  // Before anything subscribes: local subscribers start at the newest event when they subscribe.
  const domainEvents = await createDomainEventBus({ db, notifications, logger });
  const jobs = createJobQueue({ connectionString: database.url, logger, observe: metrics.observeJob });
  await jobs.start();

  /** Test-only fault injection (SAAS_TEST_CRASH_AFTER_STEP): dies at the named point. */
  const crashPoint = (point: string): void => {
    if (config.crashAfterStep !== point) return;
    logger.fatal({ point }, 'SAAS_TEST_CRASH_AFTER_STEP: killing this process on purpose');
    process.kill(process.pid, 'SIGKILL');
  };
  const servers = createDatabaseServerRegistry({
    db,
    secretBox,
    logger,
    crashPoint,
    dataDir: config.dataDir,
    dedicatedMaxConnections: Math.max(100, requiredMaxConnections(1, odooConnectionCosts)),
    tenantPlacements: {
      countsPerServer: () => tenantCountsPerServer(db),
      releaseDeletedOn: (serverId) => releaseServerOfDeletedTenants(serverId, db),
    },
  });
  const defaultServerUrl = config.tenantDatabaseUrl ?? database.adminUrl;
  if (defaultServerUrl)
    await servers.registerDefault(defaultServerUrl, database.localServer ? join(config.dataDir, 'postgres') : undefined);
  await servers.startAllManaged();

  const odooDataDir = join(config.dataDir, 'odoo');
  const urls = tenantUrlBuilder(config);
  // One per platform: the process and docker runtimes name their pools (and so their roles) apart.
  const poolAccess = createPoolAccess({ servers, secret: secretBox.deriveKey('pool-roles'), databaseNameOfRole: tenantDatabaseOfRole });
  const odoo = await startPlatformOdoo({
    config,
    db,
    jobs,
    servers,
    odooDataDir,
    logger,
    createProcessRuntime: (odooFor) =>
      createProcessRuntime({
        odooFor,
        workDir: join(config.dataDir, 'runtime'),
        odooDataDir,
        logger,
        poolAccess,
        poolDbfilter: POOL_DBFILTER,
        ...odooDbMaxconn,
        poolRegistryCacheSize: config.odooPoolMemory.registryCacheSize,
        poolWorkerRecycleMiB: config.odooPoolMemory.workerRecycleMiB,
        poolWorkers: config.odooPoolWorkers.max,
        poolWorkersMin: config.odooPoolWorkers.min,
        poolScaleDownAfterMs: config.odooPoolWorkers.scaleDownAfterMs,
        poolLoad: (upstream) => upstreamLoad.take(upstream),
        desiredTenants: awakeTenantsOnly(
          db,
          desiredTenantsLoader({ db, plans, servers, secretBox, tenantHostName: urls.hostName }, 'process'),
        ),
      }),
  });
  const templates = createTemplateService({
    db,
    jobs,
    servers,
    odooFor: odoo.seriesOdoo,
    odooDataDir,
    logDir: join(config.dataDir, 'logs'),
    logger,
  });
  const spares = createSpareDatabases({ db, jobs, servers, templates, logger, perTemplate: config.spareDatabases });
  // Followed before any build job runs, so no build becomes ready unseen.
  await spares.followTemplateBuilds(domainEvents);
  await templates.seed();
  await templates.registerJobs(config.runWorkers);
  await spares.registerJobs(config.runWorkers);
  const docker = dockerRuntimes({
    config,
    odooDataDir,
    logger,
    pools: { poolAccess, dbfilter: POOL_DBFILTER, dbMaxconn: config.odooDbMaxconn.pool },
    desiredTenants: awakeTenantsOnly(db, desiredTenantsLoader({ db, plans, servers, secretBox, tenantHostName: urls.hostName }, 'docker')),
  });
  const runtimes = createRuntimeRegistry([odoo.processRuntime, ...docker, ...kubernetesRuntimes(config)], { recordIn: db });

  const operations = createTenantOperations({
    db,
    jobs,
    servers,
    templates,
    plans,
    runtimes,
    spares,
    secretBox,
    odooFor: odoo.seriesOdoo,
    odooDataDir,
    workDir: join(config.dataDir, 'runtime'),
    tenantBaseUrl: urls.baseUrl,
    tenantHostName: urls.hostName,
    logger,
    connectionCosts: odooConnectionCosts,
    crashAfterStep: config.crashAfterStep,
  });
  await operations.registerJobs(config.runWorkers);
  const hibernationDeps = { db, jobs, runtimes, plans, servers, secretBox, tenantHostName: urls.hostName, logger, crashPoint };
  const { hibernation, gatewayOptions } = await startHibernation(config, hibernationDeps);
  const backups = createBackupService({
    db,
    jobs,
    storage: createBackupStorage(config.backups.storage, secretBox),
    servers,
    odooDataDir,
    installedOdooSeries: odoo.series,
    metrics,
    logger,
    crashAt: config.crashAt,
    schedule: { hour: config.backups.scheduleHour, timeZone: config.backups.timeZone },
    linkKey: secretBox.deriveKey('backup-download-links'),
    linkTtlSeconds: config.backups.downloadLinkTtlSeconds,
    scratchDir: join(config.dataDir, 'backups-scratch'),
  });
  await backups.registerJobs(config.runWorkers, domainEvents);
  const sweep = createLifecycleSweep({ db, jobs, operations, logger });
  await sweep.register(config.runWorkers);
  const tenants = createTenantService({
    db,
    secretBox,
    operations,
    tenantHostName: urls.hostName,
    tenantBaseUrl: urls.baseUrl,
    creationRateLimitPerHour: config.tenantCreateRateLimitPerHour,
    platformReadiness: odoo.readiness,
    odooSeries: odoo.registry,
    crashPoint,
  });
  const moveDeps = { config, db, jobs, backups, servers, runtimes, operations, secretBox, odooDataDir, logger };
  const restores = await startRestores({ ...moveDeps, tenants, odooSeries: odoo.registry });
  const migrations = await startMigrations({ ...moveDeps, plans, tenantHostName: urls.hostName, connectionCosts: odooConnectionCosts });
  const accounts = createAccountService({ db });
  const mailingDeps = { config, db, jobs, mailer, logger, crashPoint };
  const { notifier, webhooks } = await startNotificationsAndWebhooks({
    ...mailingDeps,
    secretBox,
    domainEvents,
    accounts,
    tenantBaseUrl: urls.baseUrl,
  });
  const billing = await startBilling({
    ...mailingDeps,
    clock: options.clock ?? (() => new Date()),
    plans,
    tenants,
    accounts,
    migrations,
    audit,
    secretBox,
  });
  const { domains, domainTable, answerHttpProof } = await startDomains({ config, db, jobs, servers, domainEvents, urls, logger });
  const usage = await startUsage({ config, db, jobs, logger, domainEvents, plans, tenants, operations, audit, metrics }, options.clock);
  const monitoring = await startMonitoring({ config, db, jobs, runtimes, metrics, logger });

  const routes = await createRouteTable({ db, events: domainEvents, logger });
  const gateway = createGateway({
    baseDomain: config.baseDomain,
    resolveRoute: routes.resolve,
    confirmRoute: routes.confirm,
    resolveCustomDomain: domainTable.resolve,
    primaryHostOf: domainTable.primaryOf,
    primaryRedirectScheme: new URL(config.publicUrl).protocol,
    logger,
    trustProxy: config.trustProxy,
    ...gatewayOptions,
    restrictionsOf: usage.limits.restrictionsOf,
    upstreamLoad,
    ...gatewayMetrics(metrics),
  });
  const tlsAsk = tlsAskFor(config, routes.resolve, domainTable.resolve);
  const sharedPortGateway: SharedPortGateway | undefined = config.gatewayPort
    ? undefined
    : {
        claims: (req) => gateway.classify(req).kind !== 'platform',
        handleRequest: (req, res) => answerHttpProof(req, res) || gateway.handleRequest(req, res),
        handleUpgrade: (req, socket, head) => gateway.handleUpgrade(req, socket, head),
      };

  const app = await buildApiServer({
    config,
    logger,
    auth,
    plans,
    accounts,
    billing,
    audit,
    identity,
    notifications: notifier,
    webhooks,
    metrics,
    tenants,
    tenantUsage: (id) => operations.usage(id),
    tenantHibernation: (row) => hibernation.view(row.id, row.plan_code),
    poolReports: () => poolReports({ runtimes, servers }),
    templates,
    odoo,
    servers,
    jobs,
    backups,
    restores,
    migrations,
    runtimes,
    domainEvents,
    domains,
    tlsAsk,
    gateway: sharedPortGateway,
    readiness: () => databaseReadiness(db),
    usage: usage.reads,
  });

  const pruneTimer = setInterval(() => {
    Promise.all([auth.pruneRateLimits(), identity.prune()]).catch((error: unknown) =>
      logger.warn({ err: error }, 'rate limit pruning failed'),
    );
  }, 5 * 60_000);
  pruneTimer.unref();

  let url: string | undefined;
  let gatewayUrl: string | undefined;
  let gatewayServer: Server | undefined;
  if (options.listen !== false) {
    url = await app.listen({ host: config.host, port: config.port });
    if (config.gatewayPort) {
      const server = createServer((req, res) => answerHttpProof(req, res) || gateway.handleRequest(req, res));
      server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
      await new Promise<void>((resolvePromise) => server.listen(config.gatewayPort, config.host, resolvePromise));
      gatewayServer = server;
      gatewayUrl = `http://${config.host}:${config.gatewayPort}`;
    }
    logger.info({ url, gatewayUrl, baseDomain: config.baseDomain }, 'platform is serving');
  }

  // Bring back every Odoo that should run (after a restart of the platform), then build the
  // default templates the first time; both in the background so the API answers at once.
  if (config.runWorkers) {
    runtimes.start().catch((error: unknown) => logger.error({ err: error }, 'restoring tenant processes failed'));
    // Top up spare databases (a crash may have left half-made ones, a rebuild stale ones).
    for (const server of await servers.list()) if (server.kind === 'shared') await spares.requestRefill(server.id);
  }
  // In the background: probing the network for an automatic install may take seconds.
  odoo.afterStart({ runtimes, templates }).catch((error: unknown) => logger.error({ err: error }, 'setting up Odoo after start failed'));

  let stopping: Promise<void> | undefined;
  return {
    app,
    database,
    runtimes,
    servers,
    domains,
    url,
    gatewayUrl,
    metricsUrl: monitoring.url,
    sweepLifecycle: (now) => sweep.sweep(now),
    hibernation,
    backups,
    migrations,
    billing,
    usage: usage.sampler,
    stop() {
      stopping ??= (async () => {
        clearInterval(pruneTimer);
        await closeListeners(app, gatewayServer, gateway, logger);
        await monitoring.stop();
        await jobs.stop();
        await hibernation.stop();
        await runtimes.stop();
        await domainEvents.stop();
        await notifications.close();
        await servers.stopAllManaged();
        mailer.close();
        await database.close();
      })();
      return stopping;
    },
  };
}
