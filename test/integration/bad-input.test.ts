import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertFinishedMigration, insertFinishedRestore, insertStoredBackup } from '../helpers/backups.js';
import {
  fillPath,
  type JsonSchema,
  listOperations,
  type OpenApiDocument,
  type Operation,
  paramKey,
  problemDeviations,
  schemaTypes,
} from '../helpers/openapi.js';
import { insertOutboundFixtures } from '../helpers/outbound.js';
import {
  createOperator,
  GOOD_PASSWORD,
  type HttpResponse,
  registerCustomer,
  startTestPlatform,
  type TestPlatform,
  uniqueEmail,
} from '../helpers/platform.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

/**
 * Hostile and broken input on every route with a body, a query or a path parameter, walked from
 * the OpenAPI document and sent as an operator (so authorisation is never what fails): the answer
 * is always a 4xx problem+json naming the offending field, never a 500.
 */

let test: TestPlatform;
/** Same platform with a 1 MiB body limit, so 100k-character strings reach validation. */
let roomy: TestPlatform;
let operations: Operation[];
let operatorToken: string;
let roomyOperatorToken: string;
let paramValues: Record<string, string>;

const PLAN_LIMITS = {
  cpu: 1,
  memoryMiB: 1024,
  storageGiB: 5,
  odooUsers: 3,
  maxTenantsPerAccount: 2,
  enforcement: { warnAtPercent: 80, blockNewUsers: true, deactivateExcessUsersAfterHours: 72, storageAtLimit: 'read_only' },
};
const PLAN_PLACEMENT = { databaseStrategy: 'shared', processStrategy: 'pool', replicas: 1, limitPolicy: 'block' };
const planBody = (code: string) => ({
  code,
  name: 'Bad input plan',
  description: 'A plan for the bad-input suite',
  limits: { ...PLAN_LIMITS },
  placement: { ...PLAN_PLACEMENT },
  prices: [
    {
      interval: 'month',
      amountCents: 1000,
      currency: 'USD',
      perUser: { included: 1, amountCents: 100 },
      perStorageGiB: { included: 1, amountCents: 10 },
    },
  ],
  trialDays: 0,
  sortOrder: 500,
});
const { code: _code, ...planUpdateBody } = planBody('unused');

/**
 * A valid body for each route, with every optional field present so each one is mutated. A route
 * with a body that is missing here fails the walk: add a sample when adding the route.
 */
