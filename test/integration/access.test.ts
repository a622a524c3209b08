import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertFinishedMigration, insertFinishedRestore, insertStoredBackup } from '../helpers/backups.js';
import { fillPath, listOperations, type OpenApiDocument, type Operation, paramKey, problemDeviations } from '../helpers/openapi.js';
import { insertOutboundFixtures } from '../helpers/outbound.js';
import { createOperator, type HttpResponse, registerCustomer, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

/**
 * Role enforcement on every route, driven by the published OpenAPI document: a route added later
 * is walked automatically, and a route whose path parameter this file cannot fill fails the walk
 * until the parameter table below says which resource it names.
 */

type Customer = Awaited<ReturnType<typeof registerCustomer>>;
type CallerKind = 'anonymous' | 'other' | 'owner' | 'operator';

let test: TestPlatform;
let document: OpenApiDocument;
let operations: Operation[];
let owner: Customer;
let other: Customer;
let operator: Awaited<ReturnType<typeof createOperator>>;
/** The owner's key that the walk targets through /api-keys/{id} (the owner's own pass revokes it). */
let targetKey: { id: string; key: string };
/** Credentials used as callers (never targeted). */
const apiKeys: Record<'owner' | 'other' | 'operator', string> = { owner: '', other: '', operator: '' };

/** Path parameter values by paramKey, and whether they name something the owner's account owns. */
let paramValues: Record<string, string>;
const ownerOwnedParams = new Set([
  'accounts/{id}',
  'api-keys/{id}',
  'tenants/{name}',
  'jobs/{id}',
  'backups/{id}',
  'restores/{id}',
  'subscriptions/{id}',
  'invoices/{id}',
  'credit-notes/{id}',
  'domains/{domain}',
  'webhooks/{id}',
  'webhook-deliveries/{id}',
]);
/** Values of query parameters a route answers 2xx only with, by name (`GET /tls/ask?domain=`). */
let queryValues: Record<string, string>;

/**
 * The query of an operation: its required parameters and those named in `queryValues`, filled
 * from there; a new required one fails the walk until added.
 */
function requiredQuery(op: Operation): string {
  const required = op.queryParams.filter((p) => p.required || p.name in queryValues);
  if (required.length === 0) return '';
  const pairs = required.map((p) => {
    const value = queryValues[p.name];
    if (value === undefined)
      throw new Error(`${op.key}: no test value for query parameter "${p.name}"; add one to this test's query table`);
    return `${p.name}=${encodeURIComponent(value)}`;
  });
  return `?${pairs.join('&')}`;
}
/** The owner's webhook endpoint, delivery and logged mail (re-made before each walk: a pass may delete them). */
let outbound: Awaited<ReturnType<typeof insertOutboundFixtures>>;

async function createKey(token: string, name: string): Promise<{ id: string; key: string }> {
  const response = await test.http.post('/api/v1/api-keys', { name }, { token });
  if (response.status !== 201) throw new Error(`could not create an API key: ${response.status} ${response.text}`);
  return { id: response.body.id, key: response.body.key };
}

/**
 * An identity provider that only publishes its discovery document and answers its authorization
 * page: enough for "Sign in with" to redirect there (the sign-in itself is tested with a real
 * provider in identity-oidc.test.ts).
 */
async function startDiscoveryStub(): Promise<{ issuer: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (req.url === '/.well-known/openid-configuration') {
      const document = {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        code_challenge_methods_supported: ['S256'],
      };
      return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document));
    }
    res.writeHead(req.url?.startsWith('/authorize') ? 200 : 404, { 'content-type': 'text/plain' }).end('stub');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    issuer: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
let idp: Awaited<ReturnType<typeof startDiscoveryStub>>;

