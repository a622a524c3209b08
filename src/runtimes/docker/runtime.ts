/**
 * The `docker` runtime: a container per dedicated tenant on a Docker engine (dockerode), built
 * from the pure specs in specs.ts. The engine is the record: containers carry labels (tenant,
 * fingerprint), so after a platform restart start() adopts the running ones instead of keeping
 * a state file, and containers outlive the platform (Docker's restart policy keeps them up while
 * the platform is down; stop() leaves them running). No `workloadMetrics` yet: the engine's
 * counters (restarts, OOM kills) are read per tenant by status(), not for monitoring's scrape.
 */
import { randomBytes } from 'node:crypto';
import { chown, mkdir, readdir, stat } from 'node:fs/promises';
import Docker from 'dockerode';
import type { Logger } from '../../logging/index.js';
import { renderOdooConfig } from '../../odoo/index.js';
import { KeyedLock, PortAllocator, type PortRange } from '../process/index.js';
import type { Runtime, TenantServeSpec, Upstream, WorkloadStatus } from '../types.js';
import {
  CONTAINER_PATHS,
  containerDatabaseHost,
  type DedicatedNames,
  type DockerSettings,
  dedicatedContainerSpec,
  dedicatedFingerprint,
  dedicatedNames,
  dedicatedOdooConfig,
  demuxLogLines,
  hostFilestoreDir,
  LABELS,
  networkSpec,
  ODOO_HTTP_PORT,
  ownedFilter,
  resourceLimits,
  singleFileTar,
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

/** Odoo started in the container: its config file is copied in before every start. */
class DockerRuntimeImpl implements DockerRuntime {
  readonly kind = 'docker' as const;
  private readonly docker: Docker;
  private readonly settings: DockerSettings;
  private readonly served = new Map<string, Served>();
  private readonly lock = new KeyedLock();
  private readonly ports: PortAllocator;

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
    this.ports = new PortAllocator(this.settings.publishAddress, options.portRange);
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
    for (const container of existing) for (const port of container.Ports ?? []) if (port.PublicPort) this.ports.reserve(port.PublicPort);
    const desired = await this.options.desiredTenants();
    const wanted = new Set(desired.map((spec) => spec.tenantId));
    for (const container of existing) {
      const tenantId = container.Labels[LABELS.tenant];
      if (tenantId && !wanted.has(tenantId)) {
        logger.info({ tenantId, container: container.Names[0] }, 'removing the container of a tenant no longer served');
        await this.unserve(tenantId).catch((error: unknown) =>
          logger.error({ tenantId, err: error }, 'could not remove the container of a tenant no longer served'),
        );
      }
    }
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
    if (spec.processStrategy !== 'dedicated') {
      throw new Error(
        `The docker runtime runs dedicated tenants only: place plan of tenant ${spec.tenantName} on processStrategy "dedicated", or on the process runtime`,
      );
    }
    return this.lock.run(`tenant:${spec.tenantId}`, () => this.serveDedicated(spec));
  }

  private async serveDedicated(spec: TenantServeSpec): Promise<Upstream> {
    const { logger } = this.options;
    const names = dedicatedNames(this.settings, spec.tenantName);
    const fingerprint = dedicatedFingerprint(this.settings, spec);
    let info = await this.inspectContainer(names.container);
    if (info && info.Config.Labels[LABELS.fingerprint] !== fingerprint) {
      logger.info({ tenantId: spec.tenantId, container: names.container }, 'replacing a container made for another image or database');
      await this.removeContainer(names.container);
      info = undefined;
    }
    const gateway = await this.ensureNetwork(names, spec);
    await this.ensureFilestore(spec);
    await this.ensureVolume(names, spec);
    if (!info) {
      const port = await this.ports.allocate();
      try {
        await this.docker.createContainer(dedicatedContainerSpec(this.settings, names, spec, fingerprint, port));
      } catch (error) {
        this.ports.release(port);
        throw error;
      }
      info = await this.inspectContainer(names.container);
      if (!info) throw new Error(`container ${names.container} vanished right after it was made`);
    }
    const container = this.docker.getContainer(names.container);
    const limits = resourceLimits(spec.limits);
    // A plan changed while the platform was down: Docker updates a stopped container too.
    if (info.HostConfig.NanoCpus !== limits.NanoCpus || info.HostConfig.Memory !== limits.Memory) await container.update(limits);
    if (!info.State.Running) {
      // Written again before every start: a container made just before a crash may lack it, and a
      // fresh admin password per start costs nothing (nothing else uses it).
      const config = renderOdooConfig(
        dedicatedOdooConfig(spec, containerDatabaseHost(this.settings, spec.tenantRole, gateway), randomBytes(24).toString('base64url')),
      );
      const file = CONTAINER_PATHS.config.split('/').pop() as string;
      const directory = CONTAINER_PATHS.config.slice(0, -file.length - 1);
      await container.putArchive(singleFileTar(file, config, this.settings.odooUser), { path: directory });
      await container.start();
      logger.info({ tenantId: spec.tenantId, container: names.container }, 'dedicated Odoo container started');
    }
    const upstream = await this.waitHealthy(names.container, spec);
    this.served.set(spec.tenantId, { spec, names, upstream });
    return upstream;
  }

  async unserve(tenantId: string): Promise<void> {
    await this.lock.run(`tenant:${tenantId}`, async () => {
      const served = this.served.get(tenantId);
      const found = served ? [served.names] : await this.namesOfTenant(tenantId);
      for (const names of found) {
        await this.removeContainer(names.container);
        await this.docker.getNetwork(names.network).remove().catch(ignoreNotFound);
        await this.docker.getVolume(names.volume).remove().catch(ignoreNotFound);
      }
      this.served.delete(tenantId);
    });
  }

  upstream(tenantId: string): Upstream | undefined {
    return this.served.get(tenantId)?.upstream;
  }

  async status(tenantId: string): Promise<WorkloadStatus | undefined> {
    const served = this.served.get(tenantId);
    if (!served) return undefined;
    const info = await this.inspectContainer(served.names.container);
    if (!info) return { state: 'stopped', workload: served.names.container, restarts: 0, lastExitReason: 'the container is gone' };
    const health = info.State.Health?.Status;
    const state = info.State.Restarting
      ? 'restarting'
      : info.State.Running
        ? health === 'starting'
          ? 'starting'
          : health === 'unhealthy'
            ? 'failed'
            : 'running'
        : info.State.Status === 'created'
          ? 'starting'
          : 'stopped';
    const lastExitReason = info.State.OOMKilled
      ? 'killed for using more memory than its plan allows (OOM)'
      : health === 'unhealthy'
        ? 'its health check fails'
        : info.State.Error || (info.State.ExitCode ? `exited with code ${info.State.ExitCode}` : undefined);
    return {
      state,
      workload: served.names.container,
      ...(info.State.Pid ? { pid: info.State.Pid } : {}),
      restarts: info.RestartCount,
      ...(lastExitReason ? { lastExitReason } : {}),
    };
  }

  async logs(tenantId: string, options: { lines?: number } = {}): Promise<string[]> {
    const served = this.served.get(tenantId);
    if (!served) return [];
    const count = Math.min(MAX_LOG_LINES, Math.max(1, Math.floor(options.lines ?? DEFAULT_LOG_LINES)));
    const buffer = await this.docker
      .getContainer(served.names.container)
      .logs({ stdout: true, stderr: true, tail: count, follow: false })
      .catch((error: unknown) => {
        if (isNotFound(error)) return Buffer.alloc(0);
        throw error;
      });
    return demuxLogLines(buffer).slice(-count);
  }

  /** A plan change: Docker rewrites the container's cgroup limits at once, without a restart. */
  async updateLimits(tenantId: string, limits: { cpu: number; memoryMiB: number }): Promise<void> {
    await this.lock.run(`tenant:${tenantId}`, async () => {
      const served = this.served.get(tenantId);
      if (served) served.spec = { ...served.spec, limits };
      // Found by its labels: the replica that handles the plan change need not be the one that started it.
      for (const names of served ? [served.names] : await this.namesOfTenant(tenantId)) {
        await this.docker.getContainer(names.container).update(resourceLimits(limits));
        this.options.logger.info({ tenantId, container: names.container, ...limits }, 'new limits applied to the running container');
      }
    });
  }

  /** Containers keep running while the platform is down (that is Docker's restart policy's job). */
  async stop(): Promise<void> {
    this.served.clear();
  }

  // --- engine helpers ---

  private async inspectContainer(name: string): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      return await this.docker.getContainer(name).inspect();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async removeContainer(name: string): Promise<void> {
    const info = await this.inspectContainer(name);
    if (!info) return;
    const container = this.docker.getContainer(name);
    // A graceful stop first (Odoo finishes its requests), then removal with its anonymous volumes.
    if (info.State.Running) await container.stop({ t: 10 }).catch(ignoreNotModified);
    await container.remove({ force: true, v: true }).catch(ignoreNotFound);
    for (const bindings of Object.values(info.HostConfig.PortBindings ?? {}) as Array<Array<{ HostPort?: string }> | null>) {
      for (const binding of bindings ?? []) if (binding.HostPort) this.ports.release(Number(binding.HostPort));
    }
  }

  /** The tenant's network (made when missing); answers its gateway, the host's address on it. */
  private async ensureNetwork(names: DedicatedNames, spec: TenantServeSpec): Promise<string> {
    const network = this.docker.getNetwork(names.network);
    let info = await network.inspect().catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    if (!info) {
      await this.docker.createNetwork(networkSpec(this.settings, names, spec)).catch((error: unknown) => {
        // Made by a concurrent serve of the same tenant on another replica: fine.
        if (!isConflict(error)) throw error;
      });
      info = await network.inspect();
    }
    const gateway = (info.IPAM?.Config ?? []).map((config: { Gateway?: string }) => config.Gateway).find(Boolean);
    if (!gateway) throw new Error(`Docker network ${names.network} has no gateway address: the container could not reach its database`);
    return gateway;
  }

  /** The host's filestore directory, owned by the container's Odoo user (it writes there). */
  private async ensureFilestore(spec: TenantServeSpec): Promise<void> {
    const directory = hostFilestoreDir(this.settings, spec.databaseName);
    await mkdir(directory, { recursive: true, mode: 0o700 });
    const { uid, gid } = this.settings.odooUser;
    const current = await stat(directory);
    if (current.uid !== uid || current.gid !== gid) {
      await chownTree(directory, uid, gid).catch((error: unknown) => {
        throw new Error(
          `could not hand the filestore ${directory} to the container's Odoo user ${uid}:${gid} (${(error as Error).message}): run the platform as root or give that user the directory`,
        );
      });
    }
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

  /**
   * Polls `/web/health` through the published port (what the gateway will use) until it answers;
   * fails early, with the container's last log lines, when the container stops.
   */
  private async waitHealthy(name: string, spec: TenantServeSpec): Promise<Upstream> {
    const timeoutMs = this.options.healthTimeoutMs ?? 120_000;
    const deadline = Date.now() + timeoutMs;
    let upstream: Upstream | undefined;
    for (;;) {
      const info = await this.inspectContainer(name);
      if (!info) throw new Error(`container ${name} disappeared while starting`);
      const binding = info.NetworkSettings.Ports?.[`${ODOO_HTTP_PORT}/tcp`]?.[0];
      if (binding?.HostPort) upstream = { host: this.settings.publishAddress, port: Number(binding.HostPort) };
      if (!info.State.Running && !info.State.Restarting && info.State.Status !== 'created') {
        const tail = await this.tailOf(name);
        throw new Error(`Odoo's container ${name} exited (code ${info.State.ExitCode}) while starting; its last log lines:\n${tail}`);
      }
      if (upstream && (await answersHealth(upstream))) return upstream;
      if (Date.now() > deadline) {
        const tail = await this.tailOf(name);
        throw new Error(
          `Odoo of tenant ${spec.tenantName} did not answer /web/health within ${timeoutMs} ms; its last log lines:\n${tail}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  private async tailOf(name: string): Promise<string> {
    const buffer = await this.docker
      .getContainer(name)
      .logs({ stdout: true, stderr: true, tail: 20, follow: false })
      .catch(() => Buffer.alloc(0));
    return demuxLogLines(buffer).join('\n');
  }
}

/** Runs `work` over the items, at most `size` at a time. */
async function inBatches<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let index = 0; index < items.length; index += size) await Promise.all(items.slice(index, index + size).map(work));
}

async function answersHealth(upstream: Upstream): Promise<boolean> {
  try {
    const response = await fetch(`http://${upstream.host}:${upstream.port}/web/health`, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  await chown(path, uid, gid);
  const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const child = `${path}/${entry.name}`;
    if (entry.isDirectory()) await chownTree(child, uid, gid);
    else await chown(child, uid, gid);
  }
}

function statusCodeOf(error: unknown): number | undefined {
  return typeof error === 'object' && error !== null && 'statusCode' in error ? (error as { statusCode: number }).statusCode : undefined;
}
function isNotFound(error: unknown): boolean {
  return statusCodeOf(error) === 404;
}
function isConflict(error: unknown): boolean {
  return statusCodeOf(error) === 409;
}
function ignoreNotFound(error: unknown): void {
  if (!isNotFound(error)) throw error;
}
function ignoreNotModified(error: unknown): void {
  if (statusCodeOf(error) !== 304 && !isNotFound(error)) throw error;
}

/** The `docker` runtime (see the module comment). Call start() before serving. */
export function createDockerRuntime(options: DockerRuntimeOptions): DockerRuntime {
  return new DockerRuntimeImpl(options);
}