const sampleBodies: Record<string, () => Record<string, unknown>> = {
  'POST /api/v1/auth/register': () => ({
    email: uniqueEmail('bad'),
    password: GOOD_PASSWORD,
    name: 'Bad Input',
    organization: 'Bad Input Ltd',
  }),
  'POST /api/v1/auth/login': () => ({ email: 'nobody@example.com', password: 'Wrong-Password-1', setCookie: false }),
  'POST /api/v1/auth/refresh': () => ({ refreshToken: 'rt_not-a-real-token' }),
  'POST /api/v1/auth/logout': () => ({ refreshToken: 'rt_not-a-real-token' }),
  'POST /api/v1/auth/password-reset/request': () => ({ email: 'nobody@example.com' }),
  'POST /api/v1/auth/password-reset/confirm': () => ({ token: 'ot_not-a-real-token', password: GOOD_PASSWORD }),
  'POST /api/v1/auth/verify-email': () => ({ token: 'ot_not-a-real-token' }),
  'POST /api/v1/api-keys': () => ({ name: 'bad input key', code: '123456' }),
  'POST /api/v1/auth/login/second-factor': () => ({ challenge: 'mf_not-a-real-challenge', code: '123456', setCookie: false }),
  'POST /api/v1/auth/login/enrol': () => ({ challenge: 'mf_not-a-real-challenge' }),
  'POST /api/v1/me/two-factor/confirm': () => ({ code: '123456' }),
  'POST /api/v1/me/two-factor/remove': () => ({ code: '123456' }),
  'POST /api/v1/me/two-factor/recovery-codes': () => ({ code: '123456' }),
  'POST /api/v1/plans': () => planBody('bad-input-new'),
  'PUT /api/v1/plans/{code}': () => structuredClone(planUpdateBody),
  'POST /api/v1/tenants': () => ({
    name: 'badinputtenant',
    plan: 'basic',
    template: 'blank',
    adminEmail: 'admin@example.com',
    adminPassword: GOOD_PASSWORD,
    accountId: sampleIds.accountId,
    billing: { interval: 'month', trial: false },
  }),
  'POST /api/v1/tenants/{name}/duplicate': () => ({ name: 'badinputcopy', adminPassword: GOOD_PASSWORD }),
  'POST /api/v1/tenants/{name}/domains': () => ({ domain: 'erp.badinput-example.net' }),
  'PUT /api/v1/tenants/{name}/primary-domain': () => ({ domain: null }),
  'POST /api/v1/templates/{code}/build': () => ({ serverId: sampleIds.serverId }),
  'POST /api/v1/tenants/{name}/backups': () => ({}),
  'POST /api/v1/tenants/{name}/backups/{id}/download-link': () => ({}),
  'POST /api/v1/tenants/{name}/backups/{id}/restore': () => ({ newTenant: { name: 'badinputrestored', adminPassword: GOOD_PASSWORD } }),
  // Dry runs: a valid sample changes nothing.
  'POST /api/v1/tenants/{name}/migrate': () => ({ toServerId: sampleIds.serverId, processStrategy: 'dedicated', dryRun: true }),
  'POST /api/v1/tenants/{name}/change-plan': () => ({ plan: 'standard', dryRun: true }),
  'POST /api/v1/database-servers/{id}/drain': () => ({ dryRun: true }),
  'POST /api/v1/imports/tenants': () => ({
    uploadToken: 'not-a-real-upload-token',
    name: 'badinputimport',
    plan: 'basic',
    template: 'blank',
    adminEmail: 'admin@example.com',
    adminPassword: GOOD_PASSWORD,
    accountId: sampleIds.accountId,
  }),
  'POST /api/v1/database-servers': () => ({
    name: 'bad-input-server',
    url: 'postgres://nobody:secret@127.0.0.1:1/postgres',
    kind: 'shared',
    capacity: 10,
  }),
  'PATCH /api/v1/database-servers/{id}': () => ({ capacity: 60, status: 'active' }),
  'POST /api/v1/billing/subscriptions': () => ({
    plan: 'standard',
    interval: 'month',
    trial: false,
    tenant: 'badinputtarget',
    accountId: sampleIds.accountId,
  }),
  'POST /api/v1/billing/subscriptions/{id}/change-plan': () => ({ plan: 'premium', interval: 'month' }),
  'POST /api/v1/billing/subscriptions/{id}/change-preview': () => ({ plan: 'premium', interval: 'month' }),
  'POST /api/v1/billing/subscriptions/{id}/reactivate': () => ({ plan: 'standard', interval: 'month' }),
  'POST /api/v1/billing/subscriptions/{id}/extend-trial': () => ({ days: 7 }),
  'POST /api/v1/billing/invoices/{id}/mark-paid': () => ({ reference: 'bad input transfer' }),
  'POST /api/v1/billing/invoices/{id}/refund': () => ({ amountMinor: 100, reason: 'bad input refund' }),
  'POST /api/v1/billing/payment-method/portal': () => ({ accountId: sampleIds.accountId }),
  'POST /api/v1/webhooks': () => ({ url: 'https://203.0.113.5/hook', events: ['tenant.created'], description: 'bad input suite' }),
  'PATCH /api/v1/webhooks/{id}': () => ({ events: ['*'], description: 'bad input suite', enabled: true }),
  ...Object.fromEntries(
    [
      'start',
      'stop',
      'restart',
      'schedule-delete',
      'cancel-delete',
      'reactivate',
      'retry',
      'suspend',
      'resume',
      'terminate',
      'force-delete',
    ].map((action) => [`POST /api/v1/tenants/{name}/${action}`, () => ({ reason: 'bad input suite' })]),
  ),
};

/** Ids the sample bodies refer to, known once the platforms run. */
const sampleIds = { accountId: '', serverId: '' };

/** A tenant row written directly (this suite has no Odoo): the target of /tenants/{name} routes. */
async function insertTenant(target: TestPlatform, accountId: string, name: string): Promise<void> {
  await target.platform.database.db
    .insertInto('tenants')
    .values({
      name,
      account_id: accountId,
      plan_code: 'basic',
      template_code: 'blank',
      state: 'stopped',
      database_name: `t_${name}`,
      role_name: `r_${name}`,
      role_password_encrypted: 'v1.unused',
      process_strategy: 'pool',
      admin_email: 'admin@example.com',
      admin_login: 'admin@example.com',
    })
    .execute();
}

function sampleFor(op: Operation): Record<string, unknown> {
  const sample = sampleBodies[op.key];
  if (!sample) throw new Error(`${op.key}: no sample body; add a valid one to sampleBodies in this file`);
  return sample();
}

