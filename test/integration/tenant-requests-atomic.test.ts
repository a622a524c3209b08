import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD, startPlatformForTenantRequests, type TenantRequestsPlatform } from '../helpers/platform.js';

/**
 * A tenant request and the job that carries it out are one transaction: creating a tenant
 * inserts its row, its first event (and domain events) and its provisioning job together, and so
 * do a staging copy and a lifecycle request with theirs. The failure is real: PostgreSQL refuses
 * the job's insert (a trigger on pg-boss's job table), after the tenant's row was written in the
 * same transaction. No job workers run: jobs stay queued where the test can see them.
 */
let platform: TenantRequestsPlatform;
let counter = 0;

const db = () => platform.test.platform.database.db;
const uniqueName = (label: string) => `${label}${Date.now().toString(36)}${++counter}`;

async function refuseTenantJobs(): Promise<void> {
  await sql`CREATE OR REPLACE FUNCTION test_refuse_tenant_job() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'job queue refused the job (injected by the test)'; END $$`.execute(db());
  await sql`CREATE TRIGGER test_refuse_tenant_job BEFORE INSERT ON pgboss.job FOR EACH ROW
    WHEN (NEW.name = 'tenant-ops') EXECUTE FUNCTION test_refuse_tenant_job()`.execute(db());
}

async function counts(): Promise<Record<string, number>> {
  const { rows } = await sql<Record<string, number>>`SELECT
      (SELECT count(*)::int FROM tenants) AS tenants,
      (SELECT count(*)::int FROM tenant_events) AS tenant_events,
      (SELECT count(*)::int FROM domain_events) AS domain_events,
      (SELECT count(*)::int FROM pgboss.job WHERE name = 'tenant-ops') AS jobs`.execute(db());
  return rows[0] ?? {};
}

function createTenant(name: string) {
  return platform.test.http.post(
    '/api/v1/tenants',
    { name, plan: 'standard', template: 'blank', adminEmail: `admin@${name}.example.com`, adminPassword: GOOD_PASSWORD },
    { token: platform.customer.accessToken },
  );
}

/** A tenant made through the API, then marked running (no workers run here). */
async function runningTenant(label: string): Promise<{ id: string; name: string }> {
  const created = await createTenant(uniqueName(label));
  expect(created.status, created.text).toBe(202);
  await db().updateTable('tenants').set({ state: 'running' }).where('id', '=', created.body.tenant.id).execute();
  return { id: created.body.tenant.id, name: created.body.tenant.name };
}

beforeAll(async () => {
  platform = await startPlatformForTenantRequests('atomic');
});
afterEach(async () => {
  await sql`DROP TRIGGER IF EXISTS test_refuse_tenant_job ON pgboss.job`.execute(db());
});
afterAll(async () => {
  await platform?.test.stop();
});

describe('a tenant request and its job commit together', () => {
  it('creates the tenant, its first event and its provisioning job together', async () => {
    const before = await counts();
    const created = await createTenant(uniqueName('atom'));
    expect(created.status, created.text).toBe(202);
    const job = await sql<{ state: string; data: { tenantId: string; operation: string } }>`
      SELECT state::text AS state, data FROM pgboss.job WHERE id = ${created.body.jobId}`.execute(db());
    expect(job.rows[0]).toMatchObject({ state: 'created', data: { tenantId: created.body.tenant.id, operation: 'provision' } });
    const row = await db().selectFrom('tenants').select('job_id').where('id', '=', created.body.tenant.id).executeTakeFirstOrThrow();
    expect(row.job_id).toBe(created.body.jobId);
    expect(await counts()).toEqual({
      tenants: (before.tenants ?? 0) + 1,
      tenant_events: (before.tenant_events ?? 0) + 1,
      domain_events: (before.domain_events ?? 0) + 2,
      jobs: (before.jobs ?? 0) + 1,
    });
  });

  it('leaves no tenant, no event and no job when queueing fails after the insert', async () => {
    const name = uniqueName('atomfail');
    const before = await counts();
    await refuseTenantJobs();
    const refused = await createTenant(name);
    expect(refused.status, refused.text).toBe(500);
    expect(await counts()).toEqual(before);
    // The name is still free: nothing half-made holds it.
    const check = await platform.test.http.get(`/api/v1/tenant-names/${name}`, { token: platform.customer.accessToken });
    expect(check.body).toMatchObject({ available: true });
  });

  it('leaves no staging copy, and no note on its source, when queueing the copy fails', async () => {
    const source = await runningTenant('atomsrc');
    const before = await counts();
    await refuseTenantJobs();
    const copy = await platform.test.http.post(
      `/api/v1/tenants/${source.name}/duplicate`,
      { name: uniqueName('atomcopy'), adminPassword: GOOD_PASSWORD },
      { token: platform.operator.accessToken },
    );
    expect(copy.status, copy.text).toBe(500);
    expect(await counts()).toEqual(before);
  });

  it('leaves the state as it was when queueing a lifecycle request’s job fails', async () => {
    const tenant = await runningTenant('atomstop');
    const before = await counts();
    await refuseTenantJobs();
    const stop = await platform.test.http.post(`/api/v1/tenants/${tenant.name}/stop`, {}, { token: platform.customer.accessToken });
    expect(stop.status, stop.text).toBe(500);
    expect(await counts()).toEqual(before);
    const row = await db().selectFrom('tenants').select('state').where('id', '=', tenant.id).executeTakeFirstOrThrow();
    expect(row.state).toBe('running');
  });
});
