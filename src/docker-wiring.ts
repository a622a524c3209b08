import { join } from 'node:path';
import type { Config } from './config/index.js';
import type { Logger } from './logging/index.js';
import {
  createDockerRuntime,
  type DockerRuntime,
  imageOf,
  PLATFORM_ADDONS_DIR,
  type PoolAccess,
  type TenantServeSpec,
} from './runtimes/index.js';

/**
 * The docker runtime when DOCKER_RUNTIME is on (docs/operations/docker.md), else none: the
 * registry then answers docker plans with a runtime whose serve says Docker is not enabled.
 * The engine is DOCKER_HOST's (dockerode reads it), else /var/run/docker.sock.
 */
export function dockerRuntimes(deps: {
  config: Config;
  odooDataDir: string;
  logger: Logger;
  /** Pool plans on Docker: the pools' database access (shared with the process runtime), dbfilter and db_maxconn. */
  pools: { poolAccess: PoolAccess; dbfilter: string; dbMaxconn: number };
  desiredTenants(): Promise<TenantServeSpec[]>;
}): DockerRuntime[] {
  const settings = deps.config.docker;
  if (!settings) return [];
  return [
    createDockerRuntime({
      instance: settings.instance,
      imageFor: (series) => imageOf(settings.imageTemplate, series),
      defaultSeries: deps.config.odooInstall.defaultSeries,
      healthCheck: ['CMD-SHELL', settings.healthCheck],
      odooDataDir: deps.odooDataDir,
      platformAddonsDir: PLATFORM_ADDONS_DIR,
      databaseHost: settings.databaseHost,
      logger: deps.logger.child({ runtime: 'docker' }),
      desiredTenants: deps.desiredTenants,
      // Per instance: two platforms sharing a data directory and an engine keep their pools apart.
      pools: { ...deps.pools, stateFile: join(deps.config.dataDir, 'runtime', `docker-pools-${settings.instance}.json`) },
    }),
  ];
}
