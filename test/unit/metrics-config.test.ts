import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors/index.js';

const base = { DATA_DIR: '/tmp/metrics-config-test' };

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ ...base, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('metrics settings', () => {
  it('serve no metrics by default, and 1000 tenant labels', () => {
    const config = loadConfig(base);
    expect(config.metricsToken).toBeUndefined();
    expect(config.metricsAddress).toBeUndefined();
    expect(config.metricsTenantLabelLimit).toBe(1000);
  });

  it('read METRICS_ADDRESS as host and port, IPv6 in brackets', () => {
    expect(loadConfig({ ...base, METRICS_ADDRESS: '127.0.0.1:9464' }).metricsAddress).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(loadConfig({ ...base, METRICS_ADDRESS: '[::1]:0' }).metricsAddress).toEqual({ host: '::1', port: 0 });
    expect(loadConfig({ ...base, METRICS_TENANT_LABEL_LIMIT: '0' }).metricsTenantLabelLimit).toBe(0);
  });

  it.each([
    ['METRICS_ADDRESS', '9464'],
    ['METRICS_ADDRESS', 'http://127.0.0.1:9464'],
    ['METRICS_ADDRESS', '127.0.0.1:70000'],
    ['METRICS_TENANT_LABEL_LIMIT', '-1'],
    ['METRICS_TENANT_LABEL_LIMIT', 'many'],
  ])('refuse %s=%s, naming it', (variable, value) => {
    expect(configError({ [variable]: value }).message).toContain(`${variable}:`);
  });
});
