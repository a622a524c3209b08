/**
 * The `docker` runtime: a container per dedicated tenant on a Docker engine (dockerode), built
 * from the pure specs in specs.ts, and shared pools of tenants in web + cron containers
 * (pools.ts). Containers carry labels (tenant or pool, fingerprint), so after a platform restart
 * start() adopts the running ones; only pool memberships are kept in a state file (their grants
 * outlive the platform). Containers outlive the platform (Docker's restart policy keeps them up
 * while it is down; stop() leaves them running). No `workloadMetrics` yet: the engine's
 * counters (restarts, OOM kills) are read per tenant by status(), not for monitoring's scrape.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Docker from 'dockerode';
import type { Logger } from '../../logging/index.js';
import { DEFAULT_POOL_DB_MAXCONN, DEFAULT_POOL_MAX_TENANTS, KeyedLock, PortAllocator, type PortRange } from '../process/index.js';
import type { PoolAccess, Runtime, SharedWorkloadView, TenantServeSpec, Upstream, WorkloadStatus } from '../types.js';
import { DockerEngine, ignoreNotFound, inBatches, isNotFound } from './engine.js';
import { DockerPools } from './pools.js';
import {
  containerDatabaseHost,
  type DedicatedNames,
  type DockerSettings,
  dedicatedContainerSpec,
  dedicatedFingerprint,
  dedicatedNames,
  dedicatedOdooConfig,
  LABELS,
  networkSpec,
  ownedFilter,
  resourceLimits,
  volumeSpec,
} from './specs.js';

export const DEFAULT_LOG_LINES = 100;
export const MAX_LOG_LINES = 10_000;

export interface DockerRuntimeOptions extends Omit<DockerSettings, 'restartPolicy' | 'pidsLimit' | 'publishAddress' | 'odooUser'> {
  /** The engine; default: DOCKER_HOST, else /var/run/docker.sock (dockerode's defaults). */
  docker?: Docker;
  logger: Logger;
  /** The tenants that should be served (after a platform restart). */
  desiredTenants(): Promise<TenantServeSpec[]>;
  restartPolicy?: DockerSettings['restartPolicy'];
  pidsLimit?: number;
  publishAddress?: string;
  odooUser?: DockerSettings['odooUser'];
  /** Host ports handed to containers (default: any free port). */
  portRange?: PortRange;
  /** How long serve() waits for `/web/health` to answer. */
  healthTimeoutMs?: number;
  restoreConcurrency?: number;
  /** Shared pools (plans with processStrategy `pool`); without them such tenants are refused, saying why. */
  pools?: {
    poolAccess: PoolAccess;
    /** Odoo's host-based dbfilter (tenants/ POOL_DBFILTER). */
    dbfilter: string;
    /** The file recording which tenant is in which pool (its grants outlive the platform). */
    stateFile: string;
    maxTenants?: number;
    /** Web workers of a pool (0 = threaded). Default 2, as the process runtime's pools. */
    workers?: number;
    cronWorkers?: number;
    dbMaxconn?: number;
  };
}

export interface DockerRuntime extends Runtime {
  readonly kind: 'docker';
  /** The engine's version, or why it cannot be reached (saasctl doctor). */
  engine(): Promise<{ reachable: true; version: string; apiVersion: string } | { reachable: false; reason: string }>;
}

interface Served {
  spec: TenantServeSpec;
  names: DedicatedNames;
  upstream: Upstream;
}

/** Lines of a pool's shared log read to find a tenant's own records in. */
const POOL_LOG_WINDOW = MAX_LOG_LINES;

/** Odoo started in the container: its config file is copied in before every start. */
class DockerRuntimeImpl implements DockerRuntime {
  readonly kind = 'docker' as const;
  private readonly docker: Docker;
  private readonly settings: DockerSettings;
  private readonly daemon: DockerEngine;
  private readonly pools: DockerPools | undefined;
  private readonly served = new Map<string, Served>();
  private readonly lock = new KeyedLock();

