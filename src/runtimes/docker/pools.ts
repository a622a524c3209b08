/**
 * Docker pools: several tenants of one database server and Odoo series share one Odoo, as the
 * process runtime's pools do (process/runtime.ts), in two containers on a network of their own:
 * `web` (the request's host selects the database through dbfilter, list_db off) and `cron` (a
 * prefork cron worker walking the databases its role owns). The pool connects as a PostgreSQL
 * role of its own that reaches only its tenants' databases (PoolAccess).
 *
 * - Limits follow the tenants' plans, live: the web container gets the sum of its tenants'
 *   CPU and memory, the cron container the largest tenant's (specs.ts poolLimits).
 * - After a platform restart the containers are found by their labels (pool, server, series,
 *   fingerprint) and adopted; which tenant is in which pool is kept in a state file (the
 *   process runtime's format), because the pool role's grants outlive the platform: tenants
 *   return to the pool that holds their grant, or that grant is revoked.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../logging/index.js';
import {
  choosePool,
  lastLines,
  linesOfDatabase,
  loadRuntimeState,
  type PoolMemberRecord,
  saveRuntimeState,
  validateSpec,
} from '../process/index.js';
import type { DatabaseCredentials, PoolAccess, SharedWorkloadView, TenantServeSpec, Upstream, WorkloadStatus } from '../types.js';
import { containerState, type DockerEngine } from './engine.js';
import {
  containerDatabaseHost,
  type DockerPoolIdentity,
  LABELS,
  ODOO_HTTP_PORT,
  ODOO_WEBSOCKET_PORT,
  ownedFilter,
  type PoolNames,
  type PoolOdooSettings,
  type PoolUnit,
  poolContainerSpec,
  poolFingerprint,
  poolLimits,
  poolNames,
  poolNetworkSpec,
  poolOdooConfig,
  seriesOf,
} from './specs.js';

/** Pool names (and so their PostgreSQL roles) of this runtime: `dpool-<server>-<n>`, apart from the process runtime's `pool-...`. */
export const DOCKER_POOL_PREFIX = 'dpool';
const UNITS: readonly PoolUnit[] = ['web', 'cron'];

export interface DockerPoolOptions {
  poolAccess: PoolAccess;
  /** Odoo's host-based dbfilter (tenants/ POOL_DBFILTER). */
  dbfilter: string;
  /** Where pool memberships are recorded (a file of this runtime instance). */
  stateFile: string;
  /** Tenants per pool before another is started. */
  maxTenants: number;
  /** Web workers (0 = threaded), cron workers and db_maxconn of each container. */
  workers: number;
  cronWorkers: number;
  dbMaxconn: number;
  healthTimeoutMs: number;
}

interface Pool {
  identity: DockerPoolIdentity;
  names: PoolNames;
  members: Map<string, PoolMemberRecord>;
  /** The plan limits of the members served since this platform started (restored members add theirs when served). */
  limits: Map<string, { cpu: number; memoryMiB: number }>;
  upstream?: Upstream;
}

/** The web container's ports on the host: Odoo's HTTP port, and its websocket port in workers mode. */
function publishedPorts(hostPorts: number[]): Record<number, number> {
  const containerPorts = [ODOO_HTTP_PORT, ODOO_WEBSOCKET_PORT];
  return Object.fromEntries(hostPorts.map((hostPort, index) => [containerPorts[index], hostPort]));
}

export class DockerPools {
  private readonly pools = new Map<string, Pool>();
  private readonly served = new Map<string, { pool: string; spec: TenantServeSpec }>();

  constructor(
    private readonly engine: DockerEngine,
    private readonly options: DockerPoolOptions,
    private readonly logger: Logger,
  ) {
    for (const record of loadRuntimeState(options.stateFile).pools) {
      const identity = { name: record.name, databaseServerId: record.databaseServerId, series: record.series ?? '' };
      this.pools.set(record.name, {
        identity,
        names: poolNames(engine.settings, record.name),
        members: new Map(record.tenants.map((member) => [member.tenantId, member])),
        limits: new Map(),
      });
    }
  }

