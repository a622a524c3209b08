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
  return { registry, httpRequests, httpDuration, authEvents };
}

export type Metrics = ReturnType<typeof createMetrics>;