beforeAll(async () => {
  [test, roomy] = await Promise.all([
    startTestPlatform({ TENANT_DATABASE_URL: postgresAdminUrl() }),
    startTestPlatform({ BODY_LIMIT_BYTES: String(1024 * 1024), TENANT_DATABASE_URL: postgresAdminUrl() }),
  ]);
  const document: OpenApiDocument = (await test.http.get('/api/v1/openapi.json')).body;
  operations = listOperations(document);
  operatorToken = (await createOperator(test)).accessToken;
  roomyOperatorToken = (await createOperator(roomy)).accessToken;
  const customer = await registerCustomer(test.http, 'params');
  const key = await test.http.post('/api/v1/api-keys', { name: 'param target' }, { token: customer.accessToken });
  for (const target of [test, roomy]) {
    const token = target === test ? operatorToken : roomyOperatorToken;
    const created = await target.http.post('/api/v1/plans', planBody('bad-input-put'), { token });
    if (created.status !== 201) throw new Error(`could not create the plan: ${created.status} ${created.text}`);
  }
  // Each platform registers its own default server row; the path walk targets `test`'s.
  const servers = await test.http.get('/api/v1/database-servers', { token: operatorToken });
  sampleIds.accountId = customer.accountId;
  sampleIds.serverId = servers.body[0].id;
  for (const target of [test, roomy]) {
    const owner = target === test ? customer : await registerCustomer(roomy.http, 'params');
    await insertTenant(target, owner.accountId, 'badinputtarget');
  }
  const job = await test.http.post('/api/v1/tenants/badinputtarget/start', undefined, { token: operatorToken });
  const backup = await insertStoredBackup(test, 'badinputtarget', customer.userId);
  const subscription = await test.platform.billing.provider.subscribe({
    accountId: customer.accountId,
    tenantId: null,
    plan: 'standard',
    interval: 'month',
    trial: false,
  });
  const [invoice] = await test.platform.billing.reads.invoices(
    { accountId: null },
    { subscriptionId: subscription.id, limit: 1, offset: 0 },
  );
  // A credit note of its own invoice (paid by hand, refunded), so the invoice above stays open.
  const refunded = await test.platform.billing.provider.subscribe({
    accountId: customer.accountId,
    tenantId: null,
    plan: 'premium',
    interval: 'month',
    trial: false,
  });
  const [paidInvoice] = await test.platform.billing.reads.invoices(
    { accountId: null },
    { subscriptionId: refunded.id, limit: 1, offset: 0 },
  );
  if (!paidInvoice) throw new Error('no invoice to refund');
  await test.platform.billing.provider.recordPayment({
    invoiceId: paidInvoice.id,
    gateway: 'manual',
    reference: 'bad-input-paid',
    status: 'succeeded',
    amountMinor: paidInvoice.totalMinor,
    currency: paidInvoice.currency,
  });
  const creditNote = await test.platform.billing.provider.refunds.request({
    invoiceId: paidInvoice.id,
    amountMinor: 100,
    reason: 'bad input suite',
    requestedBy: null,
  });
  paramValues = {
    'credit-notes/{id}': creditNote.id,
    'subscriptions/{id}': subscription.id,
    'invoices/{id}': invoice?.id ?? '',
    'accounts/{id}': customer.accountId,
    'api-keys/{id}': key.body.id,
    'plans/{code}': 'bad-input-put',
    'tenants/{name}': 'badinputtarget',
    'tenant-names/{name}': 'badinputtarget',
    'templates/{code}': 'blank',
    'installations/{series}': '16.0',
    'database-servers/{id}': sampleIds.serverId,
    'jobs/{id}': job.body.jobId,
    'oidc/{issuer}': 'no-such-issuer',
    'identities/{id}': '00000000-0000-4000-8000-000000000000',
    'backups/{id}': backup.id,
    'backup-downloads/{token}': backup.token,
    'restores/{id}': await insertFinishedRestore(test, 'badinputtarget', backup.id),
    'migrations/{id}': await insertFinishedMigration(test, 'badinputtarget'),
    'domains/{domain}': 'erp.badinput-example.net',
    'notifications/{secret}': 'not-the-callback-secret',
  };
  const outbound = await insertOutboundFixtures(test, customer.accountId);
  paramValues['webhooks/{id}'] = outbound.endpoint;
  paramValues['webhook-deliveries/{id}'] = outbound.delivery;
  paramValues['notifications/{id}'] = outbound.notification;
});
afterAll(async () => {
  await Promise.all([test?.stop(), roomy?.stop()]);
});

const bodyOperations = () => operations.filter((op) => op.bodySchema);
const queryOperations = () => operations.filter((op) => op.queryParams.length > 0);

async function counts(target: TestPlatform = test) {
  const db = target.platform.database.db;
  const users = await db.selectFrom('users').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  const accounts = await db.selectFrom('accounts').select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  return { users: users.n, accounts: accounts.n };
}

/** Sends a body to a route as the operator; a failed register must leave no user or account behind. */
async function send(
  op: Operation,
  body: { json: unknown } | { raw: string },
  options: { target?: TestPlatform; headers?: Record<string, string> } = {},
) {
  const target = options.target ?? test;
  const token = target === test ? operatorToken : roomyOperatorToken;
  const isRegister = op.key === 'POST /api/v1/auth/register';
  const before = isRegister ? await counts(target) : undefined;
  const raw = 'raw' in body ? body.raw : JSON.stringify(body.json);
  const response = await target.http.request(op.method, fillPath(op, paramValues), undefined, { raw, token, headers: options.headers });
  if (before && response.status >= 400)
    expect(await counts(target), `${op.key} failed with ${response.status} but created something`).toEqual(before);
  return response;
}