  private get odoo(): PoolOdooSettings {
    return {
      dbfilter: this.options.dbfilter,
      workers: this.options.workers,
      cronWorkers: this.options.cronWorkers,
      dbMaxconn: this.options.dbMaxconn,
    };
  }

  /**
   * Before anything is served after a restart: grants of tenants no longer meant to be in their
   * pool are revoked, and pool containers no membership record explains are removed.
   * The caller holds no locks: nothing is served yet.
   */
  async restore(desired: readonly TenantServeSpec[]): Promise<void> {
    const wanted = new Map(desired.map((spec) => [spec.tenantId, spec]));
    for (const pool of [...this.pools.values()]) {
      for (const member of [...pool.members.values()]) {
        if (this.belongs(pool, member, wanted.get(member.tenantId))) continue;
        this.logger.info(
          { pool: pool.identity.name, tenantId: member.tenantId },
          'revoking a pool grant of a tenant no longer served there',
        );
        await this.leave(pool, member.tenantId).catch((error: unknown) =>
          this.logger.error({ pool: pool.identity.name, tenantId: member.tenantId, err: error }, 'could not revoke a stale pool grant'),
        );
      }
    }
    const containers = await this.engine.docker.listContainers({
      all: true,
      filters: { label: [...ownedFilter(this.engine.settings).label, `${LABELS.kind}=pool`] },
    });
    for (const container of containers) {
      const name = container.Labels[LABELS.pool];
      if (name && this.pools.has(name)) continue;
      this.logger.info({ container: container.Names[0] }, 'removing the container of a pool without tenants');
      await this.engine.removeContainer(container.Id);
      if (name) await this.engine.removeNetwork(poolNames(this.engine.settings, name).network);
    }
  }

  private belongs(pool: Pool, member: PoolMemberRecord, spec: TenantServeSpec | undefined): boolean {
    return (
      spec?.processStrategy === 'pool' &&
      spec.databaseServerId === pool.identity.databaseServerId &&
      seriesOf(this.engine.settings, spec) === pool.identity.series &&
      spec.tenantRole.user === member.roleName &&
      spec.databaseName === member.databaseName
    );
  }

  /** Serves a pool tenant (the caller holds the tenant's lock and one per database server). */
  async serve(spec: TenantServeSpec): Promise<Upstream> {
    validateSpec(spec, this.options.dbfilter);
    const current = this.poolOf(spec.tenantId);
    if (current && !this.belongs(current, current.members.get(spec.tenantId) as PoolMemberRecord, spec)) {
      await this.leave(current, spec.tenantId);
    }
    const pool = this.poolOf(spec.tenantId) ?? this.place(spec);
    // Recorded before the grant: a crash right after it leaves a record that restore() revokes.
    pool.members.set(spec.tenantId, { tenantId: spec.tenantId, roleName: spec.tenantRole.user, databaseName: spec.databaseName });
    pool.limits.set(spec.tenantId, spec.limits);
    this.save();
    let credentials: DatabaseCredentials;
    try {
      credentials = await this.options.poolAccess.poolCredentials(pool.identity.databaseServerId, pool.identity.name);
      await this.options.poolAccess.grantTenant(pool.identity.databaseServerId, pool.identity.name, spec.tenantRole.user);
      await this.engine.ensureFilestore(spec.databaseName);
    } catch (error) {
      await this.leave(pool, spec.tenantId);
      throw error;
    }
    const upstream = await this.ensureRunning(pool, credentials);
    this.served.set(spec.tenantId, { pool: pool.identity.name, spec });
    return upstream;
  }

  /** Stops serving a tenant: its grant is revoked; the pool goes with its last tenant. */
  async unserve(tenantId: string): Promise<void> {
    this.served.delete(tenantId);
    const pool = this.poolOf(tenantId);
    if (pool) await this.leave(pool, tenantId);
  }

