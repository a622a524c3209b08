import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { lastVerifiedPerTenant } from './backups/index.js';
import type { Config } from './config/index.js';
import type { Db } from './db/index.js';
import { certificateExpiriesPerTenant } from './domains/index.js';
import type { GatewayOptions } from './gateway/index.js';
import { hibernatedAmong } from './hibernation/index.js';
import type { JobQueue } from './jobs/index.js';
import type { Logger } from './logging/index.js';
import { type Metrics, registerPlatformMetrics } from './metrics/index.js';
import { type RuntimeRegistry, recordedUpstreams } from './runtimes/index.js';
import { tenantsForMetrics } from './tenants/index.js';

/** The gateway's hooks that count each tenant's traffic and upstream failures. */
export function gatewayMetrics(metrics: Metrics): Pick<GatewayOptions, 'onProxied' | 'onUpstreamFailure'> {
  return {
    onProxied: (_name, status, ms, traffic) =>
      metrics.observeGatewayRequest(traffic.tenantId, { status, seconds: ms / 1000, bytesIn: traffic.bytesIn, bytesOut: traffic.bytesOut }),
    onUpstreamFailure: (route, failure) => metrics.observeUpstreamError(route.tenantId, failure),
  };
}

/**
 * Composition of monitoring: the hourly pruning of job logs, the scrape-time metrics read from their owners (jobs, tenants,
 * backups, domains, runtimes), and the internal listener (METRICS_ADDRESS) that serves `/metrics`
 * without a token to whoever reaches that address (a private interface, a sidecar Prometheus).
 */
export async function startMonitoring(deps: {
  config: Pick<Config, 'metricsAddress' | 'dataDir' | 'runWorkers'>;
  db: Db;
  jobs: JobQueue;
  runtimes: RuntimeRegistry;
  metrics: Metrics;
  logger: Logger;
}): Promise<{ url: string | undefined; stop(): Promise<void> }> {
  const { db, metrics } = deps;
  registerPlatformMetrics(
    metrics.registry,
    metrics.tenantLabels,
    {
      jobCounts: () => deps.jobs.counts(),
      tenants: () => tenantsForMetrics(db),
      lastVerifiedBackups: () => lastVerifiedPerTenant(db),
      async unservedAmong(runningIds) {
        const served = await recordedUpstreams(db);
        const unserved = runningIds.filter((id) => !served.has(id));
        const asleep = unserved.length > 0 ? await hibernatedAmong(db, unserved) : new Set<string>();
        return unserved.filter((id) => !asleep.has(id)).length;
      },
      certificateExpiries: () => certificateExpiriesPerTenant(db),
      workloads: () => deps.runtimes.all().flatMap((runtime) => runtime.workloadMetrics?.() ?? []),
      dataDir: deps.config.dataDir,
    },
    (tenantIds) => metrics.forgetTenants(tenantIds),
  );
  await deps.jobs.define(
    'job-logs-prune',
    async () => {
      const pruned = await deps.jobs.pruneLogs();
      if (pruned > 0) deps.logger.info({ pruned }, 'job log records past their retention deleted');
    },
    deps.config.runWorkers,
  );
  const address = deps.config.metricsAddress;
  if (!address) return { url: undefined, stop: async () => {} };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Only GET /metrics is served here.\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (error: unknown) => {
        deps.logger.error({ err: error }, 'collecting the metrics failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('Collecting the metrics failed; see the platform log.\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new Error(`METRICS_ADDRESS ${address.host}:${address.port} cannot be listened on: ${error.message}`)),
    );
    server.listen(address.port, address.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${address.host.includes(':') ? `[${address.host}]` : address.host}:${port}/metrics`;
  deps.logger.info({ url }, 'metrics served on the internal listener');
  return {
    url,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