/** A 4xx problem+json; with `field`, one that names it. Returns the deviations. */
function expect4xx(label: string, response: HttpResponse, expected: { status?: number; field?: string } = {}): string[] {
  const found = problemDeviations(response);
  if (response.status < 400 || response.status > 499) found.push(`expected 4xx, got ${response.status} ${response.text.slice(0, 200)}`);
  if (expected.status !== undefined && response.status !== expected.status)
    found.push(`expected ${expected.status}, got ${response.status} ${response.text.slice(0, 200)}`);
  if (expected.field !== undefined && response.body?.field !== expected.field) {
    found.push(`expected field ${expected.field}, got ${String(response.body?.field)} (${String(response.body?.detail).slice(0, 120)})`);
  }
  return found.map((d) => `${label}: ${d}`);
}

/** Never a 5xx, and problem+json whenever it is an error (for input that may well be valid). */
function expectNo5xx(label: string, response: HttpResponse): string[] {
  return problemDeviations(response).map((d) => `${label}: ${d}`);
}

interface Property {
  /** Path in the body, e.g. ["limits", "cpu"] or ["prices", "0", "currency"]. */
  path: string[];
  schema: JsonSchema;
}

/** Every declared property of a body schema, nested ones included (array items through the sample's first element). */
function propertiesOf(schema: JsonSchema, sample: unknown, path: string[] = []): Property[] {
  const objectSchema = schema.anyOf ? schema.anyOf.find((s) => s.properties) : schema;
  if (!objectSchema?.properties) return [];
  const record = (sample ?? {}) as Record<string, unknown>;
  return Object.entries(objectSchema.properties).flatMap(([name, child]) => {
    const here = [...path, name];
    const nested =
      child.items && Array.isArray(record[name]) && record[name].length > 0
        ? propertiesOf(child.items, record[name][0], [...here, '0'])
        : [];
    return [{ path: here, schema: child }, ...propertiesOf(child, record[name], here), ...nested];
  });
}

function withValue(sample: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(sample);
  let node: Record<string, unknown> = copy;
  for (const segment of path.slice(0, -1)) {
    node[segment] ??= {};
    node = node[segment] as Record<string, unknown>;
  }
  node[path.at(-1) ?? ''] = value;
  return copy;
}

/** Values of the wrong JSON type for a property of the given schema. */
function wrongTypes(schema: JsonSchema): unknown[] {
  const types = schemaTypes(schema);
  const values: unknown[] = [];
  if (!types.includes('null')) values.push(null);
  if (!types.includes('string')) values.push('not the right type');
  if (!types.includes('number') && !types.includes('integer')) values.push(12345);
  if (!types.includes('boolean')) values.push(true);
  if (!types.includes('object')) values.push({ nested: 'object' });
  if (!types.includes('array')) values.push(['an', 'array']);
  if (types.includes('integer')) values.push(1.5);
  return values;
}

const stringProperties = (op: Operation) =>
  propertiesOf(op.bodySchema ?? {}, sampleFor(op)).filter((p) => schemaTypes(p.schema).includes('string'));

describe('the walk covers the API', () => {
  it('finds the routes with bodies, queries and path parameters, with a sample body for each', () => {
    expect(bodyOperations().map((op) => op.key)).toEqual(
      expect.arrayContaining(['POST /api/v1/auth/register', 'POST /api/v1/plans', 'PUT /api/v1/plans/{code}']),
    );
    expect(queryOperations().map((op) => op.key)).toEqual(
      expect.arrayContaining(['GET /api/v1/accounts', 'GET /api/v1/audit-log', 'GET /api/v1/plans']),
    );
    const missing = bodyOperations()
      .filter((op) => !sampleBodies[op.key])
      .map((op) => op.key);
    expect(missing).toEqual([]);
    const unfilled = operations.flatMap((op) =>
      op.pathParams
        .map((p) => paramKey(op.path, p))
        .filter((k) => !(k in paramValues))
        .map((k) => `${op.key}: ${k}`),
    );
    expect(unfilled).toEqual([]);
  });
});

