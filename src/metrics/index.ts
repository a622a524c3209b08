import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { createTenantLabels, DEFAULT_TENANT_LABEL_LIMIT } from './labels.js';

export { createTenantLabels, DEFAULT_TENANT_LABEL_LIMIT, foldByLabel, OTHER_TENANTS, type TenantLabels } from './labels.js';
export { type PlatformMetricSources, registerPlatformMetrics } from './platform.js';
export { histogramSamples, registerSnapshotMetric, type Sample, sharedRead } from './snapshot.js';

/** Status classes of the gateway's request counter (a fixed set: freed tenants' series are removed by it). */
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
/** How the gateway fails to reach an upstream (gateway/proxy.ts). */
export const UPSTREAM_FAILURES = ['connect_timeout', 'idle_timeout', 'unreachable', 'reset'] as const;

/** The platform's Prometheus registry and the metrics every module shares. */
export function createMetrics(options: { tenantLabelLimit?: number } = {}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'saas_' });
  const tenantLabels = createTenantLabels(options.tenantLabelLimit ?? DEFAULT_TENANT_LABEL_LIMIT);
  const httpRequests = new Counter({
    name: 'saas_http_requests_total',
    help: 'HTTP requests served by the API, by method, route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'saas_http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const authEvents = new Counter({
    name: 'saas_auth_events_total',
    help: 'Authentication events (login success/failure, refresh, reuse detected, rate limited)',
    labelNames: ['event'] as const,
    registers: [registry],
  });
  const backupResults = new Counter({
    name: 'saas_backups_total',
    help: 'Backups finished, by outcome (verified, failed) and storage (local, s3)',
    labelNames: ['outcome', 'storage'] as const,
    registers: [registry],
  });
  const backupDuration = new Histogram({
    name: 'saas_backup_duration_seconds',
    help: 'Time from the start of a backup to its verification, in seconds',
    buckets: [1, 5, 15, 60, 300, 900, 1800, 3600, 7200],
    registers: [registry],
  });
  const backupTestRestores = new Counter({
    name: 'saas_backup_test_restores_total',
    help: 'Test restores of backups into a scratch database, by outcome (passed, failed)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });

  // Jobs this replica ran: attempts, their duration and the last success, per queue.
  const jobDuration = new Histogram({
    name: 'saas_job_duration_seconds',
    help: 'Duration of job attempts run by this replica, by queue and outcome (completed, failed)',
    labelNames: ['queue', 'outcome'] as const,
    buckets: [0.05, 0.25, 1, 5, 30, 120, 600, 1800],
    registers: [registry],
  });
  const jobLastSuccess = new Gauge({
    name: 'saas_job_last_success_timestamp_seconds',
    help: 'When a job of the queue last completed on this replica (Unix time; take the max over replicas)',
    labelNames: ['queue'] as const,
    registers: [registry],
  });

  // The gateway's traffic per tenant (bounded labels, see labels.ts).
  const gatewayRequests = new Counter({
    name: 'saas_gateway_requests_total',
    help: 'Requests the gateway answered for a tenant, by status class',
    labelNames: ['tenant', 'code'] as const,
    registers: [registry],
  });
  const gatewayBytesIn = new Counter({
    name: 'saas_gateway_received_bytes_total',
    help: 'Bytes received from visitors of a tenant (requests, headers included)',
    labelNames: ['tenant'] as const,
    registers: [registry],
  });
  const gatewayBytesOut = new Counter({
    name: 'saas_gateway_sent_bytes_total',
    help: 'Bytes sent to visitors of a tenant (responses, headers included)',
    labelNames: ['tenant'] as const,
    registers: [registry],
  });
  const gatewayDuration = new Histogram({
    name: 'saas_gateway_request_duration_seconds',
    help: 'Time from a request reaching the gateway to the end of its answer, per tenant',
    labelNames: ['tenant'] as const,
    // Few buckets: this histogram is per tenant (8 series each).
    buckets: [0.05, 0.25, 1, 5, 30],
    registers: [registry],
  });
  const gatewayUpstreamErrors = new Counter({
    name: 'saas_gateway_upstream_errors_total',
    help: "Requests the gateway could not pass to the tenant's Odoo, by failure",
    labelNames: ['tenant', 'failure'] as const,
    registers: [registry],
  });

  return {
    registry,
    tenantLabels,
    httpRequests,
    httpDuration,
    authEvents,
    backupResults,
    backupDuration,
    backupTestRestores,
    observeJob(queue: string, seconds: number, outcome: 'completed' | 'failed'): void {
      jobDuration.observe({ queue, outcome }, seconds);
      if (outcome === 'completed') jobLastSuccess.set({ queue }, Date.now() / 1000);
    },
    observeGatewayRequest(tenantId: string, request: { status: number; seconds: number; bytesIn: number; bytesOut: number }): void {
      const tenant = tenantLabels.of(tenantId);
      const code = STATUS_CLASSES[Math.min(Math.max(Math.floor(request.status / 100), 1), 5) - 1] ?? '5xx';
      gatewayRequests.inc({ tenant, code });
      gatewayDuration.observe({ tenant }, request.seconds);
      if (request.bytesIn > 0) gatewayBytesIn.inc({ tenant }, request.bytesIn);
      if (request.bytesOut > 0) gatewayBytesOut.inc({ tenant }, request.bytesOut);
    },
    observeUpstreamError(tenantId: string, failure: string): void {
      gatewayUpstreamErrors.inc({ tenant: tenantLabels.of(tenantId), failure });
    },
    /** Drops the series of tenants that are gone (their labels were freed). */
    forgetTenants(tenantIds: readonly string[]): void {
      for (const tenant of tenantIds) {
        for (const code of STATUS_CLASSES) gatewayRequests.remove({ tenant, code });
        for (const failure of UPSTREAM_FAILURES) gatewayUpstreamErrors.remove({ tenant, failure });
        gatewayBytesIn.remove({ tenant });
        gatewayBytesOut.remove({ tenant });
        gatewayDuration.remove({ tenant });
      }
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
