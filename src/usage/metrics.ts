/**
 * Usage and limit metrics for Prometheus, read from the standings at scrape time (one small
 * table, one row per tenant and limit), so every replica answers the same figures without
 * keeping state. Cardinality: `tenant` x `resource` = 2 series per sampled tenant for each of the
 * three gauges (6 per tenant: 6,000 series for 1,000 tenants), and 4 levels x 2 resources for the
 * tenant count. The label is the tenant id (stable across a rename and a name's reuse); past
 * METRICS_TENANT_LABEL_LIMIT tenants, the rest are summed into `other` (their worst level).
 */
import { Gauge, type Registry } from 'prom-client';
import type { Db } from '../db/index.js';
import { LIMIT_LEVELS, type LimitLevel } from './policy.js';
import { standingsOf } from './store.js';

const LEVEL_VALUE: Record<LimitLevel, number> = { ok: 0, warning: 1, reached: 2, over: 3 };

/** Bounded tenant labels (metrics/labels.ts): the tenant's id, or `other` past the limit. */
export interface UsageMetricLabels {
  of(tenantId: string): string;
}

export function registerUsageMetrics(registry: Registry, db: Db, labels: UsageMetricLabels = { of: (id) => id }): void {
  let read: Promise<Awaited<ReturnType<typeof standingsOf>>> | undefined;
  // The gauges of one scrape share one read of the standings.
  const standings = () => {
    read ??= standingsOf(undefined, db).finally(() => setTimeout(() => (read = undefined), 1000).unref());
    return read;
  };
  new Gauge({
    name: 'saas_tenant_usage',
    help: 'What a tenant used at its last sample: internal Odoo users, or storage in bytes (database + filestore)',
    labelNames: ['tenant', 'resource'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const row of await standings()) this.inc({ tenant: labels.of(row.tenant_id), resource: row.resource }, row.used);
    },
  });
  new Gauge({
    name: 'saas_tenant_usage_limit',
    help: "The tenant plan's limit for the resource (users, or bytes)",
    labelNames: ['tenant', 'resource'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const row of await standings()) this.inc({ tenant: labels.of(row.tenant_id), resource: row.resource }, row.limit_value);
    },
  });
  new Gauge({
    name: 'saas_tenant_limit_level',
    help: 'Where the tenant stands against the limit: 0 ok, 1 warning, 2 reached (100 %), 3 over',
    labelNames: ['tenant', 'resource'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      // Tenants sharing the `other` label: the worst level among them.
      const levels = new Map<string, { tenant: string; resource: string; level: number }>();
      for (const row of await standings()) {
        const tenant = labels.of(row.tenant_id);
        const key = `${tenant}\u0000${row.resource}`;
        const level = Math.max(levels.get(key)?.level ?? 0, LEVEL_VALUE[row.level]);
        levels.set(key, { tenant, resource: row.resource, level });
      }
      for (const { tenant, resource, level } of levels.values()) this.set({ tenant, resource }, level);
    },
  });
  new Gauge({
    name: 'saas_tenants_by_limit_level',
    help: 'Sampled tenants per limit level and resource',
    labelNames: ['resource', 'level'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const resource of ['odoo_users', 'storage'] as const) for (const l of LIMIT_LEVELS) this.set({ resource, level: l }, 0);
      for (const row of await standings()) this.inc({ resource: row.resource, level: row.level });
    },
  });
}