describe('request bodies', () => {
  it('refuses malformed JSON and empty bodies with 400 field body', async () => {
    const found: string[] = [];
    for (const op of bodyOperations()) {
      for (const raw of ['{bad', '{"email": ', '{"a":1}}', "{'single': 'quotes'}", '']) {
        const response = await send(op, { raw });
        found.push(...expect4xx(`${op.key} ${JSON.stringify(raw)}`, response, { status: 400, field: 'body' }));
      }
    }
    expect(found).toEqual([]);
  });

  it('refuses a JSON array, string, number, boolean or null instead of an object (null where the body may be absent is fine)', async () => {
    const found: string[] = [];
    for (const op of bodyOperations()) {
      const acceptsNull = schemaTypes(op.bodySchema ?? {}).includes('null');
      for (const raw of ['[]', '[{"email":"a@b.co"}]', '"a string"', '42', 'true', 'null']) {
        const response = await send(op, { raw });
        if (raw === 'null' && acceptsNull) found.push(...expectNo5xx(`${op.key} null`, response));
        else found.push(...expect4xx(`${op.key} ${raw}`, response, { status: 400, field: 'body' }));
      }
    }
    expect(found).toEqual([]);
  });

  it('refuses a value of the wrong type in each declared property, naming the property', async () => {
    const found: string[] = [];
    let cases = 0;
    for (const op of bodyOperations()) {
      for (const property of propertiesOf(op.bodySchema ?? {}, sampleFor(op))) {
        const field = property.path.join('.');
        for (const value of wrongTypes(property.schema)) {
          cases += 1;
          const response = await send(op, { json: withValue(sampleFor(op), property.path, value) });
          found.push(...expect4xx(`${op.key} ${field}=${JSON.stringify(value)}`, response, { status: 400, field }));
        }
        if (schemaTypes(property.schema).some((t) => t === 'number' || t === 'integer')) {
          // JSON.parse turns 1e400 into Infinity, which no limit may accept.
          const raw = JSON.stringify(withValue(sampleFor(op), property.path, '__INFINITY__')).replace('"__INFINITY__"', '1e400');
          found.push(...expect4xx(`${op.key} ${field}=1e400`, await send(op, { raw }), { status: 400, field }));
        }
      }
    }
    expect(cases).toBeGreaterThan(100);
    expect(found).toEqual([]);
  });

  it('refuses unknown fields, at the top and in nested objects, naming them', async () => {
    const found: string[] = [];
    for (const op of bodyOperations()) {
      const sample = sampleFor(op);
      found.push(...expect4xx(`${op.key} +x`, await send(op, { json: { ...sample, x: 1 } }), { status: 400, field: 'x' }));
      found.push(
        ...expect4xx(`${op.key} +isAdmin`, await send(op, { json: { ...sample, role: 'operator', isAdmin: true } }), { status: 400 }),
      );
      for (const property of propertiesOf(op.bodySchema ?? {}, sample).filter((p) => p.schema.properties)) {
        const field = [...property.path, 'x'].join('.');
        const nested = withValue(sample, [...property.path, 'x'], 1);
        found.push(...expect4xx(`${op.key} +${field}`, await send(op, { json: nested }), { status: 400, field }));
      }
    }
    expect(found).toEqual([]);
  });

  it('refuses a body over BODY_LIMIT_BYTES with 413, and accepts the limit as configured', async () => {
    expect(test.config.bodyLimitBytes).toBe(64 * 1024);
    const found: string[] = [];
    for (const op of bodyOperations()) {
      const oversized = JSON.stringify({ ...sampleFor(op), padding: 'x'.repeat(test.config.bodyLimitBytes) });
      found.push(...expect4xx(`${op.key} oversized`, await send(op, { raw: oversized }), { status: 413, field: 'body' }));
      // The same padding on the platform with a 1 MiB limit reaches validation (unknown field).
      found.push(...expect4xx(`${op.key} roomy`, await send(op, { raw: oversized }, { target: roomy }), { status: 400, field: 'padding' }));
    }
    expect(found).toEqual([]);
  });

  it('refuses very long strings in every string property, naming it', async () => {
    const found: string[] = [];
    for (const op of bodyOperations()) {
      for (const property of stringProperties(op)) {
        const field = property.path.join('.');
        const long = withValue(sampleFor(op), property.path, 'a'.repeat(20_000));
        found.push(...expect4xx(`${op.key} ${field} 20k`, await send(op, { json: long }), { status: 400, field }));
        const huge = withValue(sampleFor(op), property.path, 'a'.repeat(100_000));
        found.push(...expect4xx(`${op.key} ${field} 100k`, await send(op, { json: huge }), { status: 413 }));
        found.push(
          ...expect4xx(`${op.key} ${field} 100k roomy`, await send(op, { json: huge }, { target: roomy }), { status: 400, field }),
        );
      }
    }
    expect(found).toEqual([]);
  });

  it('never fails on SQL-looking strings in any string property', async () => {
    const found: string[] = [];
    for (const op of bodyOperations()) {
      for (const property of stringProperties(op)) {
        for (const value of ["'; DROP TABLE users; --", '" OR 1=1 --', "admin'--", '1; SELECT pg_sleep(10)', '\\x00\\', '%_%']) {
          const response = await send(op, { json: withValue(sampleFor(op), property.path, value) });
          found.push(...expectNo5xx(`${op.key} ${property.path.join('.')}=${value}`, response));
        }
      }
    }
    expect(found).toEqual([]);
    const users = await counts();
    expect(users.users).toBeGreaterThan(0);
  });

  it('accepts emoji and right-to-left text, and refuses NUL and lone surrogates naming the property', async () => {
    const found: string[] = [];
    for (const op of bodyOperations()) {
      for (const property of stringProperties(op)) {
        const field = property.path.join('.');
        for (const value of ['Café 😀🎉 ∑', 'שלום עולם مرحبا', 'a\u202Eevil\u202C', 'ｆｕｌｌｗｉｄｔｈ', 'e\u0301']) {
          found.push(
            ...expectNo5xx(
              `${op.key} ${field}=${JSON.stringify(value)}`,
              await send(op, { json: withValue(sampleFor(op), property.path, value) }),
            ),
          );
        }
        for (const value of ['a\u0000b', '\u0000', 'a\uD800b', '\uDFFF', 'x\uDBFF']) {
          const response = await send(op, { json: withValue(sampleFor(op), property.path, value) });
          found.push(...expect4xx(`${op.key} ${field}=${JSON.stringify(value)}`, response, { status: 400, field }));
        }
      }
    }
    expect(found).toEqual([]);
  });

  it('refuses a nested structure thousands of levels deep without crashing', async () => {
    const found: string[] = [];
    for (const op of bodyOperations()) {
      const arrays = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
      found.push(...expect4xx(`${op.key} deep array`, await send(op, { raw: arrays }), { status: 400 }));
      const objects = `{"x":${'{"a":'.repeat(5_000)}"\\u0000"${'}'.repeat(5_000)}}`;
      found.push(...expect4xx(`${op.key} deep object`, await send(op, { raw: objects }), { status: 400 }));
      // A __proto__ key makes the JSON parser walk the whole structure looking for it.
      const proto = `{"x":${'{"a":'.repeat(10_000)}{"__proto__":{}}${'}'.repeat(10_000)}}`;
      found.push(...expect4xx(`${op.key} deep __proto__`, await send(op, { raw: proto }), { status: 400 }));
    }
    expect(found).toEqual([]);
  });

  it('refuses bodies that are not JSON with 415', async () => {
    const found: string[] = [];
    for (const op of bodyOperations()) {
      const json = JSON.stringify(sampleFor(op));
      for (const contentType of [
        'text/plain',
        'text/plain;charset=UTF-8',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
      ]) {
        const response = await send(op, { raw: json }, { headers: { 'content-type': contentType } });
        found.push(...expect4xx(`${op.key} ${contentType}`, response, { status: 415, field: 'content-type' }));
      }
    }
    expect(found).toEqual([]);
  });

  it('refuses prototype-pollution keys', async () => {
    const op = operations.find((o) => o.key === 'POST /api/v1/auth/login');
    if (!op) throw new Error('no login route');
    for (const raw of [
      '{"email":"a@b.co","password":"x","__proto__":{"role":"operator"}}',
      '{"email":"a@b.co","password":"x","constructor":{"prototype":{"x":1}}}',
    ]) {
      expect(expect4xx(raw, await send(op, { raw }), { status: 400 })).toEqual([]);
    }
    expect(({} as Record<string, unknown>).role).toBeUndefined();
  });
});

