import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdir, rm, truncate, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { delimiter, dirname, join, resolve } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filestorePath } from '../../src/odoo/index.js';
import { withConnection } from '../../src/postgres/index.js';
import { hostRequest, waitFor, xmlRpcFaultCode, xmlRpcMethodCall } from '../helpers/gateway-client.js';
import { createOperator, registerCustomer, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { postgresAdminUrl } from '../helpers/postgres.js';
import { startTestSmtpServer } from '../helpers/smtp.js';

/**
 * Usage sampling and plan-limit enforcement end to end: real PostgreSQL, the fake Odoo behind the
 * real gateway, a real SMTP server and a real webhook receiver. The test drives the sampling
 * rounds itself with moved clocks (the scheduled round is unscheduled so it cannot interleave),
 * except the first round, which runs as the durable jobs do.
 */
process.env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

const ADMIN_PASSWORD = 'Odoo-Admin-Pass-1';
const METRICS_TOKEN = 'usage-metrics-token-0123456789';
const GiB = 1024 ** 3;
let test: TestPlatform;
let smtp: Awaited<ReturnType<typeof startTestSmtpServer>>;
let operator: Awaited<ReturnType<typeof createOperator>>;
let customer: Awaited<ReturnType<typeof registerCustomer>>;
let port: number;
let receiver: Server;
let webhookSecret: string;
const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
/** Two days ago, on the hour: every sample of the test is in this past, away from real rounds. */
const T0 = new Date(Math.floor(Date.now() / 3600_000) * 3600_000 - 2 * 86_400_000);
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

const db = () => test.platform.database.db;
const tenantHost = (name: string) => `${name}.lvh.me`;

function tenantDbUrl(databaseName: string): string {
  const url = new URL(postgresAdminUrl());
  url.pathname = `/${databaseName}`;
  return url.toString();
}

async function createRunningTenant(label: string, plan: string): Promise<{ id: string; name: string; databaseName: string }> {
  const name = `${label}${Date.now().toString(36)}`;
  const created = await test.http.post(
    '/api/v1/tenants',
    {
      name,
      plan,
      template: 'blank',
      adminEmail: `admin@${name}.example.com`,
      adminPassword: ADMIN_PASSWORD,
      accountId: customer.accountId,
    },
    { token: operator.accessToken },
  );
  expect(created.status, created.text).toBe(202);
  return waitFor(
    `${name} to run`,
    async () => {
      const view = (await test.http.get(`/api/v1/tenants/${name}`, { token: operator.accessToken })).body;
      if (view.state === 'error') throw new Error(`${name} failed: ${view.stateReason}`);
      return view.state === 'running' ? { id: view.id as string, name, databaseName: view.databaseName as string } : undefined;
    },
    120_000,
    200,
  );
}

/** Adds `count` active internal users to the tenant's Odoo database, as its admin would. */
async function addInternalUsers(databaseName: string, count: number, label: string): Promise<void> {
  await withConnection(tenantDbUrl(databaseName), async (client) => {
    for (let i = 0; i < count; i++) {
      const partner = await client.query<{ id: number }>('INSERT INTO res_partner (name) VALUES ($1) RETURNING id', [`${label} ${i}`]);
      await client.query(
        `INSERT INTO res_users (login, partner_id, company_id, active, share, create_date) VALUES ($1, $2, 1, true, false, now())`,
        [`${label}-${i}-${Date.now()}`, partner.rows[0]?.id],
      );
    }
  });
}

async function activeInternalUsers(databaseName: string): Promise<number[]> {
  return withConnection(tenantDbUrl(databaseName), async (client) =>
    (await client.query<{ id: number }>('SELECT id FROM res_users WHERE active AND NOT share ORDER BY id')).rows.map((r) => r.id),
  );
}

const callKw = (model: string, method: string, args: unknown[], kwargs: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  method: 'call',
  id: 41,
  params: { model, method, args, kwargs },
});

