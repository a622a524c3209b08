/**
 * The `process` runtime: real odoo-bin processes on this host.
 *
 * - Pools (`processStrategy: 'pool'`): one multi-database Odoo per group of up to
 *   `poolMaxTenants` tenants of one database server and one Odoo series (the `odooFor` option
 *   gives each series' odoo-bin: several series run side by side); the request's host selects the database
 *   (the `poolDbfilter` option) and the pool's database role reaches only the databases of its tenants
 *   (PoolAccess). A cron-only process per pool keeps cron work off the web workers.
 * - Dedicated (`processStrategy: 'dedicated'`): one Odoo per tenant, with the tenant's own role,
 *   its database only, and the plan's limits.
 *
 * Every process is supervised (see supervisor.ts); pool memberships are recorded on disk so that
 * a restarted platform puts tenants back where their grants are (see state-file.ts).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { detectOdooVersion, odooEnvironment } from '../../odoo/index.js';
import type { Runtime, SharedWorkloadView, TenantServeSpec, Upstream, WorkloadMetrics, WorkloadStatus } from '../types.js';
import { detectResourceLimiter, disabledResourceLimiter, type ResourceLimiter } from './cgroups.js';
import { connectionCosts } from './connection-budget.js';
import { KeyedLock } from './keyed-lock.js';
import { killLeftovers } from './leftovers.js';
import { readTailLines } from './log-file.js';
import { lastLines, linesOfDatabase } from './log-filter.js';
import {
  connectionShapeOf,
  type OdooCommand,
  type ProcessRuntimeOptions,
  type ResolvedProcessRuntimeOptions,
  resolveProcessRuntimeOptions,
} from './options.js';
import { linkPlatformAddons } from './platform-addons.js';
import { choosePool } from './pool-placement.js';
import { PortAllocator } from './ports.js';
import { dedicatedFingerprint, inBatches, validateSpec } from './serve-spec-checks.js';
import { loadRuntimeState, type PoolMemberRecord, type PoolRecord, saveRuntimeState } from './state-file.js';
import type { Workload, WorkloadDeps } from './workload.js';
import { createDedicatedWorkload, createPoolWorkload } from './workload-builders.js';

export const DEFAULT_LOG_LINES = 100;
export const MAX_LOG_LINES = 10_000;

export interface ProcessRuntime extends Runtime {
  readonly kind: 'process';
  /** How OS limits are applied on this host (`none`: Odoo's own limits only). */
  readonly resourceLimits: { mechanism: ResourceLimiter['mechanism']; detail: string };
}

interface Pool {
  name: string;
  databaseServerId: string;
  /** The series its processes run; absent for a pool recorded before series: the default series. */
  series?: string | undefined;
  tenants: Map<string, PoolMemberRecord>;
  /** Absent while the pool has no processes (not started yet, or stopped with the platform). */
  workload?: Workload;
}

type Served =
  | { kind: 'pool'; spec: TenantServeSpec; pool: string; ready: boolean }
  | { kind: 'dedicated'; spec: TenantServeSpec; workload: Workload; fingerprint: string; ready: boolean };

class ProcessRuntimeImpl implements ProcessRuntime {
  readonly kind = 'process' as const;
  readonly resourceLimits: { mechanism: ResourceLimiter['mechanism']; detail: string };
  private readonly options: ResolvedProcessRuntimeOptions;
  private readonly deps: WorkloadDeps;
  private readonly pools = new Map<string, Pool>();
  private readonly served = new Map<string, Served>();
  private readonly lock = new KeyedLock();
  private readonly statePath: string;
  private leftoversHandled = false;
  /** Per series: linked once, again after a failure. */
  private readonly platformAddonsLinked = new Map<string, Promise<void>>();
  private defaultOdoo: Promise<OdooCommand> | undefined;