describe('query strings', () => {
  function wrongQueryValues(schema: JsonSchema): string[] {
    const types = schemaTypes(schema);
    const values = ['a'.repeat(5_000)];
    if (types.includes('integer') || types.includes('number')) values.push('abc', '1.5', '-1', '1e400', 'NaN', 'Infinity');
    if (schema.enum) values.push('not-one-of-them', 'TRUE');
    if (schema.format === 'uuid') values.push('not-a-uuid', "' OR 1=1 --", '00000000-0000-0000-0000-00000000000g');
    return values;
  }

  it('refuses invalid values of each declared parameter, naming query.<name>', async () => {
    const found: string[] = [];
    let cases = 0;
    for (const op of queryOperations()) {
      for (const param of op.queryParams) {
        const field = `query.${param.name}`;
        const values = [...wrongQueryValues(param.schema), 'a\u0000b'];
        for (const value of values) {
          cases += 1;
          const path = `${fillPath(op, paramValues)}?${param.name}=${encodeURIComponent(value)}`;
          found.push(
            ...expect4xx(`${op.key} ${param.name}=${value.slice(0, 40)}`, await test.http.get(path, { token: operatorToken }), {
              status: 400,
              field,
            }),
          );
        }
        const repeated = `${fillPath(op, paramValues)}?${param.name}=1&${param.name}=2`;
        found.push(
          ...expect4xx(`${op.key} repeated ${param.name}`, await test.http.get(repeated, { token: operatorToken }), { status: 400, field }),
        );
      }
    }
    expect(cases).toBeGreaterThan(20);
    expect(found).toEqual([]);
  });

  it('names limit=abc as query.limit', async () => {
    const response = await test.http.get('/api/v1/accounts?limit=abc', { token: operatorToken });
    expect(response.status).toBe(400);
    expect(response.body.field).toBe('query.limit');
  });

  it('refuses unknown query parameters, naming them', async () => {
    const found: string[] = [];
    for (const op of queryOperations()) {
      const response = await test.http.get(`${fillPath(op, paramValues)}?x=1`, { token: operatorToken });
      found.push(...expect4xx(`${op.key} ?x=1`, response, { status: 400, field: 'query.x' }));
    }
    expect(found).toEqual([]);
  });

  it('never fails on SQL-looking or unicode strings in any query parameter', async () => {
    const found: string[] = [];
    for (const op of queryOperations()) {
      for (const param of op.queryParams) {
        for (const value of ["'; DROP TABLE users; --", '" OR 1=1 --', '%', '_', '\\', 'Café 😀', 'שלום']) {
          const response = await test.http.get(`${fillPath(op, paramValues)}?${param.name}=${encodeURIComponent(value)}`, {
            token: operatorToken,
          });
          found.push(...expectNo5xx(`${op.key} ${param.name}=${value}`, response));
        }
      }
    }
    expect(found).toEqual([]);
  });
});

