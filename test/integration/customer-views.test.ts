import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followEvents } from '../../src/cli/events.js';
import { recordTenantEvent } from '../../src/tenants/index.js';
import { createOperator, GOOD_PASSWORD, registerCustomer, startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

/**
 * Internals stay with operators (issue 15 item 5): template builds (server ids, template
 * databases, job ids, build errors), where a tenant lives, and failure texts from jobs. Each
 * check reads the whole JSON answer for the internal values, so a field added later that
 * carries one fails here too.
 */

let test: TestPlatform;
let operator: Awaited<ReturnType<typeof createOperator>>;
let customer: Awaited<ReturnType<typeof registerCustomer>>;
let serverId: string;
const buildJobId = randomUUID();
const BUILD_ERROR = 'odoo-bin exited 1: psycopg2.OperationalError: connection to 10.1.2.3:5433 as saas_template_owner failed';
const JOB_ERROR = 'CREATE DATABASE "t_secretive" failed on server pg-shared-1 (10.1.2.3:5433): permission denied';

/** The internal values no customer answer may contain. */
function internals(): string[] {
  return [serverId, buildJobId, 'tpl_blank_views', 'tpl_restaurant_views', BUILD_ERROR, JOB_ERROR, 't_views', '10.1.2.3'];
}

function leaks(body: unknown): string[] {
  const text = JSON.stringify(body);
  return internals().filter((value) => text.includes(value));
}

beforeAll(async () => {
  test = await startTestPlatform({ TENANT_DATABASE_URL: postgresAdminUrl(), RUN_WORKERS: 'false', TEMPLATES_AUTOBUILD: '' });
  operator = await createOperator(test);
  customer = await registerCustomer(test.http, 'views');
  const db = test.platform.database.db;
  serverId = (await db.selectFrom('database_servers').select('id').executeTakeFirstOrThrow()).id;
  // Written directly (no Odoo here): blank is ready but its last rebuild failed; restaurant never built.
  await db
    .insertInto('template_builds')
    .values([
      {
        template_code: 'blank',
        server_id: serverId,
        database_name: 'tpl_blank_views',
        status: 'ready',
        odoo_version: '17.0',
        error: BUILD_ERROR,
        job_id: buildJobId,
      },
      {
        template_code: 'restaurant',
        server_id: serverId,
        database_name: 'tpl_restaurant_views',
        status: 'failed',
        odoo_version: null,
        error: BUILD_ERROR,
        job_id: buildJobId,
      },
    ])
    .execute();
});
afterAll(async () => {
  await test?.stop();
});

describe('GET /templates', () => {
  it('gives customers code, name, description and availability only', async () => {
    const list = await test.http.get('/api/v1/templates', { token: customer.accessToken });
    expect(list.status).toBe(200);
    expect(list.body.length).toBeGreaterThanOrEqual(2);
    for (const template of list.body) expect(Object.keys(template).sort()).toEqual(['available', 'code', 'description', 'name']);
    const byCode = Object.fromEntries(list.body.map((t: { code: string; available: boolean }) => [t.code, t.available]));
    expect(byCode).toMatchObject({ blank: true, restaurant: false });
    expect(leaks(list.body)).toEqual([]);

    const one = await test.http.get('/api/v1/templates/blank', { token: customer.accessToken });
    expect(one.body).toEqual({ code: 'blank', name: expect.any(String), description: expect.any(String), available: true });
  });

  it('gives operators the builds with server, database, job and error', async () => {
    const one = await test.http.get('/api/v1/templates/blank', { token: operator.accessToken });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ code: 'blank', available: true, modules: expect.any(Array) });
    expect(one.body.builds).toEqual([
      expect.objectContaining({ serverId, databaseName: 'tpl_blank_views', jobId: buildJobId, error: BUILD_ERROR, status: 'ready' }),
    ]);
    const list = await test.http.get('/api/v1/templates', { token: operator.accessToken });
    expect(list.body.find((t: { code: string }) => t.code === 'restaurant')).toMatchObject({
      available: false,
      builds: [{ error: BUILD_ERROR }],
    });
  });

  it('documents both shapes in the OpenAPI document', async () => {
    const document = (await test.http.get('/api/v1/openapi.json')).body;
    const titlesOf = (path: string) => {
      const schema = document.paths[path].get.responses['200'].content['application/json'].schema;
      const union = schema.items?.anyOf ?? schema.anyOf ?? schema.items?.oneOf ?? schema.oneOf;
      // Each shape is a named component: follow the reference to read its title.
      const resolve = (s: { $ref?: string; title?: string }) => (s.$ref ? document.components.schemas[s.$ref.split('/').pop() ?? ''] : s);
      return (union as Array<{ $ref?: string; title?: string }>).map((s) => resolve(s).title);
    };
    expect(titlesOf('/api/v1/templates')).toEqual(['Template (operator view)', 'Template (customer view)']);
    expect(titlesOf('/api/v1/templates/{code}')).toEqual(['Template (operator view)', 'Template (customer view)']);
    expect(titlesOf('/api/v1/tenants/{name}')).toEqual(['Tenant (operator view)', 'Tenant (customer view)']);
  });
});