  constructor(options: ProcessRuntimeOptions) {
    this.options = resolveProcessRuntimeOptions(options);
    const { logger } = this.options;
    mkdirSync(this.options.workDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.options.odooDataDir, { recursive: true, mode: 0o700 });
    this.statePath = join(this.options.workDir, 'state.json');
    const limiter =
      this.options.cgroups === false ? disabledResourceLimiter('disabled by configuration') : detectResourceLimiter(this.options.cgroups);
    this.resourceLimits = { mechanism: limiter.mechanism, detail: limiter.detail };
    logger.info(
      this.resourceLimits,
      limiter.mechanism === 'none'
        ? "process runtime: no OS resource limits, only Odoo's own limit_memory_*"
        : `process runtime: OS resource limits through ${limiter.mechanism}`,
    );
    this.deps = {
      options: this.options,
      ports: new PortAllocator(this.options.httpInterface, this.options.portRange),
      limiter,
      env: odooEnvironment(process.env, this.options.env),
    };
    for (const record of loadRuntimeState(this.statePath).pools) {
      this.pools.set(record.name, {
        name: record.name,
        databaseServerId: record.databaseServerId,
        series: record.series,
        tenants: new Map(record.tenants.map((member) => [member.tenantId, member])),
      });
    }
  }

  async start(): Promise<Array<{ tenantId: string; upstream: Upstream }>> {
    const { logger } = this.options;
    if (!this.leftoversHandled) {
      const keep = new Set(this.allWorkloads().flatMap((workload) => workload.pids()));
      await killLeftovers(this.options.workDir, { graceMs: this.options.stopGraceMs, clock: this.options.clock, logger, keep });
      this.leftoversHandled = true;
    }
    const desired = await this.options.desiredTenants();
    await this.revokeUndesiredMemberships(desired);
    const failures: string[] = [];
    const restored: Array<{ tenantId: string; upstream: Upstream }> = [];
    await inBatches(desired, this.options.restoreConcurrency, async (spec) => {
      try {
        restored.push({ tenantId: spec.tenantId, upstream: await this.serve(spec) });
      } catch (error) {
        failures.push(spec.tenantId);
        logger.error({ tenantId: spec.tenantId, err: error }, 'could not restore the tenant; its processes keep being retried');
      }
    });
    logger.info({ tenants: desired.length, failed: failures.length }, 'process runtime restored its workloads');
    return restored;
  }

  async serve(spec: TenantServeSpec): Promise<Upstream> {
    validateSpec(spec, this.options.poolDbfilter);
    return this.lock.run(`tenant:${spec.tenantId}`, async () => {
      // The tenant's series decides its odoo-bin and its pool; a series that cannot run fails here, saying why.
      const odoo = await this.commandFor(spec.odooSeries);
      const current = this.served.get(spec.tenantId);
      const member = this.poolOf(spec.tenantId);
      const samePool =
        spec.processStrategy === 'pool' &&
        member !== undefined &&
        member.pool.databaseServerId === spec.databaseServerId &&
        (await this.seriesOf(member.pool)) === odoo.series &&
        member.record.roleName === spec.tenantRole.user &&
        member.record.databaseName === spec.databaseName;
      const sameDedicated =
        spec.processStrategy === 'dedicated' && current?.kind === 'dedicated' && current.fingerprint === fingerprintOf(spec, odoo);
      // A tenant that moves (pool <-> dedicated, another server, another role) leaves first.
      if ((member && !samePool) || (current?.kind === 'dedicated' && !sameDedicated)) await this.detach(spec.tenantId);
      return spec.processStrategy === 'pool' ? this.servePoolTenant(spec, odoo) : this.serveDedicated(spec, odoo);
    });
  }

  async unserve(tenantId: string): Promise<void> {
    await this.lock.run(`tenant:${tenantId}`, () => this.detach(tenantId));
  }

  upstream(tenantId: string): Upstream | undefined {
    const served = this.served.get(tenantId);
    if (!served?.ready) return undefined;
    return this.workloadOf(served)?.upstream;
  }

  async status(tenantId: string): Promise<WorkloadStatus | undefined> {
    const served = this.served.get(tenantId);
    if (!served) return undefined;
    const workload = this.workloadOf(served);
    const name = served.kind === 'pool' ? served.pool : (workload?.name ?? '');
    if (!workload) return { state: 'stopped', workload: name, restarts: 0 };
    const { state, pid, restarts, lastExitReason, memoryBytes } = workload.status();
    return { state, workload: name, pid, restarts, lastExitReason, memoryBytes };
  }

  async logs(tenantId: string, options: { lines?: number } = {}): Promise<string[]> {
    const served = this.served.get(tenantId);
    const workload = served ? this.workloadOf(served) : undefined;
    if (!served || !workload) return [];
    const count = Math.min(MAX_LOG_LINES, Math.max(1, Math.floor(options.lines ?? DEFAULT_LOG_LINES)));
    const lines = readTailLines(workload.logFile);
    // A pool's log is shared: a tenant sees only the records of its own database.
    return lastLines(served.kind === 'pool' ? linesOfDatabase(lines, served.spec.databaseName) : lines, count);
  }