describe('path parameters', () => {
  const hostile = [
    'not-a-uuid',
    encodeURIComponent('../../etc/passwd'),
    encodeURIComponent("' OR 1=1 --"),
    encodeURIComponent('😀'),
    '%00',
    '%E0%A4%A',
    'a'.repeat(1000),
    'A'.repeat(150),
  ];

  it('answers 4xx problem+json to hostile values of every path parameter, naming params.<name> on validation errors', async () => {
    const found: string[] = [];
    for (const op of operations.filter((o) => o.pathParams.length > 0)) {
      for (const name of op.pathParams) {
        for (const value of hostile) {
          const path = fillPath(op, paramValues, { [name]: value });
          const raw = op.bodySchema ? JSON.stringify(sampleFor(op)) : undefined;
          const response = await test.http.request(op.method, path, undefined, { token: operatorToken, raw });
          const label = `${op.key} ${name}=${value.slice(0, 40)}`;
          if (op.key === 'GET /api/v1/tenant-names/{name}' && response.status === 200) {
            // The availability check answers any name with a verdict: an invalid one must be unavailable.
            if (response.body.available !== (value === 'not-a-uuid')) found.push(`${label}: availability ${response.body.available}`);
            continue;
          }
          found.push(...expect4xx(label, response));
          if (response.body?.type === '/problems/validation' && response.body.field !== `params.${name}`) {
            found.push(`${label}: field ${response.body.field}, expected params.${name}`);
          }
        }
      }
    }
    expect(found).toEqual([]);
  });

  it('answers specific statuses: non-UUID 400, too long 414, broken percent-encoding 400, traversal never leaves the API', async () => {
    const get = (path: string) => test.http.get(path, { token: operatorToken });
    expect(expect4xx('uuid', await get('/api/v1/accounts/not-a-uuid'), { status: 400, field: 'params.id' })).toEqual([]);
    expect(
      expect4xx('encoded traversal', await get('/api/v1/accounts/..%2F..%2Fetc%2Fpasswd'), { status: 400, field: 'params.id' }),
    ).toEqual([]);
    expect(expect4xx('long', await get(`/api/v1/accounts/${'a'.repeat(1000)}`), { status: 414 })).toEqual([]);
    expect(expect4xx('bad encoding', await get('/api/v1/accounts/%E0%A4%A'), { status: 400 })).toEqual([]);
    // fetch resolves dot segments like any client would; the result is still an API 404.
    const traversal = await get('/api/v1/accounts/../../etc/passwd');
    expect(expect4xx('traversal', traversal, { status: 404 })).toEqual([]);
    expect(traversal.text).not.toContain('root:');
  });

  it('still writes the audit entry of a refused call whose path holds a NUL', async () => {
    const response = await test.http.delete('/api/v1/api-keys/a%00b', { token: operatorToken });
    expect(expect4xx('nul', response, { status: 400, field: 'params.id' })).toEqual([]);
    const audit = await test.http.get('/api/v1/audit-log?action=DELETE%20%2Fapi%2Fv1%2Fapi-keys%2F%3Aid', { token: operatorToken });
    const entry = audit.body.find((e: { requestId: string }) => e.requestId === response.body.requestId);
    expect(entry).toMatchObject({ outcome: 'failure', statusCode: 400, targetId: 'a\uFFFDb' });
  });
});