  constructor(private readonly options: DockerRuntimeOptions) {
    this.docker = options.docker ?? new Docker();
    this.settings = {
      instance: options.instance,
      imageFor: options.imageFor,
      defaultSeries: options.defaultSeries,
      environment: options.environment,
      healthCheck: options.healthCheck,
      odooUser: options.odooUser ?? { uid: 101, gid: 101 },
      odooDataDir: options.odooDataDir,
      platformAddonsDir: options.platformAddonsDir,
      publishAddress: options.publishAddress ?? '127.0.0.1',
      databaseHost: options.databaseHost,
      restartPolicy: options.restartPolicy ?? 'unless-stopped',
      pidsLimit: options.pidsLimit ?? 1024,
    };
    if (!/^[a-z0-9][a-z0-9_.-]{0,39}$/.test(this.settings.instance)) {
      throw new RangeError(`docker instance name must be lowercase letters, digits, '_', '.', '-' (got ${this.settings.instance})`);
    }
    this.daemon = new DockerEngine(
      this.docker,
      this.settings,
      new PortAllocator(this.settings.publishAddress, options.portRange),
      options.logger,
    );
    const pools = options.pools;
    if (pools) {
      mkdirSync(dirname(pools.stateFile), { recursive: true, mode: 0o700 });
      this.pools = new DockerPools(
        this.daemon,
        {
          poolAccess: pools.poolAccess,
          dbfilter: pools.dbfilter,
          stateFile: pools.stateFile,
          maxTenants: pools.maxTenants ?? DEFAULT_POOL_MAX_TENANTS,
          workers: pools.workers ?? 2,
          cronWorkers: pools.cronWorkers ?? 2,
          dbMaxconn: pools.dbMaxconn ?? DEFAULT_POOL_DB_MAXCONN,
          healthTimeoutMs: this.healthTimeoutMs,
        },
        options.logger,
      );
    }
  }

  private get healthTimeoutMs(): number {
    return this.options.healthTimeoutMs ?? 120_000;
  }

  async engine(): Promise<{ reachable: true; version: string; apiVersion: string } | { reachable: false; reason: string }> {
    try {
      const version = await this.docker.version();
      return { reachable: true, version: version.Version, apiVersion: version.ApiVersion };
    } catch (error) {
      return { reachable: false, reason: (error as Error).message };
    }
  }

  async start(): Promise<Array<{ tenantId: string; upstream: Upstream }>> {
    const { logger } = this.options;
    const existing = await this.docker.listContainers({ all: true, filters: ownedFilter(this.settings) });
    // Their ports stay theirs: a new container must not be handed one while they are adopted.
    for (const container of existing)
      for (const port of container.Ports ?? []) if (port.PublicPort) this.daemon.ports.reserve(port.PublicPort);
    const desired = await this.options.desiredTenants();
    const wantedDedicated = new Set(desired.filter((spec) => spec.processStrategy === 'dedicated').map((spec) => spec.tenantId));
    for (const container of existing) {
      const tenantId = container.Labels[LABELS.tenant];
      if (tenantId && !wantedDedicated.has(tenantId)) {
        logger.info({ tenantId, container: container.Names[0] }, 'removing the container of a tenant no longer served on its own');
        await this.unserveDedicated(tenantId).catch((error: unknown) =>
          logger.error({ tenantId, err: error }, 'could not remove the container of a tenant no longer served'),
        );
      }
    }
    await this.pools?.restore(desired);
    const restored: Array<{ tenantId: string; upstream: Upstream }> = [];
    await inBatches(desired, this.options.restoreConcurrency ?? 4, async (spec: TenantServeSpec) => {
      try {
        restored.push({ tenantId: spec.tenantId, upstream: await this.serve(spec) });
      } catch (error) {
        logger.error({ tenantId: spec.tenantId, err: error }, 'could not restore the tenant on Docker');
      }
    });
    logger.info({ tenants: desired.length, adopted: restored.length }, 'docker runtime restored its containers');
    return restored;
  }

  async serve(spec: TenantServeSpec): Promise<Upstream> {
    if (spec.processStrategy === 'pool') {
      const pools = this.pools;
      if (!pools) {
        throw new Error(
          `The docker runtime has no pools configured: place the plan of tenant ${spec.tenantName} on processStrategy "dedicated", or on the process runtime`,
        );
      }
      return this.lock.run(`tenant:${spec.tenantId}`, async () => {
        // A tenant that moves from its own container into a pool leaves that container first.
        await this.unserveDedicated(spec.tenantId);
        const from = pools.serverOf(spec.tenantId);
        if (from && from !== spec.databaseServerId) await this.lock.run(`server:${from}`, () => pools.unserve(spec.tenantId));
        return this.lock.run(`server:${spec.databaseServerId}`, () => pools.serve(spec));
      });
    }
    return this.lock.run(`tenant:${spec.tenantId}`, async () => {
      await this.leavePool(spec.tenantId);
      return this.serveDedicated(spec);
    });
  }