beforeAll(async () => {
  idp = await startDiscoveryStub();
  test = await startTestPlatform({
    TENANT_DATABASE_URL: postgresAdminUrl(),
    OIDC_ISSUERS: JSON.stringify([{ name: 'idp', issuer: idp.issuer, audience: 'saas', codeFlow: { clientId: 'saas' } }]),
  });
  const response = await test.http.get('/api/v1/openapi.json');
  expect(response.status).toBe(200);
  document = response.body;
  operations = listOperations(document);
  owner = await registerCustomer(test.http, 'owner');
  other = await registerCustomer(test.http, 'other');
  operator = await createOperator(test);
  targetKey = await createKey(owner.accessToken, 'walk target');
  apiKeys.owner = (await createKey(owner.accessToken, 'owner caller')).key;
  apiKeys.other = (await createKey(other.accessToken, 'other caller')).key;
  apiKeys.operator = (await createKey(operator.accessToken, 'operator caller')).key;
  // A tenant of the owner's account, written directly: this suite has no Odoo to provision one.
  const ownerTenant = `owned${Date.now().toString(36)}`;
  await test.platform.database.db
    .insertInto('tenants')
    .values({
      name: ownerTenant,
      account_id: owner.accountId,
      plan_code: 'basic',
      template_code: 'blank',
      state: 'stopped',
      database_name: `t_${ownerTenant}`,
      role_name: `r_${ownerTenant}`,
      role_password_encrypted: 'v1.unused',
      process_strategy: 'pool',
      admin_email: owner.email,
      admin_login: owner.email,
    })
    .execute();
  // A job of that tenant (it fails for want of Odoo, which does not matter here).
  const started = await test.http.post(`/api/v1/tenants/${ownerTenant}/start`, undefined, { token: owner.accessToken });
  if (started.status !== 202) throw new Error(`could not start the owner's tenant: ${started.text}`);
  const servers = await test.http.get('/api/v1/database-servers', { token: operator.accessToken });
  // A download link is a bearer credential of its own: whoever holds it downloads (it expires).
  const backup = await insertStoredBackup(test, ownerTenant, owner.userId);
  // A subscription of the owner's account with its first invoice.
  const { provider, reads } = test.platform.billing;
  const subscription = await provider.subscribe({
    accountId: owner.accountId,
    tenantId: null,
    plan: 'standard',
    interval: 'month',
    trial: false,
  });
  const [invoice] = await reads.invoices({ accountId: owner.accountId }, { limit: 1, offset: 0 });
  // A credit note of the owner's: another invoice, paid by hand and refunded in part.
  const refunded = await provider.subscribe({
    accountId: owner.accountId,
    tenantId: null,
    plan: 'premium',
    interval: 'month',
    trial: false,
  });
  const [paid] = await reads.invoices({ accountId: null }, { subscriptionId: refunded.id, limit: 1, offset: 0 });
  if (!paid) throw new Error('no invoice to refund');
  await provider.recordPayment({
    invoiceId: paid.id,
    gateway: 'manual',
    reference: 'access-walk',
    status: 'succeeded',
    amountMinor: paid.totalMinor,
    currency: paid.currency,
  });
  const creditNote = await provider.refunds.request({ invoiceId: paid.id, amountMinor: 100, reason: 'access walk', requestedBy: null });
  const ownerDomain = `walk-${Date.now().toString(36)}.owner-example.net`;
  const added = await test.http.post(`/api/v1/tenants/${ownerTenant}/domains`, { domain: ownerDomain }, { token: owner.accessToken });
  if (added.status !== 201) throw new Error(`could not add the owner's domain: ${added.text}`);
  // A platform host: served whatever the walk did to the owner's tenant before.
  queryValues = { domain: `app.${test.config.baseDomain}` };
  paramValues = {
    'backups/{id}': backup.id,
    'backup-downloads/{token}': backup.token,
    'restores/{id}': await insertFinishedRestore(test, ownerTenant, backup.id),
    'migrations/{id}': await insertFinishedMigration(test, ownerTenant),
    'subscriptions/{id}': subscription.id,
    'invoices/{id}': invoice?.id ?? '',
    'credit-notes/{id}': creditNote.id,
    'accounts/{id}': owner.accountId,
    'api-keys/{id}': targetKey.id,
    'plans/{code}': 'basic',
    'tenants/{name}': ownerTenant,
    'tenant-names/{name}': ownerTenant,
    'templates/{code}': 'blank',
    'installations/{series}': '16.0',
    'database-servers/{id}': servers.body[0].id,
    'jobs/{id}': started.body.jobId,
    'oidc/{issuer}': 'idp',
    'identities/{id}': '00000000-0000-4000-8000-000000000000',
    'domains/{domain}': ownerDomain,
    // Kill Bill's callback: its secret is in the path; a wrong one is a 404 whatever the caller.
    'notifications/{secret}': 'not-the-callback-secret',
  };
  outbound = await insertOutboundFixtures(test, owner.accountId);
  paramValues['webhooks/{id}'] = outbound.endpoint;
  paramValues['webhook-deliveries/{id}'] = outbound.delivery;
  paramValues['notifications/{id}'] = outbound.notification;
});
afterAll(async () => {
  await test?.stop();
  await idp?.close();
});

