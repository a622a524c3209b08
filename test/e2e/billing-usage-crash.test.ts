import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/index.js';
import { insertTenant, tenantPostgresNames } from '../../src/tenants/index.js';
import { insertSample, rollUp } from '../../src/usage/store.js';
import { exited } from '../helpers/cli.js';
import { waitFor } from '../helpers/gateway-client.js';
import { registerCustomer } from '../helpers/platform.js';
import { freeTestPort } from '../helpers/ports.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { servedPlatform } from '../helpers/served-platform.js';

/**
 * kill -9 while a billing period closes: the platform runs as a real child process and is killed
 * (SAAS_TEST_CRASH_AFTER_STEP=period:closed) after the period's usage was recorded and its renewal
 * invoice issued, before the transaction committed. A new process on the same database must close
 * the period once: one usage record, one renewal invoice with the extra-user line; for a run
 * cancelled at the end of its term, the end of the run and one final invoice for the usage.
 */
let database: TestDatabase;
let db: Db;
let dataDir: string;
let port: number;
const platform = servedPlatform(() => ({
  databaseUrl: database.url,
  dataDir,
  port,
  env: { TEMPLATES_AUTOBUILD: '', SPARE_DATABASES: '0' },
}));
const http = platform.http;
const DAY_MS = 86_400_000;

beforeAll(async () => {
  database = await createTestDatabase('usagecrash');
  db = createDb(database.url, { maxConnections: 2 });
  dataDir = mkdtempSync(join(tmpdir(), 'saas-usage-crash-'));
  port = await freeTestPort();
}, 60_000);

afterEach(platform.stopAll);

