import type { HttpResponse } from './platform.js';

/** The parts of an OpenAPI 3.1 document the table-driven API tests read. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  format?: string;
  maxLength?: number;
  [key: string]: unknown;
}

export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema: JsonSchema;
}

export interface OpenApiOperation {
  'x-access'?: string;
  security?: Array<Record<string, string[]>>;
  parameters?: OpenApiParameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema: JsonSchema }> };
  [key: string]: unknown;
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
}

export interface Operation {
  method: string;
  /** The templated path as published, e.g. /api/v1/accounts/{id}. */
  path: string;
  /** "METHOD /path", the key tests use in their tables and messages. */
  key: string;
  operation: OpenApiOperation;
  pathParams: string[];
  queryParams: OpenApiParameter[];
  bodySchema: JsonSchema | undefined;
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);

/** Every operation of the document, in document order. */
export function listOperations(document: OpenApiDocument): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      const parameters = operation.parameters ?? [];
      operations.push({
        method: method.toUpperCase(),
        path,
        key: `${method.toUpperCase()} ${path}`,
        operation,
        pathParams: [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? ''),
        queryParams: parameters.filter((p) => p.in === 'query'),
        bodySchema: operation.requestBody?.content['application/json']?.schema,
      });
    }
  }
  return operations;
}

/**
 * The key under which a path parameter is looked up in a test's table: the path segment before
 * it and the parameter, e.g. "accounts/{id}" for /api/v1/accounts/{id}. The same name (`id`)
 * means a different resource under different collections.
 */
export function paramKey(path: string, name: string): string {
  const segments = path.split('/');
  const index = segments.indexOf(`{${name}}`);
  return `${segments[index - 1] ?? ''}/{${name}}`;
}

/**
 * Fills the path's parameters from `values` (keyed by paramKey). Throws naming the route and the
 * parameter when the table has no value, so a new route forces the test's table to be updated.
 */
export function fillPath(operation: Operation, values: Record<string, string>, overrides: Record<string, string> = {}): string {
  let path = operation.path;
  for (const name of operation.pathParams) {
    const key = paramKey(operation.path, name);
    const value = overrides[name] ?? values[key];
    if (value === undefined) {
      throw new Error(`${operation.key}: no test value for path parameter "${key}"; add one to this test's parameter table`);
    }
    path = path.replace(`{${name}}`, value);
  }
  return path;
}

/** The schema's types, looking through anyOf (zod's nullish/optional unions). */
export function schemaTypes(schema: JsonSchema): string[] {
  if (schema.anyOf) return schema.anyOf.flatMap(schemaTypes);
  if (Array.isArray(schema.type)) return schema.type;
  return schema.type ? [schema.type] : [];
}

/** What every error answer of the API must look like; returns the deviations (empty when fine). */
export function problemDeviations(response: HttpResponse): string[] {
  const deviations: string[] = [];
  if (response.status >= 500) deviations.push(`server error ${response.status}: ${response.text.slice(0, 300)}`);
  if (response.status < 400) return deviations;
  const contentType = response.headers.get('content-type') ?? '';
  if (!contentType.startsWith('application/problem+json')) deviations.push(`content-type ${contentType}`);
  const body = response.body as Record<string, unknown> | undefined;
  if (typeof body !== 'object' || body === null) return [...deviations, `body is not a JSON object: ${response.text.slice(0, 200)}`];
  if (body.status !== response.status) deviations.push(`body.status ${String(body.status)} != ${response.status}`);
  if (typeof body.detail !== 'string' || body.detail.length === 0) deviations.push('no detail');
  if (typeof body.requestId !== 'string' || body.requestId !== response.headers.get('x-request-id')) {
    deviations.push(`requestId ${String(body.requestId)} does not match x-request-id ${response.headers.get('x-request-id')}`);
  }
  return deviations;
}