/** Creating a user through each RPC path, with the tenant admin's own credentials. */
async function createUserThroughEachPath(tenant: { name: string; databaseName: string }) {
  const host = tenantHost(tenant.name);
  const values = { name: 'Extra', login: `extra-${Date.now()}` };
  const webClient = await hostRequest(port, host, 'POST', '/web/dataset/call_kw/res.users/create', callKw('res.users', 'create', [values]));
  const jsonrpc = await hostRequest(port, host, 'POST', '/jsonrpc', {
    jsonrpc: '2.0',
    method: 'call',
    id: 42,
    params: { service: 'object', method: 'execute_kw', args: [tenant.databaseName, 2, ADMIN_PASSWORD, 'res.users', 'create', [values]] },
  });
  const xmlrpc = await hostRequest(
    port,
    host,
    'POST',
    '/xmlrpc/2/object',
    xmlRpcMethodCall('execute_kw', [tenant.databaseName, 2, ADMIN_PASSWORD, 'res.users', 'create', [values]]),
  );
  return { webClient, jsonrpc, xmlrpc };
}

const USER_LIMIT_MESSAGE = "reached its plan's limit of 3 internal users";

function verifySignature(secret: string, header: string, body: string): boolean {
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=', 2)));
  const expected = createHmac('sha256', secret).update(`${parts.t}.${body}`).digest();
  const given = Buffer.from(String(parts.v1), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  test = await startTestPlatform({
    ODOO_BIN: resolve('test/fixtures/fake-odoo/odoo-bin'),
    TENANT_DATABASE_URL: postgresAdminUrl(),
    TEMPLATES_AUTOBUILD: 'blank',
    SPARE_DATABASES: '0',
    BASE_DOMAIN: 'lvh.me',
    SMTP_URL: smtp.url,
    WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8',
    METRICS_TOKEN: METRICS_TOKEN,
  });
  port = Number(new URL(test.url).port);
  // The test runs the rounds itself, at the times it chooses.
  await sql`DELETE FROM pgboss.schedule WHERE name = 'usage-round'`.execute(db());
  operator = await createOperator(test);
  customer = await registerCustomer(test.http, 'usage-owner');
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((done) => receiver.listen(0, '127.0.0.1', done));
  const address = receiver.address();
  const endpoint = await test.http.post(
    '/api/v1/webhooks',
    { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`, events: ['usage.limit_changed'] },
    { token: customer.accessToken },
  );
  expect(endpoint.status, endpoint.text).toBe(201);
  webhookSecret = endpoint.body.secret;
  await waitFor(
    'the blank template to be built',
    async () => {
      const templates = await test.http.get('/api/v1/templates', { token: operator.accessToken });
      const build = templates.body.find((t: { code: string }) => t.code === 'blank')?.builds[0];
      if (build?.status === 'failed') throw new Error(`template build failed: ${build.error}`);
      return build?.status === 'ready' ? build : undefined;
    },
    120_000,
    200,
  );
}, 180_000);

afterAll(async () => {
  await test?.stop();
  await smtp?.close();
  await new Promise((done) => receiver?.close(done));
});

describe('usage sampling and limits (fake Odoo)', () => {
  let tenant: { id: string; name: string; databaseName: string };

  beforeAll(async () => {
    tenant = await createRunningTenant('use', 'basic');
  }, 180_000);

  it('a round queues durable batches of samples, and a tenant is sampled once per round', async () => {
    // The round at its last second: every tenant's offset has passed, so its job runs at once.
    const queued = await test.platform.usage.round(new Date(at(0).getTime() + 299_000));
    expect(queued).toBeGreaterThanOrEqual(1);
    const sample = await waitFor(
      'the sample job of the round',
      async () =>
        db().selectFrom('usage_samples').selectAll().where('tenant_id', '=', tenant.id).where('slot', '=', at(0)).executeTakeFirst(),
      30_000,
      100,
    );
    // The template's admin is the only internal user; the fake Odoo's database is some MB.
    expect(sample.odoo_users).toBe(1);
    expect(Number(sample.database_bytes)).toBeGreaterThan(1_000_000);
    expect(sample.filestore_bytes).not.toBeNull();
    // Run again (a retried or duplicated job): nothing more is recorded.
    expect(await test.platform.usage.sample(tenant.id, at(0), at(1))).toEqual({ recorded: false, actions: [] });
    expect(await db().selectFrom('usage_samples').select('slot').where('tenant_id', '=', tenant.id).execute()).toHaveLength(1);
  });

  it('warns at 80 %-100 %, then refuses new internal users on every RPC path, even to the tenant admin', async () => {
    await addInternalUsers(tenant.databaseName, 2, 'staff');
    // Before the sample says so, a user can still be created (the fake Odoo answers, not the gateway).
    const before = await createUserThroughEachPath(tenant);
    expect(before.webClient.text).not.toContain(USER_LIMIT_MESSAGE);
    expect(before.jsonrpc.text).not.toContain(USER_LIMIT_MESSAGE);

    const outcome = await test.platform.usage.sample(tenant.id, at(5), at(5));
    expect(outcome.actions).toEqual([{ kind: 'notify', template: 'limit_reached', percent: 100 }]);
    const mail = await smtp.waitForMail(customer.email, /reached its internal users limit/);
    expect(mail.text).toContain(`${tenant.name} reached the internal users its plan allows`);
    expect(mail.text).toContain('/dashboard/');

    const refused = await waitFor('the gateway to hold the tenant to its user limit', async () => {
      const answers = await createUserThroughEachPath(tenant);
      return answers.webClient.text.includes(USER_LIMIT_MESSAGE) ? answers : undefined;
    });
    expect(refused.webClient.status).toBe(200);
    expect(refused.webClient.json()).toMatchObject({ id: 41, error: { data: { name: 'odoo.exceptions.UserError' } } });
    expect(refused.jsonrpc.json()).toMatchObject({ id: 42, error: { data: { name: 'odoo.exceptions.UserError' } } });
    expect(refused.jsonrpc.json().error.data.message).toContain(USER_LIMIT_MESSAGE);
    expect(xmlRpcFaultCode(refused.xmlrpc.text)).toBe(2);
    expect(refused.xmlrpc.text).toContain(USER_LIMIT_MESSAGE);
    // Nothing reached Odoo: still 3 internal users.
    expect(await activeInternalUsers(tenant.databaseName)).toHaveLength(3);
    // Reading users goes on as before, through the gateway to Odoo.
    const read = await hostRequest(port, tenantHost(tenant.name), 'POST', '/jsonrpc', {
      jsonrpc: '2.0',
      method: 'call',
      id: 43,
      params: {
        service: 'object',
        method: 'execute_kw',
        args: [tenant.databaseName, 2, ADMIN_PASSWORD, 'res.users', 'search_count', [[]]],
      },
    });
    expect(read.json().result).toBe(3);

    // Audited: a timeline entry, an audit entry, a signed webhook delivery.
    const timeline = (await test.http.get(`/api/v1/tenants/${tenant.name}/events`, { token: customer.accessToken })).body as Array<{
      type: string;
      message: string | null;
    }>;
    expect(timeline.map((e) => e.message)).toContain(
      'Limit on internal users: reached (3 of 3, 100 %); limit reached mailed to the account',
    );
    const audit = await db()
      .selectFrom('audit_log')
      .selectAll()
      .where('action', '=', 'usage.limit_changed')
      .where('target_id', '=', tenant.id)
      .execute();
    expect(audit.map((a) => a.actor_type)).toEqual(['system']);
    const delivery = await waitFor('the limit webhook', async () => received.find((r) => JSON.parse(r.body).data.level === 'reached'));
    expect(verifySignature(webhookSecret, String(delivery.headers['webhook-signature']), delivery.body)).toBe(true);
    expect(JSON.parse(delivery.body)).toMatchObject({
      type: 'usage.limit_changed',
      data: {
        tenantId: tenant.id,
        name: tenant.name,
        resource: 'odoo_users',
        fromLevel: 'ok',
        level: 'reached',
        used: 3,
        limit: 3,
        blockNewUsers: true,
      },
    });
  });

  it('deactivates the newest excess users after the grace period, and only then', async () => {
    await addInternalUsers(tenant.databaseName, 2, 'late');
    const over = await test.platform.usage.sample(tenant.id, at(10), at(10));
    expect(over.actions).toEqual([]);
    expect(await activeInternalUsers(tenant.databaseName)).toHaveLength(5);
    // The basic plan's grace period is 72 hours.
    const inGrace = await test.platform.usage.sample(tenant.id, at(10 + 71 * 60), at(10 + 71 * 60));
    expect(inGrace.actions).toEqual([]);
    const ids = await activeInternalUsers(tenant.databaseName);
    const after = await test.platform.usage.sample(tenant.id, at(10 + 72 * 60), at(10 + 72 * 60));
    expect(after.actions).toEqual([{ kind: 'deactivate_users', count: 2 }]);
    expect(await activeInternalUsers(tenant.databaseName)).toEqual(ids.slice(0, 3));
    const mail = await smtp.waitForMail(customer.email, /2 users of .* were deactivated/);
    expect(mail.text).toContain('limit of 3 internal users');
  });

  it('lets users be created again once the tenant is back under its limit', async () => {
    await withConnection(tenantDbUrl(tenant.databaseName), (client) => client.query('UPDATE res_users SET active = false WHERE id > 2'));
    const under = await test.platform.usage.sample(tenant.id, at(15 + 72 * 60), at(15 + 72 * 60));
    expect(under.recorded).toBe(true);
    await waitFor('the gateway to lift the user limit', async () => {
      const answers = await createUserThroughEachPath(tenant);
      return answers.webClient.text.includes(USER_LIMIT_MESSAGE) ? undefined : answers;
    });
    const standings = (
      await test.http.get(
        `/api/v1/tenants/${tenant.name}/usage?from=${at(0).toISOString()}&to=${at(16 + 72 * 60).toISOString()}&step=raw`,
        {
          token: customer.accessToken,
        },
      )
    ).body;
    expect(standings.standings.find((s: { resource: string }) => s.resource === 'odoo_users')).toMatchObject({
      level: 'ok',
      blockNewUsers: false,
    });
  });

  it('makes the database read-only at the storage limit (basic plan) and writable again under it', async () => {
    const store = filestorePath(join(test.config.dataDir, 'odoo'), tenant.databaseName);
    await mkdir(join(store, 'zz'), { recursive: true });
    const big = join(store, 'zz', 'big-attachment');
    await writeFile(big, '');
    // Sparse: 5 GiB by size (what the filestore measure counts) without using the disk.
    await truncate(big, 5 * GiB);
    const full = await test.platform.usage.sample(tenant.id, at(20 + 72 * 60), at(20 + 72 * 60));
    expect(full.actions).toEqual([{ kind: 'notify', template: 'limit_reached', percent: expect.any(Number) }]);
    const host = tenantHost(tenant.name);
    const write = () =>
      hostRequest(port, host, 'POST', '/web/dataset/call_kw/res.partner/write', callKw('res.partner', 'write', [[1], { name: 'x' }]));
    const refused = await waitFor('the gateway to make the tenant read-only', async () => {
      const answer = await write();
      return answer.text.includes('read-only') ? answer : undefined;
    });
    expect(refused.json().error.data.message).toContain('uses all the storage its plan allows');
    const read = await hostRequest(port, host, 'POST', '/jsonrpc', {
      jsonrpc: '2.0',
      method: 'call',
      id: 44,
      params: {
        service: 'object',
        method: 'execute_kw',
        args: [tenant.databaseName, 2, ADMIN_PASSWORD, 'res.partner', 'search_count', [[]]],
      },
    });
    expect(typeof read.json().result).toBe('number');
    const operatorView = (await test.http.get('/api/v1/usage?flagged=true', { token: operator.accessToken })).body as Array<{
      name: string;
      flagged: boolean;
    }>;
    expect(operatorView.map((t) => t.name)).toContain(tenant.name);
    // Prometheus sees the same standings, one series per tenant and resource: 5 GiB of files and
    // the database are over the limit (level 3).
    const metrics = await (await fetch(`${test.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    expect(metrics).toContain(`saas_tenant_limit_level{tenant="${tenant.id}",resource="storage"} 3`);
    expect(metrics).toContain(`saas_tenant_usage_limit{tenant="${tenant.id}",resource="storage"} ${5 * GiB}`);
    expect(metrics).toMatch(/saas_tenants_by_limit_level\{resource="storage",level="over"\} [1-9]/);
    // A customer cannot see the operator's overview.
    expect((await test.http.get('/api/v1/usage', { token: customer.accessToken })).status).toBe(403);

    await rm(big);
    await test.platform.usage.sample(tenant.id, at(25 + 72 * 60), at(25 + 72 * 60));
    await waitFor('the gateway to lift read-only', async () => ((await write()).text.includes('read-only') ? undefined : true));
    const cleared = (await test.http.get('/api/v1/usage?flagged=true', { token: operator.accessToken })).body as Array<{ name: string }>;
    expect(cleared.map((t) => t.name)).not.toContain(tenant.name);
  });

  it('rolls samples up into hours and days over moved clocks, and drops raw samples after 7 days', async () => {
    await test.platform.usage.rollUp(at(30));
    await test.platform.usage.rollUp(at(30 + 72 * 60));
    const hours = (
      await test.http.get(
        `/api/v1/tenants/${tenant.name}/usage?from=${at(0).toISOString()}&to=${at(30 + 72 * 60).toISOString()}&step=hour`,
        {
          token: customer.accessToken,
        },
      )
    ).body.series;
    expect(hours.step).toBe('hour');
    // Hour T0 (samples at 0, 5, 10 min: 1, 3, 5 users) and the hours at +71 h and +72 h.
    expect(hours.points.map((p: { at: string; odooUsers: number }) => [p.at, p.odooUsers])).toEqual([
      [at(0).toISOString(), 5],
      [at(71 * 60).toISOString(), 5],
      [at(72 * 60).toISOString(), 5],
    ]);
    expect(hours.points[2].storageBytes).toBeGreaterThanOrEqual(5 * GiB);
    const days = (
      await test.http.get(
        `/api/v1/tenants/${tenant.name}/usage?from=${at(0).toISOString()}&to=${at(30 + 72 * 60).toISOString()}&step=day`,
        {
          token: customer.accessToken,
        },
      )
    ).body.series;
    // One daily point per day the hourly ones fall on, starting at midnight UTC.
    const dayOf = (iso: string) => `${iso.slice(0, 10)}T00:00:00.000Z`;
    expect(days.points.map((p: { at: string }) => p.at)).toEqual([...new Set(hours.points.map((p: { at: string }) => dayOf(p.at)))]);
    expect(Math.max(...days.points.map((p: { odooUsers: number }) => p.odooUsers))).toBe(5);

    const pruned = await test.platform.usage.rollUp(at(8 * 24 * 60));
    expect(pruned.pruned).toBe(3);
    const left = await db().selectFrom('usage_samples').select('slot').where('tenant_id', '=', tenant.id).execute();
    expect(left.map((s) => s.slot.getTime()).every((t) => t >= at(24 * 60).getTime())).toBe(true);
    const stillHourly = await db()
      .selectFrom('usage_rollups')
      .select('bucket')
      .where('tenant_id', '=', tenant.id)
      .where('step', '=', 'hour')
      .execute();
    expect(stillHourly).toHaveLength(3);
  });

  it('answers bad ranges with a 400 naming the field', async () => {
    const backwards = await test.http.get(`/api/v1/tenants/${tenant.name}/usage?from=${at(10).toISOString()}&to=${at(0).toISOString()}`, {
      token: customer.accessToken,
    });
    expect(backwards.status).toBe(400);
    expect(backwards.body.field).toBe('from');
    const malformed = await test.http.get(`/api/v1/tenants/${tenant.name}/usage?from=yesterday`, { token: customer.accessToken });
    expect(malformed.status).toBe(400);
    expect(JSON.stringify(malformed.body)).toContain('from');
    const step = await test.http.get(`/api/v1/tenants/${tenant.name}/usage?step=minute`, { token: customer.accessToken });
    expect(step.status).toBe(400);
  });

  it('suspends a tenant whose plan says so at the storage limit', async () => {
    const plan = await test.http.post(
      '/api/v1/plans',
      {
        code: `susp${Date.now().toString(36)}`,
        name: 'Suspending',
        limits: {
          cpu: 1,
          memoryMiB: 1024,
          storageGiB: 1,
          odooUsers: 5,
          enforcement: { warnAtPercent: 80, blockNewUsers: true, deactivateExcessUsersAfterHours: null, storageAtLimit: 'suspend' },
        },
        placement: { databaseStrategy: 'shared', processStrategy: 'pool', replicas: 1, limitPolicy: 'suspend' },
        prices: [],
      },
      { token: operator.accessToken },
    );
    expect(plan.status, plan.text).toBe(201);
    const other = await createRunningTenant('susp', plan.body.code);
    const store = filestorePath(join(test.config.dataDir, 'odoo'), other.databaseName);
    await mkdir(join(store, 'zz'), { recursive: true });
    await writeFile(join(store, 'zz', 'big'), '');
    await truncate(join(store, 'zz', 'big'), GiB);
    const outcome = await test.platform.usage.sample(other.id, at(0), at(0));
    expect(outcome.actions.map((a) => a.kind)).toEqual(['notify', 'suspend']);
    const view = (await test.http.get(`/api/v1/tenants/${other.name}`, { token: operator.accessToken })).body;
    expect(view.state).toBe('suspended');
    await smtp.waitForMail(customer.email, new RegExp(`${other.name} is suspended`));
    // The next round changes nothing more: one suspension, one mail.
    expect((await test.platform.usage.sample(other.id, at(5), at(5))).actions).toEqual([]);
  });
});
