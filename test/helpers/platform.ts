import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logging/index.js';
import { type Platform, startPlatform } from '../../src/main.js';
import { waitFor } from './gateway-client.js';
import { createTestDatabase, postgresAdminUrl, type TestDatabase } from './postgres.js';

export interface TestPlatform {
  platform: Platform;
  url: string;
  database: TestDatabase;
  config: Config;
  http: HttpClient;
  stop(): Promise<void>;
}

/**
 * The whole platform (real PostgreSQL, real HTTP listener on a free port) with its own database
 * and data directory. `env` overrides settings as environment variables would. `replicaOf`: a
 * second replica of that platform (its database, its own data directory); the database is
 * dropped by the platform that made it.
 */
export async function startTestPlatform(
  env: Record<string, string> = {},
  options: { replicaOf?: TestPlatform; port?: number; clock?: () => Date } = {},
): Promise<TestPlatform> {
  const database = options.replicaOf?.database ?? (await createTestDatabase('platform'));
  const dataDir = mkdtempSync(join(tmpdir(), 'saas-test-data-'));
  // Dedicated PostgreSQL servers run as the postgres user when tests run as root: let it walk in.
  chmodSync(dataDir, 0o755);
  const config: Config = {
    ...loadConfig({
      DATA_DIR: dataDir,
      DATABASE_URL: database.url,
      SECRET_KEY: 'test-secret-key-that-is-at-least-32-characters-long',
      LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      // Never Odoo from the internet in a test: the installer tests serve their own archive.
      ODOO_AUTO_INSTALL: 'false',
      ...Object.fromEntries(
        ['16', '17', '18'].map((n) => [`ODOO_SOURCE_URL_${n}`, 'http://127.0.0.1:9/no-odoo-from-the-internet-in-tests.tar.gz']),
      ),
      ...env,
    }),
    host: '127.0.0.1',
    port: options.port ?? 0,
  };
  const platform = await startPlatform(config, {
    logger: createLogger(config.logLevel),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const url = platform.url ?? '';
  return {
    platform,
    url,
    database,
    config,
    http: createHttpClient(url),
    async stop() {
      await platform.stop();
      if (!options.replicaOf) await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface HttpResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  token?: string | undefined;
  headers?: Record<string, string>;
  /** Raw body sent as is (for malformed-input tests); otherwise `body` is JSON-encoded. */
  raw?: string | Buffer;
}

export function createHttpClient(baseUrl: string) {
  async function request<T = any>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<HttpResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let payload: string | Buffer | undefined;
    if (options.raw !== undefined) payload = options.raw;
    else if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const response = await fetch(`${baseUrl}${path}`, { method, headers, body: payload });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed as T, text };
  }
  return {
    request,
    get: <T = any>(path: string, options?: RequestOptions) => request<T>('GET', path, undefined, options),
    post: <T = any>(path: string, body?: unknown, options?: RequestOptions) => request<T>('POST', path, body, options),
    put: <T = any>(path: string, body?: unknown, options?: RequestOptions) => request<T>('PUT', path, body, options),
    delete: <T = any>(path: string, options?: RequestOptions) => request<T>('DELETE', path, undefined, options),
  };
}

export type HttpClient = ReturnType<typeof createHttpClient>;

let counter = 0;
/** A unique email per call, so tests never collide on the unique index. */
export function uniqueEmail(label = 'user'): string {
  counter += 1;
  return `${label}-${process.pid}-${Date.now().toString(36)}-${counter}@example.com`;
}

export const GOOD_PASSWORD = 'Correct-Horse-42';

/** Registers a customer and logs in; returns its tokens and ids. */
export async function registerCustomer(http: HttpClient, label = 'customer') {
  const email = uniqueEmail(label);
  const registered = await http.post('/api/v1/auth/register', {
    email,
    password: GOOD_PASSWORD,
    name: `${label} user`,
    organization: `${label} org`,
  });
  if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${registered.text}`);
  const login = await http.post('/api/v1/auth/login', { email, password: GOOD_PASSWORD });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.text}`);
  return {
    email,
    userId: registered.body.user.id as string,
    accountId: registered.body.account.id as string,
    accessToken: login.body.accessToken as string,
    refreshToken: login.body.refreshToken as string,
  };
}

/** Creates an operator directly through the auth service (as `saasctl operator create` does) and logs in. */
export async function createOperator(test: TestPlatform) {
  const { createAccessTokenSigner, createAuthService } = await import('../../src/auth/index.js');
  const { createMailer } = await import('../../src/notifications/index.js');
  const { createSecretBox } = await import('../../src/secrets/index.js');
  const logger = createLogger('silent');
  const auth = createAuthService({
    db: test.platform.database.db,
    config: test.config,
    signer: createAccessTokenSigner(createSecretBox(test.config.secretKey ?? '').deriveKey('access-token'), 900),
    mailer: createMailer({ smtpUrl: undefined, from: 'x@example.com', outboxDir: join(test.config.dataDir, 'outbox'), logger }),
    logger,
  });
  const email = uniqueEmail('operator');
  await auth.createOperator({ email, password: GOOD_PASSWORD, name: 'Operator' });
  const login = await test.http.post('/api/v1/auth/login', { email, password: GOOD_PASSWORD });
  return {
    email,
    accessToken: login.body.accessToken as string,
    refreshToken: login.body.refreshToken as string,
    userId: login.body.user.id as string,
  };
}

/**
 * The platform without job workers (tenants stay where a test puts them), an operator, a customer
 * and a ready build of the blank template, written directly (no Odoo builds one here).
 */
export async function startPlatformForTenantRequests(label: string, options: { clock?: () => Date; env?: Record<string, string> } = {}) {
  const test = await startTestPlatform(
    { TENANT_DATABASE_URL: postgresAdminUrl(), RUN_WORKERS: 'false', TEMPLATES_AUTOBUILD: '', ...options.env },
    options.clock ? { clock: options.clock } : {},
  );
  const operator = await createOperator(test);
  const customer = await registerCustomer(test.http, label);
  const db = test.platform.database.db;
  const server = await db.selectFrom('database_servers').select('id').executeTakeFirstOrThrow();
  await db
    .insertInto('template_builds')
    .values({ template_code: 'blank', server_id: server.id, database_name: `tpl_blank_${label}`, status: 'ready', odoo_version: '17.0' })
    .execute();
  return { test, operator, customer };
}

export type TenantRequestsPlatform = Awaited<ReturnType<typeof startPlatformForTenantRequests>>;

let tenantCounter = 0;

/**
 * Asks for a tenant on the customer's account as the operator (exempt from the per-account
 * limits); answers its id and name once the request is accepted (202).
 */
export async function requestTenantAsOperator(
  platform: TenantRequestsPlatform,
  prefix: string,
  plan = 'standard',
): Promise<{ id: string; name: string }> {
  tenantCounter += 1;
  const name = `${prefix}${Date.now().toString(36)}${tenantCounter}`;
  const created = await platform.test.http.post(
    '/api/v1/tenants',
    {
      name,
      plan,
      template: 'blank',
      adminEmail: `admin@${name}.example.com`,
      adminPassword: GOOD_PASSWORD,
      accountId: platform.customer.accountId,
    },
    { token: platform.operator.accessToken },
  );
  if (created.status !== 202) throw new Error(`tenant ${name} was not accepted: ${created.status} ${created.text}`);
  return { id: created.body.tenant.id, name };
}

/** Waits until the operator sees a ready build of a template (a failed build fails at once). */
export async function templateBuilt(test: TestPlatform, token: string, code = 'blank'): Promise<void> {
  await waitFor(
    `the ${code} template to be built`,
    async () => {
      const templates = await test.http.get('/api/v1/templates', { token });
      const build = templates.body.find((t: { code: string }) => t.code === code)?.builds[0];
      if (build?.status === 'failed') throw new Error(`template build failed: ${build.error}`);
      return build?.status === 'ready' ? true : undefined;
    },
    120_000,
    200,
  );
}

/**
 * Asks for a tenant of the blank template on a customer's account as the operator, and waits for
 * it to run (a tenant gone to `error` fails at once): answers its view.
 */
export async function runningTenant(
  test: TestPlatform,
  token: string,
  tenant: { name: string; plan: string; accountId: string; adminPassword?: string },
  timeoutMs = 120_000,
): Promise<any> {
  const created = await test.http.post(
    '/api/v1/tenants',
    {
      name: tenant.name,
      plan: tenant.plan,
      template: 'blank',
      adminEmail: `admin@${tenant.name}.example.com`,
      adminPassword: tenant.adminPassword ?? GOOD_PASSWORD,
      accountId: tenant.accountId,
    },
    { token },
  );
  if (created.status !== 202) throw new Error(`tenant ${tenant.name} was not accepted: ${created.status} ${created.text}`);
  return waitFor(
    `${tenant.name} to run`,
    async () => {
      const view = await test.http.get(`/api/v1/tenants/${tenant.name}`, { token });
      if (view.body.state === 'error') throw new Error(`${tenant.name} went to error: ${view.body.stateReason}`);
      return view.body.state === 'running' ? view.body : undefined;
    },
    timeoutMs,
    200,
  );
}