describe('the OpenAPI document declares access on every operation', () => {
  it('lists the fixed routes and all three access levels', () => {
    const keys = operations.map((o) => o.key);
    for (const required of [
      'POST /api/v1/auth/register',
      'POST /api/v1/auth/login',
      'GET /api/v1/me',
      'GET /api/v1/plans',
      'POST /api/v1/plans',
    ]) {
      expect(keys).toContain(required);
    }
    expect(new Set(operations.map((o) => o.operation['x-access']))).toEqual(new Set(['public', 'user', 'operator']));
  });

  it('gives every operation x-access, and security [] exactly for public ones', () => {
    const wrong: string[] = [];
    for (const { key, operation } of operations) {
      const access = operation['x-access'];
      if (access !== 'public' && access !== 'user' && access !== 'operator') wrong.push(`${key}: x-access ${String(access)}`);
      const security = operation.security;
      if (access === 'public' && !(Array.isArray(security) && security.length === 0))
        wrong.push(`${key}: public but security ${JSON.stringify(security)}`);
      if (access !== 'public' && !(Array.isArray(security) && security.length > 0))
        wrong.push(`${key}: ${access} but security ${JSON.stringify(security)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('has a test value for every path parameter (add new ones to the table in this file)', () => {
    const missing = operations.flatMap((o) =>
      o.pathParams
        .map((name) => paramKey(o.path, name))
        .filter((key) => !(key in paramValues))
        .map((key) => `${o.key}: ${key}`),
    );
    expect(missing).toEqual([]);
  });
});

/** Values under these keys anywhere in a response identify whose data it is. */
const IDENTIFYING_KEYS = new Set(['id', 'accountId', 'userId', 'actorUserId', 'email', 'actorLabel']);

function ownerIdentifiers(): Set<string> {
  return new Set([owner.accountId, owner.userId, owner.email, targetKey.id]);
}

/** Paths in `value` where an identifying key holds one of the owner's identifiers. */
function ownerDataIn(value: unknown, identifiers: Set<string>, path = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => ownerDataIn(item, identifiers, `${path}[${index}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const here = `${path}.${key}`;
    const leak = IDENTIFYING_KEYS.has(key) && typeof child === 'string' && identifiers.has(child) ? [here] : [];
    return [...leak, ...ownerDataIn(child, identifiers, here)];
  });
}

function credentialFor(caller: { kind: CallerKind; via: 'token' | 'key' }): string | undefined {
  if (caller.kind === 'anonymous') return undefined;
  if (caller.via === 'key') return apiKeys[caller.kind];
  return { owner: owner.accessToken, other: other.accessToken, operator: operator.accessToken }[caller.kind];
}

/** What the rules say about one answer; returns the violations. */
function violations(kind: CallerKind, op: Operation, response: HttpResponse): string[] {
  const access = op.operation['x-access'];
  const status = response.status;
  const found = problemDeviations(response);
  const ownsParam = op.pathParams.some((name) => ownerOwnedParams.has(paramKey(op.path, name)));
  switch (kind) {
    case 'anonymous':
      if (access === 'public' && (status === 401 || status === 403)) found.push(`public route refused anonymous with ${status}`);
      if (access !== 'public') {
        if (status !== 401) found.push(`expected 401, got ${status}`);
        if (response.headers.get('www-authenticate') !== 'Bearer') found.push('401 without WWW-Authenticate: Bearer');
      }
      break;
    case 'other':
      if (status === 401) found.push('a valid customer credential was refused with 401');
      if (access === 'operator' && status !== 403) found.push(`operator route: expected 403, got ${status}`);
      if (access !== 'operator' && ownsParam && status !== 404 && status !== 403)
        found.push(`owner's resource: expected 404 or 403, got ${status}`);
      for (const leak of ownerDataIn(response.body, ownerIdentifiers())) found.push(`owner's data visible at ${leak}`);
      break;
    case 'owner':
      if (status === 401) found.push('the owner was refused with 401');
      if (access === 'operator' && status !== 403) found.push(`operator route: expected 403, got ${status}`);
      if (access !== 'operator' && status === 403) found.push('the owner was refused with 403');
      if (access !== 'operator' && op.method === 'GET' && (status < 200 || status > 299)) found.push(`GET expected 2xx, got ${status}`);
      break;
    case 'operator':
      if (status === 401 || status === 403) found.push(`operator refused with ${status}`);
      if (op.method === 'GET' && (status < 200 || status > 299)) found.push(`GET expected 2xx, got ${status}`);
      break;
  }
  return found.map((v) => `${op.key} as ${kind}: ${v}`);
}

async function walk(caller: { kind: CallerKind; via: 'token' | 'key' }): Promise<string[]> {
  const token = credentialFor(caller);
  await insertOutboundFixtures(test, owner.accountId, outbound);
  const found: string[] = [];
  for (const op of operations) {
    const response = await test.http.request(op.method, fillPath(op, paramValues) + requiredQuery(op), undefined, { token });
    found.push(...violations(caller.kind, op, response));
  }
  return found;
}

// Tests in a file run in order: the other customer's attempts come before the owner's own calls
// (which revoke the target key) and the operator's (which archive a plan).
describe('walking every route of the document', () => {
  const callers: Array<{ kind: CallerKind; via: 'token' | 'key' }> = [
    { kind: 'anonymous', via: 'token' },
    { kind: 'other', via: 'token' },
    { kind: 'other', via: 'key' },
    { kind: 'owner', via: 'token' },
    { kind: 'owner', via: 'key' },
    { kind: 'operator', via: 'token' },
    { kind: 'operator', via: 'key' },
  ];

  it('the owner data the isolation checks look for exists and operators see it (control)', async () => {
    const key = await test.http.get('/api/v1/me', { token: targetKey.key });
    expect(key.status).toBe(200);
    const accounts = await test.http.get('/api/v1/accounts?limit=500', { token: operator.accessToken });
    expect(accounts.body.map((a: { id: string }) => a.id)).toContain(owner.accountId);
    const users = await test.http.get('/api/v1/users?limit=500', { token: operator.accessToken });
    expect(users.body.map((u: { id: string }) => u.id)).toContain(owner.userId);
    const audit = await test.http.get('/api/v1/audit-log?limit=500', { token: operator.accessToken });
    expect(ownerDataIn(audit.body, ownerIdentifiers()).length).toBeGreaterThan(0);
    const keys = await test.http.get('/api/v1/api-keys', { token: owner.accessToken });
    expect(ownerDataIn(keys.body, ownerIdentifiers())).toEqual([expect.stringMatching(/^\$\[\d\]\.id$/)]);
    // The detector itself: the owner's own view of its account is full of its identifiers.
    const account = await test.http.get(`/api/v1/accounts/${owner.accountId}`, { token: owner.accessToken });
    expect(ownerDataIn(account.body, ownerIdentifiers())).toEqual(expect.arrayContaining(['$.id', '$.users[0].id', '$.users[0].email']));
  });

  for (const caller of callers) {
    const label =
      caller.kind === 'anonymous'
        ? 'anonymous'
        : `${caller.kind === 'other' ? 'a customer of another account' : caller.kind === 'owner' ? 'the owning customer' : 'an operator'} (${caller.via === 'key' ? 'API key' : 'access token'})`;
    it(`calls every route as ${label}`, async () => {
      expect(operations.length).toBeGreaterThan(10);
      expect(await walk(caller)).toEqual([]);
      if (caller.kind === 'other') {
        // The attempt on DELETE /api-keys/{owner's key} changed nothing.
        expect((await test.http.get('/api/v1/me', { token: targetKey.key })).status).toBe(200);
      }
    });
  }

  it("the owner's pass revoked the target key, which is now refused everywhere, public routes included", async () => {
    const me = await test.http.get('/api/v1/me', { token: targetKey.key });
    expect(me.status).toBe(401);
    const plans = await test.http.get('/api/v1/plans', { token: targetKey.key });
    expect(plans.status).toBe(401);
    expect(plans.body.detail).toMatch(/API key/);
  });
});

describe('authentication happens before anything else', () => {
  it('answers 401 to anonymous calls with a malformed or invalid body, before parsing or validating it', async () => {
    const checked: string[] = [];
    const found: string[] = [];
    for (const op of operations) {
      if (op.operation['x-access'] === 'public' || op.method === 'GET') continue;
      for (const raw of ['{bad', '{"unexpected": [1, 2, 3]}', '[]']) {
        const response = await test.http.request(op.method, fillPath(op, paramValues), undefined, { raw });
        checked.push(op.key);
        if (response.status !== 401) found.push(`${op.key} with body ${raw}: ${response.status} ${response.text.slice(0, 120)}`);
        found.push(...problemDeviations(response).map((d) => `${op.key}: ${d}`));
      }
    }
    expect(checked).toContain('POST /api/v1/plans');
    expect(checked).toContain('POST /api/v1/api-keys');
    expect(found).toEqual([]);
  });

  it('answers 403 to a customer on operator routes whatever the body', async () => {
    const found: string[] = [];
    for (const op of operations) {
      if (op.operation['x-access'] !== 'operator' || op.method === 'GET') continue;
      const response = await test.http.request(op.method, fillPath(op, paramValues), undefined, { raw: '{bad', token: other.accessToken });
      if (response.status !== 403) found.push(`${op.key}: ${response.status}`);
    }
    expect(found).toEqual([]);
  });

  it('refuses a garbage or malformed bearer credential with 401 even on public routes', async () => {
    const cases: Array<Record<string, string>> = [
      { authorization: 'Bearer garbage' },
      { authorization: 'Bearer sk_not-a-real-api-key' },
      { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl' },
      { authorization: 'Basic dXNlcjpwYXNz' },
      { authorization: 'Bearer' },
    ];
    for (const headers of cases) {
      for (const path of ['/api/v1/plans', '/api/v1/plans/basic']) {
        const response = await test.http.get(path, { headers });
        expect(response.status, `${headers.authorization} on ${path}`).toBe(401);
        expect(problemDeviations(response)).toEqual([]);
      }
      const login = await test.http.post('/api/v1/auth/login', { email: owner.email, password: 'irrelevant' }, { headers });
      expect(login.status).toBe(401);
    }
  });

  it('treats a stale session cookie like no cookie on public routes, and as unauthenticated elsewhere', async () => {
    const cookie = 'saas_session=ss_stale-or-forged-session-token';
    expect((await test.http.get('/api/v1/plans', { headers: { cookie } })).status).toBe(200);
    const me = await test.http.get('/api/v1/me', { headers: { cookie } });
    expect(me.status).toBe(401);
  });

  it('does not let query filters widen a customer view of the audit log', async () => {
    const byAccount = await test.http.get(`/api/v1/audit-log?accountId=${owner.accountId}`, { token: other.accessToken });
    expect(byAccount.status).toBe(200);
    expect(byAccount.body.length).toBeGreaterThan(0);
    expect(byAccount.body.every((e: { accountId: string }) => e.accountId === other.accountId)).toBe(true);
    const byActor = await test.http.get(`/api/v1/audit-log?actorUserId=${owner.userId}`, { token: other.accessToken });
    expect(byActor.status).toBe(200);
    expect(byActor.body).toEqual([]);
    const asOperator = await test.http.get(`/api/v1/audit-log?actorUserId=${owner.userId}`, { token: operator.accessToken });
    expect(asOperator.body.length).toBeGreaterThan(0);
  });
});
