import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createTenantLabels, foldByLabel, histogramSamples, OTHER_TENANTS, registerSnapshotMetric } from '../../src/metrics/index.js';

describe('bounded tenant labels', () => {
  it('gives the first tenants their own label and the rest `other`, keeping labels stable', () => {
    const labels = createTenantLabels(2);
    expect(['a', 'b', 'c', 'a', 'b', 'd'].map((id) => labels.of(id))).toEqual(['a', 'b', OTHER_TENANTS, 'a', 'b', OTHER_TENANTS]);
    expect(labels.size).toBe(2);
  });

  it('frees the labels of tenants that are gone for newcomers', () => {
    const labels = createTenantLabels(2);
    labels.of('a');
    labels.of('b');
    expect(labels.retainOnly(new Set(['b', 'c']))).toEqual(['a']);
    expect(labels.of('c')).toBe('c');
    expect(labels.of('d')).toBe(OTHER_TENANTS);
  });

  it('folds tenants past the limit into `other` with the given combination', () => {
    const labels = createTenantLabels(1);
    const entries = [
      ['a', 10],
      ['b', 5],
      ['c', 7],
    ] as const;
    expect(foldByLabel(entries, labels, Math.min)).toEqual(
      new Map([
        ['a', 10],
        [OTHER_TENANTS, 5],
      ]),
    );
    expect(createTenantLabels(0).of('a')).toBe(OTHER_TENANTS);
  });
});

describe('snapshot metrics', () => {
  it('render a cumulative histogram in the Prometheus text format', async () => {
    const registry = new Registry();
    registerSnapshotMetric(registry, {
      name: 'test_duration_seconds',
      help: 'test',
      type: 'histogram',
      collect: async () => histogramSamples([0.5, 3, 3, 40], [1, 5, 10]),
    });
    const text = await registry.metrics();
    expect(text).toContain('# TYPE test_duration_seconds histogram');
    expect(text).toContain('test_duration_seconds_bucket{le="1"} 1');
    expect(text).toContain('test_duration_seconds_bucket{le="5"} 3');
    expect(text).toContain('test_duration_seconds_bucket{le="10"} 3');
    expect(text).toContain('test_duration_seconds_bucket{le="+Inf"} 4');
    expect(text).toContain('test_duration_seconds_sum 46.5');
    expect(text).toContain('test_duration_seconds_count 4');
  });
});