afterAll(async () => {
  await db?.destroy();
  await database?.drop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/**
 * A customer's standard tenant (priced per user above 2) whose first month was paid and is now
 * over, with 6 active users at its peak; `cancelled`: cancelled at the end of that month.
 */
async function periodClosingWithSixUsers(label: string, cancelled: boolean): Promise<string> {
  await platform.startReady();
  const customer = await registerCustomer(http(), label);
  const auth = { token: customer.accessToken };
  // The standard plan, priced per user above 2 (an operator's catalog edit).
  await platform.query(`update plans set prices = $1::jsonb where code = 'standard'`, [
    JSON.stringify([{ interval: 'month', amountCents: 1900, currency: 'USD', perUser: { included: 2, amountCents: 700 } }]),
  ]);
  const name = `usagecrash${Date.now().toString(36)}`;
  const names = tenantPostgresNames(name);
  const tenant = await db.transaction().execute((trx) =>
    insertTenant(
      {
        name,
        account_id: customer.accountId as string,
        plan_code: 'standard',
        template_code: 'blank',
        state: 'pending_payment',
        database_name: names.databaseName,
        role_name: names.roleName,
        role_password_encrypted: 'unused',
        process_strategy: 'dedicated',
        runtime: 'process',
        admin_email: `admin@${name}.example.com`,
        admin_login: `admin@${name}.example.com`,
      },
      { message: 'tenant requested' },
      trx,
    ),
  );
  const created = await http().post('/api/v1/billing/subscriptions', { plan: 'standard', interval: 'month', tenant: name }, auth);
  expect(created.status, created.text).toBe(201);
  const subscriptionId = created.body.id as string;
  await platform.stopAll();

  // The first month was paid and is over (a child process's clock cannot travel: the period is
  // moved back instead), with 6 active users at its peak.
  await platform.query(`update billing_invoices set status = 'paid', paid_at = now() where subscription_id = $1`, [subscriptionId]);
  await platform.query(
    `update billing_subscriptions set state = 'active', unpaid_invoices = '{}', anchor = anchor - interval '31 days',
              cancel_at_period_end = $2, next_timer_at = now() - interval '1 minute' where id = $1`,
    [subscriptionId, cancelled],
  );
  const [moved] = await platform.query<{ anchor: Date }>('select anchor from billing_subscriptions where id = $1', [subscriptionId]);
  const anchor = (moved as { anchor: Date }).anchor;
  for (const [day, users] of [
    [2, 3],
    [9, 6],
    [20, 4],
  ] as const) {
    const slot = new Date(anchor.getTime() + day * DAY_MS);
    await insertSample(
      tenant.id,
      slot,
      slot,
      { odooUsers: users, databaseBytes: 1_000_000, filestoreBytes: 0, cpuSeconds: null, memoryBytes: null },
      db,
    );
    await rollUp(slot, db);
  }

  return subscriptionId;
}

describe('kill -9 while a period with extra users closes', { timeout: 300_000 }, () => {
  it('the next process records the usage and issues the renewal once', async () => {
    const subscriptionId = await periodClosingWithSixUsers('usage-crash', false);
    const crashing = platform.start({ SAAS_TEST_CRASH_AFTER_STEP: 'period:closed' });
    expect(await exited(crashing)).toEqual({ code: null, signal: 'SIGKILL' });
    // Killed before the commit: nothing of the close is there.
    expect(await platform.query('select 1 from billing_usage where subscription_id = $1', [subscriptionId])).toHaveLength(0);
    expect(
      await platform.query(`select 1 from billing_invoices where subscription_id = $1 and reason = 'renewal'`, [subscriptionId]),
    ).toHaveLength(0);

    await platform.startReady();
    const renewal = await waitFor(
      'the period to close',
      async () => {
        const rows = await platform.query<{ id: string; subtotal_minor: number }>(
          `select id, subtotal_minor from billing_invoices where subscription_id = $1 and reason = 'renewal'`,
          [subscriptionId],
        );
        return rows[0];
      },
      150_000,
    );
    const lines = await platform.query<{ amount_minor: number; description: string }>(
      'select amount_minor, description from billing_invoice_lines where invoice_id = $1 order by position',
      [renewal.id],
    );
    expect(lines.map((l) => l.amount_minor)).toEqual([1900, 4 * 700]);
    expect(lines[1]?.description).toMatch(/^4 extra users x USD 7\.00: peak of 6 active users on \d{4}-\d{2}-\d{2}, 2 included$/);
    expect(renewal.subtotal_minor).toBe(1900 + 2800);
    const usage = await platform.query<{ odoo_users_peak: number; charged_minor: number }>(
      'select odoo_users_peak, charged_minor from billing_usage where subscription_id = $1',
      [subscriptionId],
    );
    expect(usage).toEqual([{ odoo_users_peak: 6, charged_minor: 2800 }]);
    expect(
      await platform.query(`select 1 from billing_invoices where subscription_id = $1 and reason = 'renewal'`, [subscriptionId]),
    ).toHaveLength(1);
  });

  it('a run cancelled at the end of its term: the next process ends it and issues the final usage invoice once', async () => {
    const subscriptionId = await periodClosingWithSixUsers('usage-crash-final', true);
    const crashing = platform.start({ SAAS_TEST_CRASH_AFTER_STEP: 'period:closed' });
    expect(await exited(crashing)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(
      await platform.query('select 1 from billing_invoices where subscription_id = $1 and reason = $2', [subscriptionId, 'final_usage']),
    ).toHaveLength(0);
    expect(await platform.query('select state from billing_subscriptions where id = $1', [subscriptionId])).toEqual([{ state: 'active' }]);

    await platform.startReady();
    const final = await waitFor(
      'the last period to close',
      async () =>
        (
          await platform.query<{ id: string; status: string; subtotal_minor: number }>(
            `select id, status, subtotal_minor from billing_invoices where subscription_id = $1 and reason = 'final_usage'`,
            [subscriptionId],
          )
        )[0],
      150_000,
    );
    expect(final).toMatchObject({ status: 'open', subtotal_minor: 4 * 700 });
    const lines = await platform.query<{ amount_minor: number; description: string }>(
      'select amount_minor, description from billing_invoice_lines where invoice_id = $1 order by position',
      [final.id],
    );
    // Only the usage of the month that ended: no next period is billed.
    expect(lines.map((l) => l.amount_minor)).toEqual([4 * 700]);
    expect(lines[0]?.description).toMatch(/^4 extra users x USD 7\.00: peak of 6 active users on \d{4}-\d{2}-\d{2}, 2 included$/);
    expect(await platform.query('select state from billing_subscriptions where id = $1', [subscriptionId])).toEqual([
      { state: 'cancelled' },
    ]);
    expect(await platform.query('select charged_minor from billing_usage where subscription_id = $1', [subscriptionId])).toEqual([
      { charged_minor: 2800 },
    ]);
    expect(
      await platform.query(`select reason from billing_invoices where subscription_id = $1 and reason <> 'first_period'`, [subscriptionId]),
    ).toEqual([{ reason: 'final_usage' }]);
  });
});