  private async serveDedicated(spec: TenantServeSpec): Promise<Upstream> {
    const { logger } = this.options;
    const engine = this.daemon;
    const names = dedicatedNames(this.settings, spec.tenantName);
    const fingerprint = dedicatedFingerprint(this.settings, spec);
    let info = await engine.inspectContainer(names.container);
    if (info && info.Config.Labels[LABELS.fingerprint] !== fingerprint) {
      logger.info({ tenantId: spec.tenantId, container: names.container }, 'replacing a container made for another image or database');
      await engine.removeContainer(names.container);
      info = undefined;
    }
    const gateway = await engine.ensureNetwork(networkSpec(this.settings, names, spec));
    await engine.ensureFilestore(spec.databaseName);
    await this.ensureVolume(names, spec);
    const fitted = { ...spec, limits: await engine.fit(spec.limits) };
    info ??= await engine.createContainer(1, ([port]) => dedicatedContainerSpec(this.settings, names, fitted, fingerprint, port as number));
    // A plan changed while the platform was down: Docker updates a stopped container too.
    await engine.applyLimits(info, spec.limits);
    if (!info.State.Running) {
      const databaseHost = containerDatabaseHost(this.settings, spec.tenantRole, gateway);
      await engine.startWithConfig(names.container, dedicatedOdooConfig(spec, databaseHost, randomBytes(24).toString('base64url')));
      logger.info({ tenantId: spec.tenantId, container: names.container }, 'dedicated Odoo container started');
    }
    const upstream = await engine.waitHealthy(names.container, `tenant ${spec.tenantName}`, this.healthTimeoutMs);
    this.served.set(spec.tenantId, { spec, names, upstream });
    return upstream;
  }

  async unserve(tenantId: string): Promise<void> {
    await this.lock.run(`tenant:${tenantId}`, async () => {
      await this.unserveDedicated(tenantId);
      await this.leavePool(tenantId);
    });
  }

  private async leavePool(tenantId: string): Promise<void> {
    const server = this.pools?.serverOf(tenantId);
    if (server) await this.lock.run(`server:${server}`, async () => this.pools?.unserve(tenantId));
  }

  private async unserveDedicated(tenantId: string): Promise<void> {
    const served = this.served.get(tenantId);
    const found = served ? [served.names] : await this.namesOfTenant(tenantId);
    for (const names of found) {
      await this.daemon.removeContainer(names.container);
      await this.daemon.removeNetwork(names.network);
      await this.docker.getVolume(names.volume).remove().catch(ignoreNotFound);
    }
    this.served.delete(tenantId);
  }

  upstream(tenantId: string): Upstream | undefined {
    return this.served.get(tenantId)?.upstream ?? this.pools?.upstream(tenantId);
  }

  async status(tenantId: string): Promise<WorkloadStatus | undefined> {
    const served = this.served.get(tenantId);
    if (!served) return this.pools?.status(tenantId);
    return this.daemon.workloadStatus(served.names.container, served.names.container);
  }

  async logs(tenantId: string, options: { lines?: number } = {}): Promise<string[]> {
    const count = Math.min(MAX_LOG_LINES, Math.max(1, Math.floor(options.lines ?? DEFAULT_LOG_LINES)));
    const served = this.served.get(tenantId);
    if (!served) return this.pools?.logs(tenantId, count, POOL_LOG_WINDOW) ?? [];
    return this.daemon.logLines(served.names.container, count);
  }

  async sharedWorkloads(): Promise<SharedWorkloadView[]> {
    return this.pools?.sharedWorkloads() ?? [];
  }

  /** A plan change: Docker rewrites the container's (or its pool's) cgroup limits at once, without a restart. */
  async updateLimits(tenantId: string, limits: { cpu: number; memoryMiB: number }): Promise<void> {
    await this.lock.run(`tenant:${tenantId}`, async () => {
      const server = this.pools?.serverOf(tenantId);
      if (server) {
        await this.lock.run(`server:${server}`, async () => this.pools?.updateLimits(tenantId, limits));
        return;
      }
      const served = this.served.get(tenantId);
      if (served) served.spec = { ...served.spec, limits };
      // Found by its labels: the replica that handles the plan change need not be the one that started it.
      for (const names of served ? [served.names] : await this.namesOfTenant(tenantId)) {
        await this.docker.getContainer(names.container).update(resourceLimits(await this.daemon.fit(limits)));
        this.options.logger.info({ tenantId, container: names.container, ...limits }, 'new limits applied to the running container');
      }
    });
  }

  /** Containers keep running while the platform is down (that is Docker's restart policy's job). */
  async stop(): Promise<void> {
    this.served.clear();
    this.pools?.stop();
  }

  private async ensureVolume(names: DedicatedNames, spec: TenantServeSpec): Promise<void> {
    const existing = await this.docker
      .getVolume(names.volume)
      .inspect()
      .catch((error: unknown) => {
        if (isNotFound(error)) return undefined;
        throw error;
      });
    if (!existing) await this.docker.createVolume(volumeSpec(this.settings, names, spec));
  }

  private async namesOfTenant(tenantId: string): Promise<DedicatedNames[]> {
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: [...ownedFilter(this.settings).label, `${LABELS.tenant}=${tenantId}`] },
    });
    return containers.flatMap((container) => {
      const tenantName = container.Labels[LABELS.tenantName];
      return tenantName ? [dedicatedNames(this.settings, tenantName)] : [];
    });
  }
}

/** The `docker` runtime (see the module comment). Call start() before serving. */
export function createDockerRuntime(options: DockerRuntimeOptions): DockerRuntime {
  return new DockerRuntimeImpl(options);
}