  sharedWorkloads(): SharedWorkloadView[] {
    const { perPool } = connectionCosts(connectionShapeOf(this.options));
    return [...this.pools.values()].map((pool) => ({
      name: pool.name,
      databaseServerId: pool.databaseServerId,
      ...(pool.series ? { odooSeries: pool.series } : {}),
      databaseRole: this.options.poolAccess.roleOf(pool.name),
      tenants: [...pool.tenants.values()].map((member) => ({ tenantId: member.tenantId, databaseName: member.databaseName })),
      processes: pool.workload?.processes() ?? [],
      connectionBudget: perPool,
      ...this.webWorkersOf(pool),
    }));
  }

  private webWorkersOf(pool: Pool): Pick<SharedWorkloadView, 'webWorkers'> {
    const status = pool.workload?.webWorkers();
    return status ? { webWorkers: { min: this.options.poolWorkersMin, max: this.options.poolWorkers, ...status } } : {};
  }

  /**
   * A plan change of a dedicated tenant: the kernel applies new cgroup limits to its running Odoo
   * at once. Pool tenants share their pool's limits, and a tenant not served here takes the plan's
   * limits at its next start, as do Odoo's own limit_memory_* (they are in its configuration file).
   */
  async updateLimits(tenantId: string, limits: { cpu: number; memoryMiB: number }): Promise<void> {
    await this.lock.run(`tenant:${tenantId}`, async () => {
      const served = this.served.get(tenantId);
      if (served?.kind !== 'dedicated') return;
      const applied = served.workload.setLimits({ cpu: limits.cpu, memoryBytes: limits.memoryMiB * 1024 * 1024 });
      this.options.logger.info(
        { tenantId, workload: served.workload.name, ...limits },
        applied ? 'new OS limits applied to the running dedicated Odoo' : 'no cgroup for this Odoo: the new limits apply at its next start',
      );
    });
  }

  workloadMetrics(): WorkloadMetrics[] {
    const pools = [...this.pools.values()].flatMap((pool) =>
      pool.workload ? [{ kind: 'pool' as const, name: pool.name, tenantIds: [...pool.tenants.keys()], ...pool.workload.metrics() }] : [],
    );
    const dedicated = [...this.served.entries()].flatMap(([tenantId, served]) =>
      served.kind === 'dedicated'
        ? [{ kind: 'dedicated' as const, name: tenantId, tenantIds: [tenantId], ...served.workload.metrics() }]
        : [],
    );
    return [...pools, ...dedicated];
  }

  async stop(): Promise<void> {
    // Pool memberships (and their grants) stay: the tenants are still meant to be served when
    // the platform comes back, and start() restores them into the same pools.
    // No locks taken: a serve() waiting for a process to become healthy would hold them for up
    // to the health timeout; stopping the process makes that wait fail at once instead.
    const stops = [...this.pools.values()].map((pool) => this.stopPoolProcesses(pool, 'the platform is shutting down'));
    const dedicated = [...this.served.values()].flatMap((served) => (served.kind === 'dedicated' ? [served.workload] : []));
    await Promise.all([...stops, ...dedicated.map((workload) => workload.stop())]);
    this.served.clear();
    this.deps.limiter.release();
  }

  // --- pools ---

  private async servePoolTenant(spec: TenantServeSpec, odoo: OdooCommand): Promise<Upstream> {
    return this.lock.run(`server:${spec.databaseServerId}`, async () => {
      const { poolAccess } = this.options;
      const pool = this.poolOf(spec.tenantId)?.pool ?? (await this.placeInPool(spec, odoo.series));
      const roleName = spec.tenantRole.user;
      // Recorded before the grant: a crash right after it leaves a record that start() revokes.
      pool.tenants.set(spec.tenantId, { tenantId: spec.tenantId, roleName, databaseName: spec.databaseName });
      this.saveState();
      const served: Served = { kind: 'pool', spec, pool: pool.name, ready: false };
      this.served.set(spec.tenantId, served);
      try {
        // Creating the workload asks for the pool's credentials, which creates its role: that
        // comes before the first grant to it.
        pool.workload ??= await this.linkPlatformAddons(odoo.series).then(() => createPoolWorkload(this.deps, this.options, pool, odoo));
        await poolAccess.grantTenant(pool.databaseServerId, pool.name, roleName);
      } catch (error) {
        pool.tenants.delete(spec.tenantId);
        if (pool.tenants.size === 0) {
          await this.stopPoolProcesses(pool, 'its first tenant could not be attached');
          this.pools.delete(pool.name);
        }
        this.saveState();
        this.served.delete(spec.tenantId);
        throw error;
      }
      // stop() (the platform shutting down) does not wait for this lock and may have stopped the
      // pool during the grant: say so instead of failing on the missing workload.
      if (!pool.workload) throw new Error(`Odoo pool ${pool.name} was stopped while tenant ${spec.tenantId} was being attached`);
      const upstream = await pool.workload.ensureRunning();
      served.ready = true;
      return upstream;
    });
  }

