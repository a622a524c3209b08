import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv } from 'ajv';
import { createGenerator } from 'ts-json-schema-generator';
import { describe, expect, it } from 'vitest';

/**
 * deploy/monitoring/grafana-dashboard.json against Grafana's own description of a dashboard:
 * the `Dashboard` type Grafana publishes in @grafana/schema (generated from its CUE schema),
 * turned into a JSON schema here. The monitoring e2e test checks what is ours (panel kinds,
 * queries, metrics served); this one checks what Grafana requires of every field.
 */
const grafanaSchemaPackage = dirname(createRequire(import.meta.url).resolve('@grafana/schema/package.json'));
const dashboardTypes = join(grafanaSchemaPackage, 'dist/types/raw/dashboard/x/types.gen.d.ts');

function grafanaDashboardValidator() {
  const schema = createGenerator({ path: dashboardTypes, type: 'Dashboard', skipTypeCheck: true, additionalProperties: true }).createSchema(
    'Dashboard',
  );
  return new Ajv({ allErrors: true, strict: false }).compile(schema);
}

describe("the Grafana dashboard against Grafana's published Dashboard schema", { timeout: 120_000 }, () => {
  const validate = grafanaDashboardValidator();

  it('accepts deploy/monitoring/grafana-dashboard.json', () => {
    const dashboard = JSON.parse(readFileSync('deploy/monitoring/grafana-dashboard.json', 'utf8'));
    const valid = validate(dashboard);
    expect(validate.errors ?? [], 'fields Grafana would reject').toEqual([]);
    expect(valid).toBe(true);
  });

  it('rejects what Grafana rejects (the check can fail)', () => {
    expect(validate({ title: 'no schemaVersion' })).toBe(false);
    expect(
      validate({ title: 'x', schemaVersion: 39, editable: true, graphTooltip: 0, panels: [{ type: 'timeseries', gridPos: 'top' }] }),
    ).toBe(false);
    expect(validate({ title: 'x', schemaVersion: 39, templating: { list: [{ name: 'ds', type: 'datasource', current: {} }] } })).toBe(
      false,
    );
  });
});
