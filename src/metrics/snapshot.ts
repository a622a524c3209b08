/**
 * Metrics whose values are read at scrape time from the source of truth (the platform database,
 * the runtimes) rather than counted in this process: every replica answers the same figures, and
 * a restart loses nothing. prom-client's own classes only count in-process, so these implement the
 * small interface its registry reads (`name`, `help`, `type`, `get()`).
 */
import type { Metric, Registry } from 'prom-client';

export type Labels = Record<string, string>;
export interface Sample {
  labels: Labels;
  value: number;
  /** `_bucket`, `_sum`, `_count` for histograms. */
  suffix?: string;
}

export function registerSnapshotMetric(
  registry: Registry,
  definition: { name: string; help: string; type: 'gauge' | 'counter' | 'histogram'; collect: () => Promise<Sample[]> },
): void {
  const metric = {
    name: definition.name,
    help: definition.help,
    type: definition.type,
    aggregator: 'sum',
    async get() {
      const samples = await definition.collect();
      return {
        name: definition.name,
        help: definition.help,
        type: definition.type,
        aggregator: 'sum',
        values: samples.map((sample) => ({
          labels: sample.labels,
          value: sample.value,
          metricName: `${definition.name}${sample.suffix ?? ''}`,
        })),
      };
    },
    reset() {},
  };
  registry.registerMetric(metric as unknown as Metric);
}

/** A cumulative histogram's samples from the observed values (upper bounds ascending). */
export function histogramSamples(values: readonly number[], upperBounds: readonly number[], labels: Labels = {}): Sample[] {
  const samples: Sample[] = upperBounds.map((bound) => ({
    labels: { ...labels, le: String(bound) },
    value: values.filter((value) => value <= bound).length,
    suffix: '_bucket',
  }));
  samples.push({ labels: { ...labels, le: '+Inf' }, value: values.length, suffix: '_bucket' });
  samples.push({ labels, value: values.reduce((sum, value) => sum + value, 0), suffix: '_sum' });
  samples.push({ labels, value: values.length, suffix: '_count' });
  return samples;
}

/** One read shared by the metrics of one scrape (they are collected together, in parallel). */
export function sharedRead<T>(read: () => Promise<T>, ttlMs = 1000): () => Promise<T> {
  let current: Promise<T> | undefined;
  return () => {
    current ??= read().finally(() => setTimeout(() => (current = undefined), ttlMs).unref());
    return current;
  };
}