  private async placeInPool(spec: TenantServeSpec, series: string): Promise<Pool> {
    const summaries = [];
    for (const pool of this.pools.values()) {
      summaries.push({
        name: pool.name,
        databaseServerId: pool.databaseServerId,
        series: await this.seriesOf(pool),
        tenantCount: pool.tenants.size,
      });
    }
    const choice = choosePool(summaries, spec.databaseServerId, this.options.poolMaxTenants, series);
    const existing = this.pools.get(choice.name);
    if (existing) return existing;
    const pool: Pool = { name: choice.name, databaseServerId: spec.databaseServerId, series, tenants: new Map() };
    this.pools.set(pool.name, pool);
    this.options.logger.info({ pool: pool.name, databaseServerId: pool.databaseServerId, series }, 'new Odoo pool');
    return pool;
  }

  /**
   * The Odoo of a series: `odooFor` when series run side by side, else `odooBin` (its series
   * asked once with `odoo-bin --version`, again after a failure).
   */
  private commandFor(series: string | undefined): Promise<OdooCommand> {
    if (this.options.odooFor) return this.options.odooFor(series);
    const bin = this.options.odooBin as string;
    this.defaultOdoo ??= detectOdooVersion({ bin })
      .then((detected) => ({ bin, addonsPath: this.options.addonsPath, series: detected }))
      .catch((error: unknown) => {
        this.defaultOdoo = undefined;
        throw error;
      });
    return this.defaultOdoo;
  }

  /** A pool's series; a pool recorded before series runs the default series. */
  private async seriesOf(pool: Pool): Promise<string> {
    pool.series ??= await this.commandFor(undefined)
      .then((odoo) => odoo.series)
      .catch(() => undefined);
    return pool.series ?? '';
  }

  /** Before the first Odoo process of a series: its server-wide modules must be where Odoo looks (once; again after a failure). */
  private linkPlatformAddons(series: string): Promise<void> {
    let linked = this.platformAddonsLinked.get(series);
    if (!linked) {
      linked = linkPlatformAddons(this.options.odooDataDir, series).then(
        (directory) => this.options.logger.info({ directory, series }, "the platform's Odoo addons are linked into Odoo's data_dir"),
        (error: unknown) => {
          this.platformAddonsLinked.delete(series);
          throw error;
        },
      );
      this.platformAddonsLinked.set(series, linked);
    }
    return linked;
  }

  private async leavePool(pool: Pool, tenantId: string): Promise<void> {
    const member = pool.tenants.get(tenantId);
    if (member) {
      await this.options.poolAccess.revokeTenant(pool.databaseServerId, pool.name, member.roleName);
      pool.tenants.delete(tenantId);
      this.saveState();
    }
    if (pool.tenants.size === 0) {
      await this.stopPoolProcesses(pool, `its last tenant (${tenantId}) left`);
      this.pools.delete(pool.name);
      this.saveState();
    }
  }

  private async stopPoolProcesses(pool: Pool, reason: string): Promise<void> {
    const workload = pool.workload;
    if (!workload) return;
    this.options.logger.info({ pool: pool.name, reason }, `stopping Odoo pool ${pool.name}: ${reason}`);
    pool.workload = undefined;
    await workload.stop();
  }

