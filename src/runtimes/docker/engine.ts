/**
 * What the Docker runtime's dedicated containers and pools both do with the engine: inspect,
 * create with published ports, start with Odoo's configuration copied in, wait for health,
 * remove, read logs; networks and the host's filestore directories.
 */
import { chmod, chown, mkdir, readdir, stat } from 'node:fs/promises';
import type Docker from 'dockerode';
import type { ContainerCreateOptions, NetworkCreateOptions } from 'dockerode';
import type { Logger } from '../../logging/index.js';
import { type OdooServerOptions, renderOdooConfig } from '../../odoo/index.js';
import type { PortAllocator } from '../process/index.js';
import type { Upstream, WorkloadState, WorkloadStatus } from '../types.js';
import {
  CONTAINER_PATHS,
  capToHost,
  type DockerSettings,
  demuxLogLines,
  hostFilestoreDir,
  hostFilestoreRoot,
  ODOO_HTTP_PORT,
  ODOO_WEBSOCKET_PORT,
  resourceLimits,
  singleFileTar,
} from './specs.js';

export class DockerEngine {
  private hostCpus: Promise<number> | undefined;

  constructor(
    readonly docker: Docker,
    readonly settings: DockerSettings,
    readonly ports: PortAllocator,
    private readonly logger: Logger,
  ) {}

  /**
   * The limits as the engine takes them: Docker refuses more CPUs than the host has (a pool's
   * sum, a large plan on a small host), so CPU is capped there. Memory is a limit, not a
   * reservation: kept as the plan says.
   */
  async fit(limits: { cpu: number; memoryMiB: number }): Promise<{ cpu: number; memoryMiB: number }> {
    this.hostCpus ??= this.docker.info().then(
      (info: { NCPU?: number }) => info.NCPU ?? Number.POSITIVE_INFINITY,
      (error: unknown) => {
        this.hostCpus = undefined;
        throw error;
      },
    );
    return capToHost(limits, await this.hostCpus);
  }

  async inspectContainer(name: string): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      return await this.docker.getContainer(name).inspect();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Creates the container with `portCount` host ports of its own (released again if that fails). */
  async createContainer(
    portCount: number,
    specOf: (hostPorts: number[]) => ContainerCreateOptions & { name: string },
  ): Promise<Docker.ContainerInspectInfo> {
    const hostPorts: number[] = [];
    try {
      for (let index = 0; index < portCount; index++) hostPorts.push(await this.ports.allocate());
      const spec = specOf(hostPorts);
      await this.docker.createContainer(spec);
      const info = await this.inspectContainer(spec.name);
      if (!info) throw new Error(`container ${spec.name} vanished right after it was made`);
      return info;
    } catch (error) {
      for (const port of hostPorts) this.ports.release(port);
      throw error;
    }
  }

