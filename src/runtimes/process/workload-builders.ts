/**
 * How the process runtime's workloads are made: a pool's web (and cron) process, or a tenant's
 * dedicated process, each with its ports, cgroup, log file and Odoo configuration reserved.
 */
import type { TenantServeSpec, Upstream } from '../types.js';
import { dedicatedConfig, type PoolProcessSettings, poolCronConfig, poolWebConfig } from './config.js';
import type { OdooCommand, ResolvedProcessRuntimeOptions } from './options.js';
import { scalingEnabled } from './worker-scaling.js';
import { randomAdminPassword, releaseWorkload, reserveWorkload, type UnitDefinition, Workload, type WorkloadDeps } from './workload.js';

const MIB = 1024 * 1024;

/** What a pool's processes are made from: its name and its database server. */
export interface PoolIdentity {
  name: string;
  databaseServerId: string;
}

/** Where the gateway reaches a workload: loopback when Odoo listens on every interface. */
function upstreamFor(httpInterface: string, httpPort: number, geventPort: number | undefined, workers: number): Upstream {
  const host = httpInterface === '0.0.0.0' || httpInterface === '::' ? '127.0.0.1' : httpInterface;
  const webWorkers = Math.max(1, workers);
  return geventPort === undefined ? { host, port: httpPort, webWorkers } : { host, port: httpPort, websocketPort: geventPort, webWorkers };
}

/** A pool's web process (and its cron process, when it has one of its own). */
export async function createPoolWorkload(
  deps: WorkloadDeps,
  options: ResolvedProcessRuntimeOptions,
  pool: PoolIdentity,
  odoo: OdooCommand,
): Promise<Workload> {
  const credentials = await options.poolAccess.poolCredentials(pool.databaseServerId, pool.name);
  const policy = { min: options.poolWorkersMin, max: options.poolWorkers, downAfterMs: options.poolScaleDownAfterMs };
  const load = options.poolLoad;
  const scaled = load !== undefined && scalingEnabled(policy);
  // Sized by load: Odoo starts with the minimum and is signalled up from there.
  const workers = scaled ? policy.min : options.poolWorkers;
  const resources = await reserveWorkload(deps, pool.name, {
    gevent: workers > 0,
    cronHttp: options.poolCronProcess,
    limits: {
      cpu: options.poolOsLimits.cpu,
      memoryBytes: options.poolOsLimits.memoryMiB === undefined ? undefined : options.poolOsLimits.memoryMiB * MIB,
    },
  });
  try {
    const settings: PoolProcessSettings = {
      credentials,
      dbfilter: options.poolDbfilter,
      httpInterface: options.httpInterface,
      httpPort: resources.ports.http,
      geventPort: resources.ports.gevent,
      workers,
      limitMemorySoftBytes: options.poolOdooMemoryMiB.soft * MIB,
      limitMemoryHardBytes: options.poolOdooMemoryMiB.hard * MIB,
      dbMaxconn: options.poolDbMaxconn,
      registryCacheSize: options.poolRegistryCacheSize,
      workerRecycleBytes: options.poolWorkerRecycleMiB === undefined ? undefined : Math.round(options.poolWorkerRecycleMiB * MIB),
      adminPassword: randomAdminPassword(),
      cronInWebProcess: !options.poolCronProcess,
      cronWorkers: options.poolCronWorkers,
      files: { dataDir: options.odooDataDir, logFile: resources.paths.logFile, addonsPath: odoo.addonsPath },
    };
    const upstream = upstreamFor(options.httpInterface, resources.ports.http, resources.ports.gevent, workers);
    const units: UnitDefinition[] = [{ unit: 'web', config: poolWebConfig(settings), healthCheck: true, command: odoo.bin }];
    if (options.poolCronProcess && resources.ports.cronHttp !== undefined) {
      units.push({ unit: 'cron', config: poolCronConfig(settings, resources.ports.cronHttp), healthCheck: false, command: odoo.bin });
    }
    return new Workload(
      pool.name,
      deps,
      resources,
      upstream,
      units,
      scaled ? { policy, startWorkers: workers, tickMs: options.poolScalingTickMs, load: () => load(upstream) } : undefined,
    );
  } catch (error) {
    releaseWorkload(deps, resources);
    throw error;
  }
}

/** A tenant's own Odoo process, with the plan's limits. */
export async function createDedicatedWorkload(
  deps: WorkloadDeps,
  options: ResolvedProcessRuntimeOptions,
  spec: TenantServeSpec,
  odoo: OdooCommand,
): Promise<Workload> {
  const name = `tenant-${spec.tenantName}`;
  const workers = options.dedicatedWorkers;
  const resources = await reserveWorkload(deps, name, {
    gevent: workers > 0,
    cronHttp: false,
    limits: { cpu: spec.limits.cpu, memoryBytes: spec.limits.memoryMiB * MIB },
  });
  try {
    const config = dedicatedConfig({
      spec,
      httpInterface: options.httpInterface,
      httpPort: resources.ports.http,
      geventPort: resources.ports.gevent,
      workers,
      dbMaxconn: options.dedicatedDbMaxconn,
      adminPassword: randomAdminPassword(),
      files: { dataDir: options.odooDataDir, logFile: resources.paths.logFile, addonsPath: odoo.addonsPath },
    });
    return new Workload(name, deps, resources, upstreamFor(options.httpInterface, resources.ports.http, resources.ports.gevent, workers), [
      { unit: 'web', config, healthCheck: true, command: odoo.bin },
    ]);
  } catch (error) {
    releaseWorkload(deps, resources);
    throw error;
  }
}
