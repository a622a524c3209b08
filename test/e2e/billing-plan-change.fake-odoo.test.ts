import { randomBytes } from 'node:crypto';
import { delimiter, dirname, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobQueue, type JobQueue } from '../../src/jobs/index.js';
import { createLogger } from '../../src/logging/index.js';
import { withConnection } from '../../src/postgres/index.js';
import { odooLogin, waitFor } from '../helpers/gateway-client.js';
import {
  createOperator,
  registerCustomer,
  runningTenant,
  startTestPlatform,
  type TestPlatform,
  templateBuilt,
} from '../helpers/platform.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

/**
 * Billing drives the tenant's live plan change, end to end with the fake Odoo, real PostgreSQL
 * and the platform's job workers (the built-in provider, the manual gateway: the operator records
 * the bank transfer). A customer's basic (pool) tenant subscribed to standard moves to a dedicated
 * process once the invoice is paid, not before, and its admin logs in after; a downgrade the
 * tenant does not fit is a 409 naming the limit and by how much, scheduling nothing; a fitting one
 * waits for the end of the period (the billing clock moved) and then applies; an upgrade mid-period
 * waits for its prorated invoice; the operator's change-plan of the billed tenant is refused with
 * the billing change to make instead.
 */
process.env.PATH = `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`;

let test: TestPlatform;
let operator: Awaited<ReturnType<typeof createOperator>>;
let customer: Awaited<ReturnType<typeof registerCustomer>>;
/** A second handle on the platform's job queue (no workers): sends jobs as a retry after a crash would. */
let jobs: JobQueue;
/** The billing clock: the test moves it to the end of the period. */
let now = new Date();
const ADMIN_PASSWORD = 'Odoo-Admin-Pass-1';
const name = `bp${randomBytes(3).toString('hex')}`;

interface TenantViewBody {
  state: string;
  plan: string;
  processStrategy: string;
  databaseName: string;
  stateReason: string | null;
}

const asOperator = () => ({ token: operator.accessToken });
const asCustomer = () => ({ token: customer.accessToken });

async function tenantView(): Promise<TenantViewBody> {
  return (await test.http.get(`/api/v1/tenants/${name}`, asOperator())).body as TenantViewBody;
}

/** The tenant running on `plan` (a plan change may move it first: it waits through the migration). */
function runningOn(plan: string, timeoutMs = 180_000): Promise<TenantViewBody> {
  return waitFor(
    `${name} to run on plan ${plan}`,
    async () => {
      const view = await tenantView();
      if (view.state === 'error') throw new Error(`${name} failed: ${view.stateReason}`);
      return view.state === 'running' && view.plan === plan ? view : undefined;
    },
    timeoutMs,
    100,
  );
}

async function adminLogsIn(databaseName: string): Promise<number> {
  const port = Number(new URL(test.url).port);
  return waitFor(`the admin of ${name} to log in through the gateway`, async () => {
    const answer = await odooLogin(port, `${name}.lvh.me`, databaseName, `admin@${name}.example.com`, ADMIN_PASSWORD).catch(
      () => undefined,
    );
    return answer?.body.result?.uid ? answer.body.result.uid : undefined;
  });
}

async function onTenantDatabase(databaseName: string, sql: string): Promise<void> {
  const url = new URL(postgresAdminUrl());
  url.pathname = `/${databaseName}`;
  await withConnection(url.toString(), (client) => client.query(sql));
}

async function openInvoice(subscriptionId: string): Promise<{ id: string; reason: string; totalMinor: number }> {
  const invoices = (await test.http.get(`/api/v1/billing/invoices?subscriptionId=${subscriptionId}`, asCustomer())).body as Array<{
    id: string;
    status: string;
    reason: string;
    totalMinor: number;
  }>;
  const open = invoices.find((i) => i.status === 'open');
  if (!open) throw new Error(`no open invoice of ${subscriptionId}: ${JSON.stringify(invoices)}`);
  return open;
}

async function markPaid(invoiceId: string, reference: string): Promise<void> {
  const paid = await test.http.post(`/api/v1/billing/invoices/${invoiceId}/mark-paid`, { reference }, asOperator());
  expect(paid.status, paid.text).toBe(200);
}