  /** A plan changed (or, for a pool, its tenants did): Docker updates running and stopped containers alike. */
  async applyLimits(info: Docker.ContainerInspectInfo, limits: { cpu: number; memoryMiB: number }): Promise<boolean> {
    const wanted = resourceLimits(await this.fit(limits));
    if (info.HostConfig.NanoCpus === wanted.NanoCpus && info.HostConfig.Memory === wanted.Memory) return false;
    await this.docker.getContainer(info.Name.replace(/^\//, '')).update(wanted);
    return true;
  }

  /**
   * Starts a stopped container with Odoo's configuration written in first: a container made just
   * before a crash may lack it, and a fresh master password per start costs nothing.
   */
  async startWithConfig(name: string, config: OdooServerOptions): Promise<void> {
    const container = this.docker.getContainer(name);
    const file = CONTAINER_PATHS.config.split('/').pop() as string;
    const directory = CONTAINER_PATHS.config.slice(0, -file.length - 1);
    await container.putArchive(singleFileTar(file, renderOdooConfig(config), this.settings.odooUser), { path: directory });
    await container.start();
  }

  async removeContainer(name: string): Promise<void> {
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

  /** The network (made when missing); answers its gateway, the host's address on it. */
  async ensureNetwork(spec: NetworkCreateOptions): Promise<string> {
    const network = this.docker.getNetwork(spec.Name);
    let info = await network.inspect().catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    if (!info) {
      await this.docker.createNetwork(spec).catch((error: unknown) => {
        // Made by a concurrent serve on another replica: fine.
        if (!isConflict(error)) throw error;
      });
      info = await network.inspect();
    }
    const gateway = (info.IPAM?.Config ?? []).map((config: { Gateway?: string }) => config.Gateway).find(Boolean);
    if (!gateway) throw new Error(`Docker network ${spec.Name} has no gateway address: the container could not reach its database`);
    return gateway;
  }

  async removeNetwork(name: string): Promise<void> {
    await this.docker.getNetwork(name).remove().catch(ignoreNotFound);
  }

  /**
   * The host's filestore directory of a database, owned by the containers' Odoo user (it writes
   * there). Its parent is made traversable (not listable) for that user: a pool mounts the parent.
   */
  async ensureFilestore(databaseName: string): Promise<void> {
    const directory = hostFilestoreDir(this.settings, databaseName);
    await mkdir(directory, { recursive: true, mode: 0o700 });
    const root = await stat(hostFilestoreRoot(this.settings));
    if ((root.mode & 0o001) === 0) await chmod(hostFilestoreRoot(this.settings), (root.mode & 0o777) | 0o001);
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

  /**
   * Polls `/web/health` through the published port (what the gateway will use) until it answers;
   * fails early, with the container's last log lines, when the container stops.
   */
  async waitHealthy(name: string, what: string, timeoutMs: number, webWorkers?: number): Promise<Upstream> {
    const deadline = Date.now() + timeoutMs;
    let upstream: Upstream | undefined;
    for (;;) {
      const info = await this.inspectContainer(name);
      if (!info) throw new Error(`container ${name} disappeared while starting`);
      const binding = info.NetworkSettings.Ports?.[`${ODOO_HTTP_PORT}/tcp`]?.[0];
      const websocket = info.NetworkSettings.Ports?.[`${ODOO_WEBSOCKET_PORT}/tcp`]?.[0];
      if (binding?.HostPort) {
        upstream = {
          host: this.settings.publishAddress,
          port: Number(binding.HostPort),
          ...(websocket?.HostPort ? { websocketPort: Number(websocket.HostPort) } : {}),
          ...(webWorkers ? { webWorkers } : {}),
        };
      }
      if (!info.State.Running && !info.State.Restarting && info.State.Status !== 'created') {
        throw new Error(
          `Odoo's container ${name} exited (code ${info.State.ExitCode}) while starting; its last log lines:\n${await this.tailOf(name)}`,
        );
      }
      if (upstream && (await answersHealth(upstream))) return upstream;
      if (Date.now() > deadline) {
        throw new Error(
          `Odoo of ${what} did not answer /web/health within ${timeoutMs} ms; its last log lines:\n${await this.tailOf(name)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** A workload's status from its container (the pool's web one for a pool tenant). */
  async workloadStatus(container: string, workload: string): Promise<WorkloadStatus> {
    const info = await this.inspectContainer(container);
    if (!info) return { state: 'stopped', workload, restarts: 0, lastExitReason: 'the container is gone' };
    return { ...containerState(info), workload, ...(info.State.Pid ? { pid: info.State.Pid } : {}), restarts: info.RestartCount };
  }

  /** Waits until a container without HTTP (a pool's cron) runs; fails with its log when it exits. */
  async waitRunning(name: string): Promise<void> {
    const info = await this.inspectContainer(name);
    if (!info) throw new Error(`container ${name} disappeared while starting`);
    if (!info.State.Running && !info.State.Restarting) {
      throw new Error(
        `Odoo's container ${name} exited (code ${info.State.ExitCode}) while starting; its last log lines:\n${await this.tailOf(name)}`,
      );
    }
  }

  /** The last `count` lines of the container's output (none when it is gone). */
  async logLines(name: string, count: number): Promise<string[]> {
    const buffer = await this.docker
      .getContainer(name)
      .logs({ stdout: true, stderr: true, tail: count, follow: false })
      .catch((error: unknown) => {
        if (isNotFound(error)) return Buffer.alloc(0);
        throw error;
      });
    return demuxLogLines(buffer).slice(-count);
  }

  private async tailOf(name: string): Promise<string> {
    return (await this.logLines(name, 20).catch(() => [])).join('\n');
  }

  /** The container's memory use now (one engine sample), undefined when it cannot be read. */
  async memoryBytes(name: string): Promise<number | undefined> {
    try {
      const stats = (await this.docker.getContainer(name).stats({ stream: false, 'one-shot': true } as { stream: false })) as {
        memory_stats?: { usage?: number };
      };
      return stats.memory_stats?.usage || undefined;
    } catch (error) {
      this.logger.debug({ container: name, err: error }, 'could not read the memory of a container');
      return undefined;
    }
  }
}

/** What the engine says of a container, as a runtime's workload state and last exit reason. */
export function containerState(info: Docker.ContainerInspectInfo): { state: WorkloadState; lastExitReason?: string } {
  const health = info.State.Health?.Status;
  const state: WorkloadState = info.State.Restarting
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
  return { state, ...(lastExitReason ? { lastExitReason } : {}) };
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
export function isNotFound(error: unknown): boolean {
  return statusCodeOf(error) === 404;
}
export function isConflict(error: unknown): boolean {
  return statusCodeOf(error) === 409;
}
export function ignoreNotFound(error: unknown): void {
  if (!isNotFound(error)) throw error;
}
function ignoreNotModified(error: unknown): void {
  if (statusCodeOf(error) !== 304 && !isNotFound(error)) throw error;
}

/** Runs `work` over the items, at most `size` at a time. */
export async function inBatches<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let index = 0; index < items.length; index += size) await Promise.all(items.slice(index, index + size).map(work));
}
