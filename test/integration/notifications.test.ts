import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobQueue } from '../../src/jobs/index.js';
import { createLogger } from '../../src/logging/index.js';
import {
  createMailer,
  createNotificationRules,
  createNotificationService,
  NOTIFICATION_CRASH_POINTS,
  type NotificationService,
} from '../../src/notifications/index.js';
import { tenantUrlBuilder } from '../../src/tenant-urls.js';
import { changeTenantState } from '../../src/tenants/index.js';
import { cliEnvironment, repositoryRoot } from '../helpers/cli.js';
import { waitFor } from '../helpers/gateway-client.js';
import { startOutboundWorker, subscriberCaughtUp } from '../helpers/outbound.js';
import {
  registerCustomer,
  requestTenantAsOperator,
  startPlatformForTenantRequests,
  type TenantRequestsPlatform,
} from '../helpers/platform.js';
import { freeTestPort } from '../helpers/ports.js';
import { startTestSmtpServer } from '../helpers/smtp.js';

/**
 * Notification mails, read from a real SMTP server: decided from the domain events by the
 * platform's durable subscriber, sent by `notification-send` jobs of a worker replica, logged per
 * account, listed and resent by the operator; and sent exactly once when the sending process is
 * killed between "decided to send" and "sent" (a real `saasctl serve` child, SIGKILLed).
 */
let platform: TenantRequestsPlatform;
let smtp: Awaited<ReturnType<typeof startTestSmtpServer>>;
let worker: Awaited<ReturnType<typeof startOutboundWorker>>;
const db = () => platform.test.platform.database.db;
const operatorToken = () => ({ token: platform.operator.accessToken });

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  platform = await startPlatformForTenantRequests('notify', { env: { SMTP_URL: smtp.url } });
  worker = await startOutboundWorker(platform.test, smtp.url);
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  await platform?.test.stop();
  await smtp?.close();
});

async function move(tenantId: string, action: Parameters<typeof changeTenantState>[2]) {
  await changeTenantState(db(), tenantId, action, { reason: 'moved by the test' });
}

async function logged(accountId: string, template: string) {
  return waitFor(`a sent ${template} mail`, async () => {
    const rows = await platform.test.http.get(`/api/v1/notifications?accountId=${accountId}&limit=500`, operatorToken());
    return (rows.body as Array<{ template: string; status: string; id: string; messageId: string }>).find(
      (r) => r.template === template && r.status === 'sent',
    );
  });
}

describe('mails from tenant events', () => {
  it('tells the account when its tenant is ready, suspended and resumed, with links, in text and HTML', async () => {
    const tenant = await requestTenantAsOperator(platform, 'mail');
    const to = platform.customer.email;
    await move(tenant.id, 'provisioning_succeeded');
    await move(tenant.id, 'start_succeeded');
    const ready = await smtp.waitForMail(to, new RegExp(`^${tenant.name} is ready$`));
    const tenantUrl = tenantUrlBuilder(platform.test.config).baseUrl(tenant.name);
    expect(ready.text).toContain(`Your Odoo database ${tenant.name} is ready to use at ${tenantUrl}.`);
    expect(ready.text).toContain(`Open ${tenant.name}: ${tenantUrl}`);
    expect(ready.html).toContain(`<a href="${tenantUrl}">Open ${tenant.name}</a>`);

    await move(tenant.id, 'suspend');
    const suspended = await smtp.waitForMail(to, new RegExp(`^${tenant.name} is suspended$`));
    expect(suspended.text).toContain('its users cannot sign in');
    expect(suspended.text).toContain(`Open the dashboard: ${new URL('/dashboard/', platform.test.config.publicUrl).toString()}`);
    await move(tenant.id, 'resume');
    await smtp.waitForMail(to, new RegExp(`^${tenant.name} is running again$`));
    // Back to running after the resume: "ready" is told once per tenant, never again.
    await move(tenant.id, 'start_succeeded');
    await subscriberCaughtUp(db(), 'notifications');
    const log = await platform.test.http.get(`/api/v1/notifications?accountId=${platform.customer.accountId}&limit=500`, operatorToken());
    expect((log.body as Array<{ template: string; subject: string }>).filter((r) => r.subject === `${tenant.name} is ready`)).toHaveLength(
      1,
    );
    expect(smtp.inbox.filter((m) => m.subject === `${tenant.name} is ready`)).toHaveLength(1);
    expect(ready.messageId).toBe((await logged(platform.customer.accountId, 'tenant_ready')).messageId);
  });

  it('lets the operator see the log and resend a mail; customers see their own account only', async () => {
    const sent = await logged(platform.customer.accountId, 'suspended');
    const before = smtp.inbox.filter((m) => m.messageId === sent.messageId);
    expect(before).toHaveLength(1);
    const resent = await platform.test.http.post(`/api/v1/notifications/${sent.id}/resend`, undefined, operatorToken());
    expect(resent.status).toBe(202);
    expect(resent.body).toMatchObject({ resendOf: sent.id, template: 'suspended', recipient: platform.customer.email });
    const again = await waitFor('the resent mail', async () => smtp.inbox.find((m) => m.messageId === resent.body.messageId));
    expect(again.subject).toBe(before[0]?.subject);

    const own = await platform.test.http.get(`/api/v1/accounts/${platform.customer.accountId}/notifications`, {
      token: platform.customer.accessToken,
    });
    expect(own.status).toBe(200);
    expect((own.body as Array<{ id: string }>).map((r) => r.id)).toContain(sent.id);
    const other = await registerCustomer(platform.test.http, 'other');
    const refused = await platform.test.http.get(`/api/v1/accounts/${platform.customer.accountId}/notifications`, {
      token: other.accessToken,
    });
    expect(refused.status).toBe(403);
    const customerResend = await platform.test.http.post(`/api/v1/notifications/${sent.id}/resend`, undefined, {
      token: other.accessToken,
    });
    expect(customerResend.status).toBe(403);
    const missing = await platform.test.http.post('/api/v1/notifications/not-a-uuid/resend', undefined, operatorToken());
    expect(missing.status).toBe(400);
    expect(missing.text).toContain('id');
  });
});