  /**
   * Grants recorded for tenants that are no longer meant to be in that pool (deleted, moved to
   * another strategy or server while the platform was down) are revoked before anything starts.
   */
  private async revokeUndesiredMemberships(desired: readonly TenantServeSpec[]): Promise<void> {
    const wanted = new Map(desired.map((spec) => [spec.tenantId, spec]));
    for (const pool of [...this.pools.values()]) {
      await this.lock.run(`server:${pool.databaseServerId}`, async () => {
        for (const member of [...pool.tenants.values()]) {
          const spec = wanted.get(member.tenantId);
          const specSeries = spec
            ? await this.commandFor(spec.odooSeries).then(
                (o) => o.series,
                () => undefined,
              )
            : undefined;
          const stillWanted =
            this.served.has(member.tenantId) ||
            (spec?.processStrategy === 'pool' &&
              spec.databaseServerId === pool.databaseServerId &&
              // A series that cannot run now keeps its grant: the tenant is restored there once it can.
              (specSeries === undefined || specSeries === (await this.seriesOf(pool))) &&
              spec.tenantRole.user === member.roleName &&
              spec.databaseName === member.databaseName);
          if (stillWanted) continue;
          this.options.logger.info(
            { pool: pool.name, tenantId: member.tenantId },
            'revoking a pool grant of a tenant no longer served there',
          );
          try {
            await this.leavePool(pool, member.tenantId);
          } catch (error) {
            this.options.logger.error({ pool: pool.name, tenantId: member.tenantId, err: error }, 'could not revoke a stale pool grant');
          }
        }
      });
    }
  }

  // --- dedicated processes ---

  private async serveDedicated(spec: TenantServeSpec, odoo: OdooCommand): Promise<Upstream> {
    const current = this.served.get(spec.tenantId);
    if (current?.kind === 'dedicated') {
      current.spec = spec;
      const upstream = await current.workload.ensureRunning();
      current.ready = true;
      return upstream;
    }
    if (spec.replicas > 1) {
      this.options.logger.info(
        { tenantId: spec.tenantId, replicas: spec.replicas },
        'the process runtime runs one process per dedicated tenant; replicas are honoured by the kubernetes runtime only',
      );
    }
    const workload = await this.linkPlatformAddons(odoo.series).then(() => createDedicatedWorkload(this.deps, this.options, spec, odoo));
    const served: Served = { kind: 'dedicated', spec, workload, fingerprint: fingerprintOf(spec, odoo), ready: false };
    this.served.set(spec.tenantId, served);
    const upstream = await workload.ensureRunning();
    served.ready = true;
    return upstream;
  }

  // --- shared helpers ---

  /** Stops serving: leaves the pool (revoking access) or stops the dedicated process. */
  private async detach(tenantId: string): Promise<void> {
    const served = this.served.get(tenantId);
    const member = this.poolOf(tenantId);
    if (member) await this.lock.run(`server:${member.pool.databaseServerId}`, () => this.leavePool(member.pool, tenantId));
    if (served?.kind === 'dedicated') {
      this.options.logger.info({ tenantId, workload: served.workload.name }, 'stopping dedicated Odoo');
      await served.workload.stop();
    }
    this.served.delete(tenantId);
  }

  private poolOf(tenantId: string): { pool: Pool; record: PoolMemberRecord } | undefined {
    for (const pool of this.pools.values()) {
      const record = pool.tenants.get(tenantId);
      if (record) return { pool, record };
    }
    return undefined;
  }

  private workloadOf(served: Served): Workload | undefined {
    return served.kind === 'pool' ? this.pools.get(served.pool)?.workload : served.workload;
  }

  private allWorkloads(): Workload[] {
    const pools = [...this.pools.values()].flatMap((pool) => pool.workload ?? []);
    const dedicated = [...this.served.values()].flatMap((served) => (served.kind === 'dedicated' ? [served.workload] : []));
    return [...pools, ...dedicated];
  }

  private saveState(): void {
    const pools: PoolRecord[] = [...this.pools.values()].map((pool) => ({
      name: pool.name,
      databaseServerId: pool.databaseServerId,
      ...(pool.series ? { series: pool.series } : {}),
      tenants: [...pool.tenants.values()],
    }));
    saveRuntimeState(this.statePath, { version: 1, pools });
  }
}

/** What a dedicated process is made from, its Odoo included: another series (or odoo-bin) restarts it. */
function fingerprintOf(spec: TenantServeSpec, odoo: OdooCommand): string {
  return `${dedicatedFingerprint(spec)}|${odoo.series}|${odoo.bin}`;
}

/** The `process` runtime (see the module comment). Call start() before serving. */
export function createProcessRuntime(options: ProcessRuntimeOptions): ProcessRuntime {
  return new ProcessRuntimeImpl(options);
}
