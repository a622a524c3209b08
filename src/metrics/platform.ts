/**
 * The platform's scrape-time metrics: jobs per queue, tenants by state and plan, provisioning
 * durations, backup age and certificate expiry per tenant, each workload's runtime counters and
 * the data disk. Read when Prometheus scrapes, from the sources the composition root hands in
 * (the metrics module knows no other module). Per-tenant labels go through the bounded labels.
 */
import { statfs } from 'node:fs/promises';
import type { Registry } from 'prom-client';
import { foldByLabel, OTHER_TENANTS, type TenantLabels } from './labels.js';
import { histogramSamples, registerSnapshotMetric, type Sample, sharedRead } from './snapshot.js';

export interface PlatformMetricSources {
  jobCounts(): Promise<Array<{ queue: string; queued: number; active: number; failed: number }>>;
  /** Every tenant, deleted ones included (provisioning durations are cumulative). */
  tenants(): Promise<
    Array<{ id: string; name: string; state: string; plan_code: string; created_at: Date; provision_seconds: number | null }>
  >;
  lastVerifiedBackups(): Promise<Map<string, Date>>;
  /** Of these running tenants, those with no recorded upstream (no replica serves them) that are not hibernated. */
  unservedAmong(runningIds: readonly string[]): Promise<number>;
  certificateExpiries(): Promise<Map<string, Date>>;
  workloads(): Array<{
    kind: 'pool' | 'dedicated';
    name: string;
    up: boolean;
    restarts: number;
    oomKills?: number;
    cpuSeconds?: number;
    throttledPeriods?: number;
    throttledSeconds?: number;
    memoryBytes?: number;
  }>;
  /** The platform's data directory (databases, filestores, backups): its file system is watched. */
  dataDir: string;
}

/** Provisioning takes seconds from a spare database, minutes from a template build. */
export const PROVISIONING_BUCKETS = [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800];

const seconds = (date: Date) => date.getTime() / 1000;

export function registerPlatformMetrics(
  registry: Registry,
  labels: TenantLabels,
  sources: PlatformMetricSources,
  /** Told which tenants' labels were freed (gone tenants), so in-process series are dropped. */
  forgetTenants: (tenantIds: readonly string[]) => void,
): void {
  const jobCounts = sharedRead(() => sources.jobCounts());
  const tenants = sharedRead(async () => {
    const rows = await sources.tenants();
    const live = rows.filter((row) => row.state !== 'deleted');
    forgetTenants(labels.retainOnly(new Set(live.map((row) => row.id))));
    return { rows, live };
  });

  for (const [field, help] of [
    ['queued', 'Jobs waiting in the queue (deferred retries included)'],
    ['active', 'Jobs of the queue running now, on any replica'],
    ['failed', 'Jobs of the queue that failed for good and are still retained (pg-boss deletes old jobs)'],
  ] as const) {
    registerSnapshotMetric(registry, {
      name: `saas_jobs_${field}`,
      help,
      type: 'gauge',
      collect: async () => (await jobCounts()).map((row) => ({ labels: { queue: row.queue }, value: row[field] })),
    });
  }

  registerSnapshotMetric(registry, {
    name: 'saas_tenants',
    help: 'Tenants by lifecycle state and plan (deleted ones excluded)',
    type: 'gauge',
    async collect() {
      const counts = new Map<string, Sample>();
      for (const row of (await tenants()).live) {
        const key = `${row.state}\u0000${row.plan_code}`;
        const sample = counts.get(key) ?? { labels: { state: row.state, plan: row.plan_code }, value: 0 };
        sample.value += 1;
        counts.set(key, sample);
      }
      return [...counts.values()];
    },
  });

  registerSnapshotMetric(registry, {
    name: 'saas_tenants_unserved',
    help: 'Running tenants that no replica serves (not hibernated): their visitors get the "being prepared" page',
    type: 'gauge',
    async collect() {
      const running = (await tenants()).live.filter((row) => row.state === 'running').map((row) => row.id);
      return [{ labels: {}, value: await sources.unservedAmong(running) }];
    },
  });

  registerSnapshotMetric(registry, {
    name: 'saas_tenant_info',
    help: '1 for each tenant with a label of its own: its name and plan, to show names for the ids of the per-tenant metrics',
    type: 'gauge',
    async collect() {
      return (await tenants()).live.flatMap((row) =>
        labels.of(row.id) === OTHER_TENANTS ? [] : [{ labels: { tenant: row.id, name: row.name, plan: row.plan_code }, value: 1 }],
      );
    },
  });

  registerSnapshotMetric(registry, {
    name: 'saas_provisioning_duration_seconds',
    help: 'Time from the start of a tenant provisioning to its tenant running, over every tenant provisioned',
    type: 'histogram',
    async collect() {
      const durations = (await tenants()).rows.flatMap((row) => (row.provision_seconds === null ? [] : [row.provision_seconds]));
      return histogramSamples(durations, PROVISIONING_BUCKETS);
    },
  });

  registerSnapshotMetric(registry, {
    name: 'saas_tenant_backup_last_verified_timestamp_seconds',
    help: 'When the newest verified backup of a running tenant was verified (never backed up: its creation); `other`: the oldest',
    type: 'gauge',
    async collect() {
      const [{ live }, verified] = await Promise.all([tenants(), sources.lastVerifiedBackups()]);
      const entries = live
        .filter((row) => row.state === 'running')
        .map((row) => [row.id, seconds(verified.get(row.id) ?? row.created_at)] as const);
      return [...foldByLabel(entries, labels, Math.min)].map(([tenant, value]) => ({ labels: { tenant }, value }));
    },
  });

  registerSnapshotMetric(registry, {
    name: 'saas_tenant_certificate_expiry_timestamp_seconds',
    help: "When the soonest-expiring certificate of a tenant's verified custom domains expires; `other`: the soonest",
    type: 'gauge',
    async collect() {
      const [{ live }, expiries] = await Promise.all([tenants(), sources.certificateExpiries()]);
      const liveIds = new Set(live.map((row) => row.id));
      const entries = [...expiries].filter(([id]) => liveIds.has(id)).map(([id, at]) => [id, seconds(at)] as const);
      return [...foldByLabel(entries, labels, Math.min)].map(([tenant, value]) => ({ labels: { tenant }, value }));
    },
  });

  registerWorkloadMetrics(registry, labels, sources);

  for (const [field, help] of [
    ['free', 'Bytes free for the platform on the file system of its data directory'],
    ['size', 'Size in bytes of the file system of the data directory'],
  ] as const) {
    registerSnapshotMetric(registry, {
      name: `saas_data_disk_${field}_bytes`,
      help,
      type: 'gauge',
      async collect() {
        const stats = await statfs(sources.dataDir).catch(() => undefined);
        if (!stats) return [];
        return [{ labels: {}, value: (field === 'free' ? stats.bavail : stats.blocks) * stats.bsize }];
      },
    });
  }
}