describe('a crash between "decided to send" and "sent"', () => {
  const logger = createLogger('silent');
  let deciding: NotificationService;
  let decidingJobs: ReturnType<typeof createJobQueue>;
  const children = new Set<ChildProcess>();
  let dataDir: string;

  beforeAll(async () => {
    // Stop the in-test worker: the platform child processes alone send here.
    await worker.stop();
    decidingJobs = createJobQueue({ connectionString: platform.test.database.url, logger });
    await decidingJobs.start();
    const mailer = createMailer({ smtpUrl: smtp.url, from: 'x@example.com', outboxDir: tmpdir(), logger });
    deciding = createNotificationService({
      db: db(),
      jobs: decidingJobs,
      mailer,
      rules: createNotificationRules(),
      directory: { dashboardUrl: 'http://app.example.com/dashboard/', tenant: async () => undefined },
      logger,
    });
    // Registers the queue only: this process decides, it does not send.
    await deciding.registerJobs(false);
    dataDir = mkdtempSync(join(tmpdir(), 'saas-notify-crash-'));
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await decidingJobs?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function startServe(extraEnv: Record<string, string>): Promise<ChildProcess> {
    const port = await freeTestPort();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
      cwd: repositoryRoot,
      env: cliEnvironment({
        DATABASE_URL: platform.test.database.url,
        DATA_DIR: dataDir,
        PORT: String(port),
        HOST: '127.0.0.1',
        SECRET_KEY: platform.test.config.secretKey ?? '',
        SMTP_URL: smtp.url,
        TEMPLATES_AUTOBUILD: '',
        SPARE_DATABASES: '0',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
        PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
        ...extraEnv,
      }),
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    children.add(child);
    await waitFor(
      'the platform child to serve',
      async () => {
        if (child.exitCode !== null) throw new Error(`the platform child exited with ${child.exitCode}`);
        return fetch(`http://127.0.0.1:${port}/healthz`).then(
          (r) => (r.ok ? true : undefined),
          () => undefined,
        );
      },
      60_000,
    );
    return child;
  }

  function killedBySignal(child: ChildProcess): Promise<NodeJS.Signals | null> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.signalCode);
    return new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  }

  it('sends the mail exactly once: nothing from the killed process, one from the next', async () => {
    expect(NOTIFICATION_CRASH_POINTS).toContain('notification:before-send');
    const to = `crash-${Date.now()}@example.com`;
    const crashing = await startServe({ SAAS_TEST_CRASH_AFTER_STEP: 'notification:before-send' });
    const [id] = await deciding.notify([
      {
        key: `crash-test:${to}`,
        template: 'payment_failed',
        accountId: platform.customer.accountId,
        to,
        variables: { name: 'Crash Test', tenantName: 'crashco', dashboardUrl: 'http://app.example.com/dashboard/' },
      },
    ]);
    expect(await killedBySignal(crashing)).toBe('SIGKILL');
    const afterCrash = await db()
      .selectFrom('notification_log')
      .selectAll()
      .where('id', '=', id ?? '')
      .executeTakeFirstOrThrow();
    expect(afterCrash.status).toBe('pending');
    expect(smtp.inbox.filter((m) => m.to.includes(to))).toHaveLength(0);
    // Deciding again (a replayed event) decides nothing: the key is taken.
    expect(
      await deciding.notify([
        { key: `crash-test:${to}`, template: 'payment_failed', accountId: null, to, variables: afterCrash.variables },
      ]),
    ).toEqual([]);

    const next = await startServe({});
    const mail = await smtp.waitForMail(to, /^Payment for crashco failed$/, 60_000);
    expect(mail.text).toContain('We could not collect the payment for crashco.');
    expect(mail.messageId).toBe(afterCrash.message_id);
    const sent = await waitFor('the log to say sent', async () => {
      const row = await db()
        .selectFrom('notification_log')
        .selectAll()
        .where('id', '=', id ?? '')
        .executeTakeFirstOrThrow();
      return row.status === 'sent' ? row : undefined;
    });
    expect(sent.attempts).toBe(1);
    // The job is done with: no retry is left that could send a second copy.
    await waitFor('the send job to complete', async () => {
      const jobs = await decidingJobs.list({ queue: 'notification-send', limit: 500 });
      const mine = jobs.find((j) => (j.data as { notificationId: string }).notificationId === id);
      return mine?.state === 'completed' ? mine : undefined;
    });
    expect(smtp.inbox.filter((m) => m.to.includes(to))).toHaveLength(1);
    next.kill('SIGTERM');
    await killedBySignal(next);
  }, 180_000);
});
