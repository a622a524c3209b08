import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../src/api/index.js';
import { withoutUnusedComponents } from '../../src/api/openapi-components.js';
import { databaseServerViewSchema } from '../../src/postgres/index.js';
import { templateViewSchema } from '../../src/templates/index.js';
import { operatorTenantViewSchema, PROVISIONING_STEPS, TENANT_STATES, tenantEventViewSchema } from '../../src/tenants/index.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';

/**
 * The dashboard's API types are generated at build time from the document buildOpenApiDocument
 * makes without a database or a listener. These tests hold that document to the one a running
 * platform serves, and the document's shapes to the domain's declarations.
 */

interface ComponentSchema {
  properties?: Record<string, unknown>;
  enum?: unknown[];
}

let test: TestPlatform;
let served: { components: { schemas: Record<string, ComponentSchema> }; paths: Record<string, unknown> };

beforeAll(async () => {
  test = await startTestPlatform();
  const response = await test.http.get('/api/v1/openapi.json');
  expect(response.status).toBe(200);
  served = response.body;
});
afterAll(async () => {
  await test?.stop();
});

describe('the API contract', () => {
  it('is the same document whether built for the types or served by a running platform', async () => {
    const built = JSON.parse(JSON.stringify(await buildOpenApiDocument()));
    expect(built).toEqual(served);
  });

  it('takes each shape from its one declaration in the domain', () => {
    const schemas = served.components.schemas;
    const fieldsOf = (name: string) => Object.keys(schemas[name]?.properties ?? {}).sort();
    expect(fieldsOf('OperatorTenant')).toEqual(Object.keys(operatorTenantViewSchema.shape).sort());
    expect(fieldsOf('TenantEvent')).toEqual(Object.keys(tenantEventViewSchema.shape).sort());
    expect(fieldsOf('OperatorTemplate')).toEqual(Object.keys(templateViewSchema.shape).sort());
    expect(fieldsOf('DatabaseServer')).toEqual(Object.keys(databaseServerViewSchema.shape).sort());
    expect(schemas.TenantState?.enum).toEqual([...TENANT_STATES]);
    expect(schemas.ProvisioningStep?.enum).toEqual([...PROVISIONING_STEPS]);
  });

  it('publishes only components some operation uses', () => {
    const names = Object.keys(served.components.schemas);
    expect(names).toContain('OperatorTenant');
    // The type provider writes an "Input" twin of every named schema; no route reads these views.
    expect(names.filter((name) => name.endsWith('Input'))).toEqual([]);
    const text = JSON.stringify(served);
    for (const name of names) expect(text, `${name} is referenced`).toContain(`"#/components/schemas/${name}"`);
  });
});

describe('withoutUnusedComponents', () => {
  it('keeps what the paths reach, through other components too, and drops the rest', () => {
    const document = {
      paths: { '/a': { get: { responses: { 200: { content: { 'application/json': { schema: { $ref: '#/components/schemas/A' } } } } } } } },
      components: {
        schemas: {
          A: { type: 'object', properties: { b: { type: 'array', items: { $ref: '#/components/schemas/B' } } } },
          B: { type: 'string' },
          AInput: { type: 'object' },
          Orphan: { properties: { a: { $ref: '#/components/schemas/A' } } },
        },
      },
    };
    expect(Object.keys(withoutUnusedComponents(document).components.schemas)).toEqual(['A', 'B']);
  });
});