/**
 * Odoo workloads as the runtimes report them: a pool is labelled by its name (a few per database
 * server), a dedicated workload by its tenant id (bounded with the tenant labels; the rest summed
 * into `other`).
 */
function registerWorkloadMetrics(registry: Registry, labels: TenantLabels, sources: PlatformMetricSources): void {
  type Field = 'restarts' | 'oomKills' | 'cpuSeconds' | 'throttledPeriods' | 'throttledSeconds' | 'memoryBytes' | 'up';
  const definitions: Array<[Field, string, 'counter' | 'gauge', string]> = [
    [
      'up',
      'saas_workload_up',
      'gauge',
      'Whether the Odoo workload runs (1) or not: starting, restarting, failed (0); `other`: how many run',
    ],
    [
      'restarts',
      'saas_workload_restarts_total',
      'counter',
      'Unexpected exits of the Odoo processes of a workload, restarted by the supervisor',
    ],
    ['oomKills', 'saas_workload_oom_kills_total', 'counter', 'Processes the kernel killed in the workload cgroup at its memory limit'],
    ['cpuSeconds', 'saas_workload_cpu_seconds_total', 'counter', 'CPU time of the workload cgroup'],
    ['throttledPeriods', 'saas_workload_cpu_throttled_periods_total', 'counter', 'CFS periods the workload was held back by its CPU quota'],
    ['throttledSeconds', 'saas_workload_cpu_throttled_seconds_total', 'counter', 'Time the workload was held back by its CPU quota'],
    ['memoryBytes', 'saas_workload_memory_bytes', 'gauge', 'Memory of the workload (cgroup, else resident memory of its processes)'],
  ];
  for (const [field, name, type, help] of definitions) {
    registerSnapshotMetric(registry, {
      name,
      help,
      type,
      async collect() {
        const values = new Map<string, { kind: string; value: number }>();
        for (const workload of sources.workloads()) {
          const raw = field === 'up' ? Number(workload.up) : workload[field];
          if (raw === undefined) continue;
          const label = workload.kind === 'pool' ? workload.name : labels.of(workload.name);
          const previous = values.get(label);
          values.set(label, { kind: workload.kind, value: (previous?.value ?? 0) + raw });
        }
        return [...values].map(([label, { kind, value }]) => ({
          labels: { workload: label, kind: label === OTHER_TENANTS ? 'dedicated' : kind },
          value,
        }));
      },
    });
  }
}