describe('hostile strings in valid fields are data, stored verbatim', () => {
  it('stores SQL-looking names verbatim and the users table survives', async () => {
    const email = uniqueEmail('sql');
    const name = `Robert'); DROP TABLE users; --`;
    const organization = `" OR 1=1 -- ; DELETE FROM accounts; /* */`;
    const registered = await test.http.post('/api/v1/auth/register', { email, password: GOOD_PASSWORD, name, organization });
    expect(registered.status).toBe(201);
    const login = await test.http.post('/api/v1/auth/login', { email, password: GOOD_PASSWORD });
    const me = await test.http.get('/api/v1/me', { token: login.body.accessToken });
    expect(me.body.user.name).toBe(name);
    const account = await test.http.get(`/api/v1/accounts/${registered.body.account.id}`, { token: login.body.accessToken });
    expect(account.body.name).toBe(organization);
    const { users, accounts } = await counts();
    expect(users).toBeGreaterThan(1);
    expect(accounts).toBeGreaterThan(1);
  });

  it('stores emoji, right-to-left and combining text verbatim', async () => {
    const email = uniqueEmail('unicode');
    const name = 'Zoë 😀 \u202Eevil\u202C e\u0301';
    const organization = 'שלום عالم 🏢 Ltd';
    const registered = await test.http.post('/api/v1/auth/register', { email, password: GOOD_PASSWORD, name, organization });
    expect(registered.status).toBe(201);
    const account = await test.http.get(`/api/v1/accounts/${registered.body.account.id}`, { token: operatorToken });
    expect(account.body.name).toBe(organization);
    expect(account.body.users[0].name).toBe(name);
  });

  it('stores an SQL-looking plan description verbatim', async () => {
    const description = `'); UPDATE plans SET archived_at = now(); -- \\ % _ "`;
    const created = await test.http.post('/api/v1/plans', { ...planBody('sql-description'), description }, { token: operatorToken });
    expect(created.status).toBe(201);
    const fetched = await test.http.get('/api/v1/plans/sql-description');
    expect(fetched.body.description).toBe(description);
    expect((await test.http.get('/api/v1/plans')).body.map((p: { code: string }) => p.code)).toContain('basic');
  });

  it('treats LIKE wildcards in the account search literally', async () => {
    const percent = await registerCustomer(test.http, 'pct');
    await test.http.post('/api/v1/auth/register', {
      email: uniqueEmail('pct2'),
      password: GOOD_PASSWORD,
      name: 'A',
      organization: '100% Real Ltd',
    });
    const search = await test.http.get(`/api/v1/accounts?search=${encodeURIComponent('%')}&limit=500`, { token: operatorToken });
    expect(search.status).toBe(200);
    expect(search.body.length).toBeGreaterThan(0);
    expect(search.body.every((a: { name: string }) => a.name.includes('%'))).toBe(true);
    expect(search.body.map((a: { id: string }) => a.id)).not.toContain(percent.accountId);
    const quoted = await test.http.post('/api/v1/auth/register', {
      email: uniqueEmail('quote'),
      password: GOOD_PASSWORD,
      name: 'A',
      organization: "x' OR 1=1 -- y",
    });
    const injected = await test.http.get(`/api/v1/accounts?search=${encodeURIComponent("' OR 1=1 --")}&limit=500`, {
      token: operatorToken,
    });
    expect(injected.status).toBe(200);
    expect(injected.body.map((a: { id: string }) => a.id)).toContain(quoted.body.account.id);
    expect(injected.body.every((a: { name: string }) => a.name.includes("' OR 1=1 --"))).toBe(true);
  });

  it('refuses an SQL-looking email and creates nothing', async () => {
    const before = await counts();
    const response = await test.http.post('/api/v1/auth/register', {
      email: "' OR 1=1 --@example.com",
      password: GOOD_PASSWORD,
      name: 'A',
      organization: 'B',
    });
    expect(expect4xx('sql email', response, { status: 400, field: 'email' })).toEqual([]);
    expect(await counts()).toEqual(before);
    const login = await test.http.post('/api/v1/auth/login', { email: "admin' --", password: 'x' });
    expect(expect4xx('sql login', login, { status: 400, field: 'email' })).toEqual([]);
  });

  it('a failed register leaves no user row behind', async () => {
    const email = uniqueEmail('ghost');
    const cases = [
      { email, password: GOOD_PASSWORD, name: 'A', organization: 'B', x: 1 },
      { email, password: 'weak', name: 'A', organization: 'B' },
      { email, password: GOOD_PASSWORD, name: 'A\u0000', organization: 'B' },
      { email, password: GOOD_PASSWORD, name: 'A', organization: 'B'.repeat(500) },
    ];
    for (const body of cases) {
      const response = await test.http.post('/api/v1/auth/register', body);
      expect(response.status).toBe(400);
    }
    const rows = await test.platform.database.db.selectFrom('users').select('id').where('email', '=', email).execute();
    expect(rows).toEqual([]);
  });
});