async function timeline(): Promise<string[]> {
  const events = (await test.http.get(`/api/v1/tenants/${name}/events`, asOperator())).body as Array<{ message: string | null }>;
  return events.map((e) => e.message ?? '');
}

beforeAll(async () => {
  test = await startTestPlatform(
    {
      ODOO_BIN: resolve('test/fixtures/fake-odoo/odoo-bin'),
      TENANT_DATABASE_URL: postgresAdminUrl(),
      TEMPLATES_AUTOBUILD: 'blank',
      SPARE_DATABASES: '0',
    },
    { clock: () => now },
  );
  operator = await createOperator(test);
  customer = await registerCustomer(test.http, 'plan-change-owner');
  jobs = createJobQueue({ connectionString: test.database.url, logger: createLogger('silent') });
  await jobs.start();
  await templateBuilt(test, operator.accessToken);
  // A cheaper paid plan on the same placement as standard, with room for 3 Odoo users: the downgrade target.
  const starter = await test.http.post(
    '/api/v1/plans',
    {
      code: 'starter',
      name: 'Starter',
      limits: { cpu: 1, memoryMiB: 1024, storageGiB: 5, odooUsers: 3 },
      placement: { databaseStrategy: 'shared', processStrategy: 'dedicated', replicas: 1, limitPolicy: 'block' },
      prices: [{ interval: 'month', amountCents: 900, currency: 'USD' }],
    },
    asOperator(),
  );
  expect(starter.status, starter.text).toBe(201);
}, 240_000);

/** Queues the job billing queued for this change again, as its retry after a crash would run it, and waits for it. */
async function planChangeJobAgain(tenantId: string, subscriptionId: string): Promise<void> {
  const id = await jobs.send('billing-plan-change', { tenantId, plan: 'standard', subscriptionId }, { key: tenantId });
  await waitFor(
    'the repeated billing-plan-change job to finish',
    async () => {
      const job = await jobs.find('billing-plan-change', id);
      if (job?.state === 'failed') throw new Error(`the repeated job failed: ${JSON.stringify(job.output)}`);
      return job?.state === 'completed' ? job : undefined;
    },
    120_000,
    100,
  );
}

afterAll(async () => {
  await jobs?.stop();
  await test?.stop();
});