  has(tenantId: string): boolean {
    return this.poolOf(tenantId) !== undefined;
  }

  upstream(tenantId: string): Upstream | undefined {
    const served = this.served.get(tenantId);
    return served ? this.pools.get(served.pool)?.upstream : undefined;
  }

  /** The databases server a tenant's pool is on, for the caller's per-server lock. */
  serverOf(tenantId: string): string | undefined {
    return this.poolOf(tenantId)?.identity.databaseServerId;
  }

  async status(tenantId: string): Promise<WorkloadStatus | undefined> {
    const served = this.served.get(tenantId);
    const pool = served ? this.pools.get(served.pool) : undefined;
    if (!pool) return undefined;
    return this.engine.workloadStatus(pool.names.web, pool.identity.name);
  }

  /** The tenant's records of its pool's log (a pool's log is shared: only its own database's). */
  async logs(tenantId: string, count: number, window: number): Promise<string[]> {
    const served = this.served.get(tenantId);
    const pool = served ? this.pools.get(served.pool) : undefined;
    if (!served || !pool) return [];
    const lines = await this.engine.logLines(pool.names.web, window);
    return lastLines(linesOfDatabase(lines, served.spec.databaseName), count);
  }

  /** A plan change of a pool tenant: the pool's limits follow at once, without a restart. */
  async updateLimits(tenantId: string, limits: { cpu: number; memoryMiB: number }): Promise<void> {
    const pool = this.poolOf(tenantId);
    if (!pool) return;
    pool.limits.set(tenantId, limits);
    const served = this.served.get(tenantId);
    if (served) served.spec = { ...served.spec, limits };
    await this.applyLimits(pool);
  }

  async sharedWorkloads(): Promise<SharedWorkloadView[]> {
    return Promise.all(
      [...this.pools.values()].map(async (pool) => ({
        name: pool.identity.name,
        databaseServerId: pool.identity.databaseServerId,
        odooSeries: pool.identity.series,
        databaseRole: this.options.poolAccess.roleOf(pool.identity.name),
        tenants: [...pool.members.values()].map((member) => ({ tenantId: member.tenantId, databaseName: member.databaseName })),
        processes: await Promise.all(
          UNITS.map(async (unit) => {
            const info = await this.engine.inspectContainer(pool.names[unit]);
            if (!info) return { unit, state: 'stopped' as const, processes: 0 };
            const memoryBytes = info.State.Running ? await this.engine.memoryBytes(pool.names[unit]) : undefined;
            return {
              unit,
              state: containerState(info).state,
              ...(info.State.Pid ? { pid: info.State.Pid } : {}),
              processes: info.State.Running ? 1 : 0,
              ...(memoryBytes ? { memoryBytes } : {}),
            };
          }),
        ),
        connectionBudget: this.options.dbMaxconn * UNITS.length,
      })),
    );
  }

  /** Containers keep running while the platform is down; memberships stay recorded. */
  stop(): void {
    this.served.clear();
  }

  // --- internals ---

  private poolOf(tenantId: string): Pool | undefined {
    for (const pool of this.pools.values()) if (pool.members.has(tenantId)) return pool;
    return undefined;
  }

  private place(spec: TenantServeSpec): Pool {
    const series = seriesOf(this.engine.settings, spec);
    const summaries = [...this.pools.values()].map((pool) => ({
      name: pool.identity.name,
      databaseServerId: pool.identity.databaseServerId,
      series: pool.identity.series,
      tenantCount: pool.members.size,
    }));
    const choice = choosePool(summaries, spec.databaseServerId, this.options.maxTenants, series, DOCKER_POOL_PREFIX);
    const existing = this.pools.get(choice.name);
    if (existing) return existing;
    const identity = { name: choice.name, databaseServerId: spec.databaseServerId, series };
    const pool: Pool = { identity, names: poolNames(this.engine.settings, choice.name), members: new Map(), limits: new Map() };
    this.pools.set(choice.name, pool);
    this.logger.info(identity, 'new Odoo pool on Docker');
    return pool;
  }