describe('tenant views', () => {
  let name: string;
  let jobId: string;

  beforeAll(async () => {
    name = 'views';
    const created = await test.http.post(
      '/api/v1/tenants',
      { name, plan: 'basic', template: 'blank', adminEmail: 'admin@views.example.com', adminPassword: GOOD_PASSWORD },
      { token: customer.accessToken },
    );
    expect(created.status, created.text).toBe(202);
    expect(leaks(created.body)).toEqual([]);
    expect(created.body.tenant).not.toHaveProperty('databaseName');
    jobId = created.body.jobId;
    // What a failed provisioning leaves (written directly: no job workers here).
    const db = test.platform.database.db;
    const tenant = await db.selectFrom('tenants').select('id').where('name', '=', name).executeTakeFirstOrThrow();
    await db.updateTable('tenants').set({ server_id: serverId }).where('id', '=', tenant.id).execute();
    await recordTenantEvent(db, tenant.id, { type: 'error', message: `attempt 1 failed, retrying: ${JOB_ERROR}` });
    await db
      .updateTable('tenants')
      .set({ state: 'error', state_reason: JOB_ERROR, state_changed_at: new Date() })
      .where('id', '=', tenant.id)
      .execute();
    await recordTenantEvent(db, tenant.id, { type: 'state', fromState: 'provisioning', toState: 'error', message: JOB_ERROR });
  });

  it('hide the database, its server and job failure texts from the customer', async () => {
    const one = await test.http.get(`/api/v1/tenants/${name}`, { token: customer.accessToken });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ name, state: 'error', stateReason: expect.stringMatching(/could not be completed/) });
    expect(one.body).not.toHaveProperty('databaseName');
    expect(one.body).not.toHaveProperty('databaseServerId');
    expect(leaks(one.body)).toEqual([]);
    expect(one.body.allowedActions).toContain('retry');

    const list = await test.http.get('/api/v1/tenants', { token: customer.accessToken });
    expect(list.body.map((t: { name: string }) => t.name)).toEqual([name]);
    expect(leaks(list.body)).toEqual([]);

    const events = await test.http.get(`/api/v1/tenants/${name}/events`, { token: customer.accessToken });
    expect(events.body.map((e: { type: string }) => e.type)).toEqual(['state', 'error', 'state']);
    expect(events.body.at(-1)).toMatchObject({ toState: 'error', message: expect.stringMatching(/could not be completed/) });
    expect(leaks(events.body)).toEqual([]);
  });

  it('hide them in the live event stream too', async () => {
    const received: Array<{ event: string; data: unknown }> = [];
    await followEvents(`${test.url}/api/v1/tenants/${name}/events`, customer.accessToken, (event, data) => {
      received.push({ event, data });
      return received.filter((r) => r.event === 'event').length === 3 && received.some((r) => r.event === 'tenant');
    });
    expect(received.find((r) => r.event === 'tenant')?.data).toMatchObject({ name, state: 'error' });
    expect(leaks(received)).toEqual([]);
  });

  it('keep them for operators', async () => {
    const one = await test.http.get(`/api/v1/tenants/${name}`, { token: operator.accessToken });
    expect(one.body).toMatchObject({ databaseName: 't_views', databaseServerId: serverId, stateReason: JOB_ERROR });
    const events = await test.http.get(`/api/v1/tenants/${name}/events`, { token: operator.accessToken });
    expect(events.body.map((e: { message: string }) => e.message)).toEqual([
      'tenant requested',
      `attempt 1 failed, retrying: ${JOB_ERROR}`,
      JOB_ERROR,
    ]);
  });

  it('GET /jobs/{id} tells the customer where its job stands, without its data or error', async () => {
    const job = await test.http.get(`/api/v1/jobs/${jobId}`, { token: customer.accessToken });
    expect(job.status).toBe(200);
    expect(Object.keys(job.body).sort()).toEqual(['completedOn', 'createdOn', 'id', 'queue', 'retryCount', 'startedOn', 'state', 'tenant']);
    expect(job.body.tenant).toBe(name);
    expect(leaks(job.body)).toEqual([]);
  });
});

describe('GET /audit-log', () => {
  it("shows customers what operators did to their account, without the operator's identity or address", async () => {
    const created = await test.http.post(
      '/api/v1/tenants',
      {
        name: 'viewsbyop',
        plan: 'standard',
        template: 'blank',
        adminEmail: 'admin@viewsbyop.example.com',
        adminPassword: GOOD_PASSWORD,
        accountId: customer.accountId,
      },
      { token: operator.accessToken },
    );
    expect(created.status, created.text).toBe(202);

    const asCustomer = await test.http.get('/api/v1/audit-log', { token: customer.accessToken });
    const entry = asCustomer.body.find((e: { targetId: string }) => e.targetId === 'viewsbyop');
    expect(entry).toMatchObject({ action: 'POST /api/v1/tenants', actorLabel: 'operator', actorUserId: null, ip: null });
    expect(JSON.stringify(asCustomer.body)).not.toContain(operator.email);
    expect(JSON.stringify(asCustomer.body)).not.toContain(operator.userId);
    // The customer's own calls keep their actor.
    const own = asCustomer.body.find((e: { targetId: string }) => e.targetId === 'views');
    expect(own).toMatchObject({ actorLabel: customer.email, actorUserId: customer.userId });

    const asOperator = await test.http.get(`/api/v1/audit-log?accountId=${customer.accountId}`, { token: operator.accessToken });
    const full = asOperator.body.find((e: { targetId: string }) => e.targetId === 'viewsbyop');
    expect(full).toMatchObject({ actorLabel: operator.email, actorUserId: operator.userId, ip: expect.any(String) });
  });
});
