import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** The platform's Prometheus registry and the metrics every module shares. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'saas_' });
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
  return { registry, httpRequests, httpDuration, authEvents, backupResults, backupDuration, backupTestRestores };
}

export type Metrics = ReturnType<typeof createMetrics>;