  /** The pool's network and containers, made or adopted, with the limits of its tenants now; its web upstream once healthy. */
  private async ensureRunning(pool: Pool, credentials: DatabaseCredentials): Promise<Upstream> {
    const { engine } = this;
    const fingerprint = poolFingerprint(engine.settings, pool.identity, credentials, this.odoo);
    const gateway = await engine.ensureNetwork(poolNetworkSpec(engine.settings, pool.names, pool.identity));
    const wanted = poolLimits([...pool.limits.values()]);
    const limits = { web: await engine.fit(wanted.web), cron: await engine.fit(wanted.cron) };
    const reachable = { ...credentials, host: containerDatabaseHost(engine.settings, credentials, gateway) };
    for (const unit of UNITS) {
      const name = pool.names[unit];
      let info = await engine.inspectContainer(name);
      if (info && info.Config.Labels[LABELS.fingerprint] !== fingerprint) {
        this.logger.info({ pool: pool.identity.name, container: name }, 'replacing a pool container made for another image or database');
        await engine.removeContainer(name);
        info = undefined;
      }
      info ??= await engine.createContainer(unit === 'web' ? (this.odoo.workers > 0 ? 2 : 1) : 0, (hostPorts) =>
        poolContainerSpec(engine.settings, pool.names, pool.identity, unit, fingerprint, limits[unit], publishedPorts(hostPorts)),
      );
      await engine.applyLimits(info, limits[unit]);
      if (!info.State.Running) {
        await engine.startWithConfig(name, poolOdooConfig(unit, this.odoo, reachable, randomBytes(24).toString('base64url')));
        this.logger.info({ pool: pool.identity.name, container: name }, `pool ${unit} container started`);
      }
    }
    await engine.waitRunning(pool.names.cron);
    pool.upstream = await engine.waitHealthy(
      pool.names.web,
      `pool ${pool.identity.name}`,
      this.options.healthTimeoutMs,
      Math.max(1, this.odoo.workers),
    );
    return pool.upstream;
  }

  private async applyLimits(pool: Pool): Promise<void> {
    if (pool.limits.size === 0) return;
    const limits = poolLimits([...pool.limits.values()]);
    for (const unit of UNITS) {
      const info = await this.engine.inspectContainer(pool.names[unit]);
      if (info && (await this.engine.applyLimits(info, limits[unit]))) {
        this.logger.info({ pool: pool.identity.name, unit, ...limits[unit] }, 'new limits applied to the running pool container');
      }
    }
  }

  private async leave(pool: Pool, tenantId: string): Promise<void> {
    const member = pool.members.get(tenantId);
    if (member) {
      await this.options.poolAccess.revokeTenant(pool.identity.databaseServerId, pool.identity.name, member.roleName);
      pool.members.delete(tenantId);
      pool.limits.delete(tenantId);
      this.served.delete(tenantId);
      this.save();
    }
    if (pool.members.size === 0) {
      this.logger.info({ pool: pool.identity.name, tenantId }, `removing Odoo pool ${pool.identity.name}: its last tenant left`);
      for (const unit of UNITS) await this.engine.removeContainer(pool.names[unit]);
      await this.engine.removeNetwork(pool.names.network);
      this.pools.delete(pool.identity.name);
      this.save();
    } else {
      await this.applyLimits(pool);
    }
  }

  private save(): void {
    saveRuntimeState(this.options.stateFile, {
      version: 1,
      pools: [...this.pools.values()].map((pool) => ({
        name: pool.identity.name,
        databaseServerId: pool.identity.databaseServerId,
        series: pool.identity.series,
        tenants: [...pool.members.values()],
      })),
    });
  }
}