describe('billing drives the live plan change', () => {
  let subscriptionId: string;
  let databaseName: string;

  it('basic -> standard: the tenant moves to a dedicated process once the invoice is paid, not before, and its admin logs in', async () => {
    const tenant = await runningTenant(test, operator.accessToken, {
      name,
      plan: 'basic',
      accountId: customer.accountId,
      adminPassword: ADMIN_PASSWORD,
    });
    databaseName = tenant.databaseName;
    expect(tenant.processStrategy).toBe('pool');
    const subscribed = await test.http.post(
      '/api/v1/billing/subscriptions',
      { plan: 'standard', interval: 'month', tenant: name },
      asCustomer(),
    );
    expect(subscribed.status, subscribed.text).toBe(201);
    expect(subscribed.body.state).toBe('pending_payment');
    subscriptionId = subscribed.body.id;
    // Not paid: nothing moves.
    expect(await tenantView()).toMatchObject({ state: 'running', plan: 'basic', processStrategy: 'pool' });
    expect((await test.http.get(`/api/v1/migrations?tenant=${name}`, asOperator())).body).toEqual([]);

    await markPaid((await openInvoice(subscriptionId)).id, 'transfer-1');
    // The job again while the migration it started runs (a crash before the job was marked done),
    // and once more after: neither starts a second migration.
    await planChangeJobAgain(tenant.id, subscriptionId);
    const moved = await runningOn('standard');
    await planChangeJobAgain(tenant.id, subscriptionId);
    expect(moved.processStrategy).toBe('dedicated');
    const migrations = (await test.http.get(`/api/v1/migrations?tenant=${name}`, asOperator())).body as Array<{
      state: string;
      trigger: string;
      targetPlan?: string;
    }>;
    expect(migrations).toHaveLength(1);
    expect(migrations[0]).toMatchObject({ state: 'succeeded', trigger: 'plan_change' });
    expect(await adminLogsIn(databaseName)).toBe(2);
    // On the tenant's timeline and in the audit trail, as done by billing.
    expect((await timeline()).some((m) => /migration .* queued \(plan change\)/.test(m))).toBe(true);
    const audit = (await test.http.get('/api/v1/audit-log?action=tenant.change_plan', asOperator())).body as Array<{
      actorType: string;
      actorLabel: string | null;
      targetId: string | null;
      outcome: string;
      details: Record<string, unknown> | null;
    }>;
    expect(audit.find((a) => a.targetId === tenant.id)).toMatchObject({
      actorType: 'system',
      actorLabel: 'billing',
      outcome: 'success',
      details: { from: 'basic', to: 'standard', subscriptionId },
    });
  }, 400_000);

  it("refuses the operator's change-plan of the billed tenant to another plan, naming the billing change to make", async () => {
    const refused = await test.http.post(`/api/v1/tenants/${name}/change-plan`, { plan: 'premium' }, asOperator());
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.field).toBe('plan');
    expect(refused.body.detail).toContain(`POST /api/v1/billing/subscriptions/${subscriptionId}/change-plan`);
    expect((await tenantView()).plan).toBe('standard');
  });

  it('refuses a downgrade the tenant does not fit with a 409 naming the limit and by how much, scheduling nothing', async () => {
    await onTenantDatabase(
      databaseName,
      `INSERT INTO res_users (login, active, partner_id, company_id, share)
       SELECT 'clerk' || i || '@example.com', true, 1, 1, false FROM generate_series(1, 5) AS i`,
    );
    const preview = await test.http.post(
      `/api/v1/billing/subscriptions/${subscriptionId}/change-preview`,
      { plan: 'starter', interval: 'month' },
      asCustomer(),
    );
    expect(preview.status, preview.text).toBe(409);
    const refused = await test.http.post(
      `/api/v1/billing/subscriptions/${subscriptionId}/change-plan`,
      { plan: 'starter', interval: 'month' },
      asCustomer(),
    );
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.field).toBe('plan');
    expect(refused.body.detail).toMatch(/6 active Odoo users, plan starter allows 3: archive 3 user\(s\) first/);
    const sub = await test.http.get(`/api/v1/billing/subscriptions/${subscriptionId}`, asCustomer());
    expect(sub.body).toMatchObject({ plan: 'standard', scheduledPlan: null, state: 'active' });
  });

  it('schedules a fitting downgrade; it applies to the tenant when the period ends (billing clock moved)', async () => {
    await onTenantDatabase(databaseName, "UPDATE res_users SET active = false WHERE login LIKE 'clerk%'");
    const scheduled = await test.http.post(
      `/api/v1/billing/subscriptions/${subscriptionId}/change-plan`,
      { plan: 'starter', interval: 'month' },
      asCustomer(),
    );
    expect(scheduled.status, scheduled.text).toBe(200);
    expect(scheduled.body).toMatchObject({ plan: 'standard', scheduledPlan: { plan: 'starter', interval: 'month' } });
    expect((await tenantView()).plan).toBe('standard');

    now = new Date(new Date(scheduled.body.currentPeriodEnd).getTime() + 60_000);
    await test.platform.billing.provider.sweep();
    const renewed = await test.http.get(`/api/v1/billing/subscriptions/${subscriptionId}`, asCustomer());
    expect(renewed.body).toMatchObject({ plan: 'starter', scheduledPlan: null });
    // Same placement as standard: new limits, no move.
    const view = await runningOn('starter', 60_000);
    expect(view.processStrategy).toBe('dedicated');
    expect((await test.http.get(`/api/v1/migrations?tenant=${name}`, asOperator())).body).toHaveLength(1);
    expect(await adminLogsIn(databaseName)).toBe(2);
    // The renewal at the new price is to be paid.
    await markPaid((await openInvoice(subscriptionId)).id, 'transfer-2');
  }, 120_000);

  it('an upgrade mid-period waits for its prorated invoice, then applies', async () => {
    now = new Date(now.getTime() + 10 * 24 * 3_600_000);
    const upgraded = await test.http.post(
      `/api/v1/billing/subscriptions/${subscriptionId}/change-plan`,
      { plan: 'standard', interval: 'month' },
      asCustomer(),
    );
    expect(upgraded.status, upgraded.text).toBe(200);
    expect(upgraded.body).toMatchObject({ plan: 'standard', planAwaitingPayment: 'standard' });
    const proration = await openInvoice(subscriptionId);
    expect(proration.reason).toBe('proration');
    expect(proration.totalMinor).toBeGreaterThan(0);
    // Not paid yet: the tenant stays on starter (the engine asks for no plan change until it is: unit-tested).
    expect((await tenantView()).plan).toBe('starter');

    await markPaid(proration.id, 'transfer-3');
    await runningOn('standard', 60_000);
    const sub = await test.http.get(`/api/v1/billing/subscriptions/${subscriptionId}`, asCustomer());
    expect(sub.body.planAwaitingPayment).toBeNull();
    expect(await adminLogsIn(databaseName)).toBe(2);
  }, 120_000);

  it('a reactivation onto another plan: refused with 409 when the tenant does not fit, else the tenant comes back on it once paid', async () => {
    const cancelled = await test.http.post(`/api/v1/billing/subscriptions/${subscriptionId}/cancel`, undefined, asCustomer());
    expect(cancelled.status, cancelled.text).toBe(200);
    now = new Date(new Date(cancelled.body.currentPeriodEnd).getTime() + 60_000);
    await test.platform.billing.provider.sweep();
    await waitFor(`${name} to be terminated`, async () => ((await tenantView()).state === 'terminated' ? true : undefined), 60_000, 100);
    now = new Date(now.getTime() + 2 * 24 * 3_600_000);

    // 6 active users (the admin and 5 clerks) do not fit starter's 3: nothing is invoiced.
    await onTenantDatabase(databaseName, "UPDATE res_users SET active = true WHERE login LIKE 'clerk%'");
    const refused = await test.http.post(
      `/api/v1/billing/subscriptions/${subscriptionId}/reactivate`,
      { plan: 'starter', interval: 'month' },
      asCustomer(),
    );
    expect(refused.status, refused.text).toBe(409);
    expect(refused.body.field).toBe('plan');
    expect(refused.body.detail).toMatch(/6 active Odoo users, plan starter allows 3: archive 3 user\(s\) first/);
    expect((await test.http.get(`/api/v1/billing/subscriptions/${subscriptionId}`, asCustomer())).body).toMatchObject({
      state: 'cancelled',
      plan: 'standard',
    });

    await onTenantDatabase(databaseName, "UPDATE res_users SET active = false WHERE login LIKE 'clerk%'");
    const reactivated = await test.http.post(
      `/api/v1/billing/subscriptions/${subscriptionId}/reactivate`,
      { plan: 'starter', interval: 'month' },
      asCustomer(),
    );
    expect(reactivated.status, reactivated.text).toBe(200);
    expect(reactivated.body).toMatchObject({ state: 'cancelled', plan: 'starter' });
    const invoice = await openInvoice(subscriptionId);
    expect(invoice).toMatchObject({ reason: 'reactivation', totalMinor: 900 });
    // Not paid: the tenant stays terminated, on the plan it ended on.
    expect(await tenantView()).toMatchObject({ state: 'terminated', plan: 'standard' });

    await markPaid(invoice.id, 'transfer-4');
    // Back, then the live plan change to the plan the reactivation paid for (same placement: new limits).
    const view = await runningOn('starter', 150_000);
    expect(view.processStrategy).toBe('dedicated');
    expect(await adminLogsIn(databaseName)).toBe(2);
    const audit = (await test.http.get('/api/v1/audit-log?action=tenant.change_plan', asOperator())).body as Array<{
      outcome: string;
      details: Record<string, unknown> | null;
    }>;
    // standard -> starter twice: the scheduled downgrade earlier, and this reactivation.
    const toStarter = audit.filter((a) => a.outcome === 'success' && a.details?.from === 'standard' && a.details?.to === 'starter');
    expect(toStarter).toHaveLength(2);
  }, 240_000);
});
