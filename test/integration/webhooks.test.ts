import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishDomainEvents } from '../../src/events/index.js';
import { changeTenantState } from '../../src/tenants/index.js';
import { waitFor } from '../helpers/gateway-client.js';
import { startOutboundWorker, subscriberCaughtUp } from '../helpers/outbound.js';
import { requestTenantAsOperator, startPlatformForTenantRequests, type TenantRequestsPlatform } from '../helpers/platform.js';
import { startTestSmtpServer } from '../helpers/smtp.js';

/**
 * Outgoing webhooks end to end: endpoints registered through the API, tenant events delivered by
 * `webhook-delivery` jobs of a worker replica to a real HTTP receiver on loopback (the operator
 * allows 127.0.0.0/8 here: WEBHOOK_ALLOWED_NETWORKS), signatures checked by the receiver with
 * node:crypto alone, retries with back-off (1 s base here), disabling after 3 failures in a row
 * with a mail read from real SMTP, manual redelivery, and the SSRF refusals.
 */
interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let platform: TenantRequestsPlatform;
let smtp: Awaited<ReturnType<typeof startTestSmtpServer>>;
let worker: Awaited<ReturnType<typeof startOutboundWorker>>;
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];
/** Status the receiver answers per path (200 unless told otherwise); a function sees the count so far. */
const answers = new Map<string, (seen: number) => number>();

const db = () => platform.test.platform.database.db;
const customer = () => ({ token: platform.customer.accessToken });
const operator = () => ({ token: platform.operator.accessToken });

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  platform = await startPlatformForTenantRequests('hooks', {
    env: {
      SMTP_URL: smtp.url,
      WEBHOOK_ALLOWED_NETWORKS: '127.0.0.0/8',
      WEBHOOK_RETRY_BASE_SECONDS: '1',
      WEBHOOK_DISABLE_AFTER_FAILURES: '3',
    },
  });
  worker = await startOutboundWorker(platform.test, smtp.url);
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const status = answers.get(path)?.(received.filter((r) => r.path === path).length) ?? 200;
      res.writeHead(status).end(status === 200 ? 'ok' : 'not now');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const address = receiver.address();
  receiverUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  await platform?.test.stop();
  await smtp?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

/** What an independent receiver does: HMAC-SHA256 over `t.body` with the secret, compared in constant time. */
function signatureValid(secret: string, header: string, body: string): boolean {
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=', 2)));
  const expected = createHmac('sha256', secret).update(`${parts.t}.${body}`).digest();
  const given = Buffer.from(String(parts.v1), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected) && Math.abs(Date.now() / 1000 - Number(parts.t)) < 300;
}

async function register(path: string, events: string[], as = customer(), extra: Record<string, unknown> = {}) {
  const created = await platform.test.http.post('/api/v1/webhooks', { url: `${receiverUrl}${path}`, events, ...extra }, as);
  expect(created.status, created.text).toBe(201);
  return created.body as { id: string; secret: string; accountId: string | null };
}

function receivedAt(path: string, count: number): Promise<Received[]> {
  return waitFor(`${count} requests at ${path}`, async () => {
    const mine = received.filter((r) => r.path === path);
    return mine.length >= count ? mine : undefined;
  });
}

async function deliveries(endpointId: string, as = customer()) {
  const answer = await platform.test.http.get(`/api/v1/webhooks/${endpointId}/deliveries`, as);
  expect(answer.status).toBe(200);
  return answer.body as Array<{
    id: string;
    status: string;
    attempts: number;
    eventType: string;
    lastError: string | null;
    redeliveryOf: string | null;
  }>;
}

describe('signed deliveries', () => {
  it('delivers a tenant event to the account endpoint, signed over timestamp.body; the secret is shown once and kept sealed', async () => {
    const endpoint = await register('/signed', ['tenant.state_changed']);
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(endpoint.accountId).toBe(platform.customer.accountId);
    const listed = await platform.test.http.get('/api/v1/webhooks', customer());
    expect(listed.text).not.toContain(endpoint.secret);
    const stored = await db()
      .selectFrom('webhook_endpoints')
      .select('secret_encrypted')
      .where('id', '=', endpoint.id)
      .executeTakeFirstOrThrow();
    expect(stored.secret_encrypted).not.toContain(endpoint.secret.slice(6));

    const tenant = await requestTenantAsOperator(platform, 'hook');
    await changeTenantState(db(), tenant.id, 'provisioning_succeeded');
    // tenant.created came with a first state_changed (into provisioning); then the move.
    const request = (await receivedAt('/signed', 2)).find((r) => JSON.parse(r.body).data.toState === 'starting');
    if (!request) throw new Error('no request for the move');
    expect(signatureValid(endpoint.secret, String(request.headers['webhook-signature']), request.body)).toBe(true);
    expect(signatureValid('whsec_wrong', String(request.headers['webhook-signature']), request.body)).toBe(false);
    expect(signatureValid(endpoint.secret, String(request.headers['webhook-signature']), `${request.body} `)).toBe(false);
    const body = JSON.parse(request.body);
    expect(body).toMatchObject({
      type: 'tenant.state_changed',
      data: { tenantId: tenant.id, name: tenant.name, fromState: 'provisioning', toState: 'starting' },
    });
    expect(request.headers['webhook-event']).toBe('tenant.state_changed');
    expect(request.headers['webhook-timestamp']).toBe(String(request.headers['webhook-signature']).split(',')[0]?.slice(2));
    const log = await deliveries(endpoint.id);
    expect(log.map((d) => d.eventType)).toEqual(['tenant.state_changed', 'tenant.state_changed']);
    expect(log.find((d) => d.id === request.headers['webhook-id'])).toMatchObject({
      id: request.headers['webhook-id'],
      status: 'succeeded',
      attempts: 1,
    });
  });

  it("sends an operator's endpoint every tenant's events; customers see neither it nor other accounts' endpoints", async () => {
    const endpoint = await register('/operator', ['*'], operator());
    expect(endpoint.accountId).toBeNull();
    const tenant = await requestTenantAsOperator(platform, 'ophook');
    const [created] = await receivedAt('/operator', 1);
    expect(JSON.parse(created?.body ?? '{}')).toMatchObject({ type: 'tenant.created', data: { tenantId: tenant.id, name: tenant.name } });
    expect(signatureValid(endpoint.secret, String(created?.headers['webhook-signature']), created?.body ?? '')).toBe(true);
    const seen = await platform.test.http.get(`/api/v1/webhooks/${endpoint.id}`, customer());
    expect(seen.status).toBe(404);
    const listed = await platform.test.http.get('/api/v1/webhooks', customer());
    expect((listed.body as Array<{ id: string }>).map((e) => e.id)).not.toContain(endpoint.id);
    await platform.test.http.delete(`/api/v1/webhooks/${endpoint.id}`, operator());
  });
});

describe('billing and backup events', () => {
  it('sends billing.* and backup.verified/backup.failed to an endpoint subscribed to them, signed, with their documented payloads', async () => {
    const types = await platform.test.http.get('/api/v1/webhooks/event-types', customer());
    const billingAndBackup = [
      'backup.failed',
      'backup.verified',
      'billing.invoice_changed',
      'billing.payment_recorded',
      'billing.refund_changed',
      'billing.subscription_changed',
    ];
    expect(JSON.stringify(types.body)).toContain('billing.payment_recorded');
    const endpoint = await register('/money', billingAndBackup);
    const tenant = await requestTenantAsOperator(platform, 'money');
    // A paid subscription: a subscription_changed (into pending_payment) and its first invoice; the
    // operator marks the invoice paid: payment_recorded, invoice paid, subscription active.
    const sub = await platform.test.http.post(
      '/api/v1/billing/subscriptions',
      { plan: 'standard', interval: 'month', tenant: tenant.name },
      customer(),
    );
    expect(sub.status, sub.text).toBe(201);
    const [invoice] = (await platform.test.http.get(`/api/v1/billing/invoices?subscriptionId=${sub.body.id}`, customer())).body as Array<{
      id: string;
      number: string;
    }>;
    const paid = await platform.test.http.post(`/api/v1/billing/invoices/${invoice?.id}/mark-paid`, { reference: 'wire-1' }, operator());
    expect(paid.status, paid.text).toBe(200);
    // Backups publish these from their job (backups/run.ts); written here the same way, in a transaction.
    await db()
      .transaction()
      .execute(async (trx) => {
        await publishDomainEvents(trx, {
          type: 'backup.verified',
          payload: { tenantId: tenant.id, backupId: '00000000-0000-4000-8000-000000000001' },
        });
        await publishDomainEvents(trx, {
          type: 'backup.failed',
          payload: { tenantId: tenant.id, backupId: '00000000-0000-4000-8000-000000000002', reason: 'S3: connection refused' },
        });
      });
    const requests = await receivedAt('/money', 7);
    for (const request of requests) {
      expect(signatureValid(endpoint.secret, String(request.headers['webhook-signature']), request.body)).toBe(true);
      expect(request.headers['webhook-event']).toBe(JSON.parse(request.body).type);
    }
    const bodies = requests.map((r) => JSON.parse(r.body) as { type: string; data: Record<string, unknown> });
    const accountId = platform.customer.accountId;
    expect(bodies).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: 'billing.subscription_changed',
          data: { subscriptionId: sub.body.id, accountId, fromState: null, toState: 'pending_payment', plan: 'standard' },
        }),
        expect.objectContaining({
          type: 'billing.subscription_changed',
          data: { subscriptionId: sub.body.id, accountId, fromState: 'pending_payment', toState: 'active', plan: 'standard' },
        }),
        expect.objectContaining({
          type: 'billing.invoice_changed',
          data: expect.objectContaining({ invoiceId: invoice?.id, number: invoice?.number, status: 'paid', accountId, currency: 'USD' }),
        }),
        expect.objectContaining({
          type: 'billing.payment_recorded',
          data: expect.objectContaining({ invoiceId: invoice?.id, status: 'succeeded', gateway: 'manual', accountId }),
        }),
        expect.objectContaining({
          type: 'backup.verified',
          data: { tenantId: tenant.id, name: tenant.name, backupId: '00000000-0000-4000-8000-000000000001' },
        }),
        expect.objectContaining({
          type: 'backup.failed',
          data: {
            tenantId: tenant.id,
            name: tenant.name,
            backupId: '00000000-0000-4000-8000-000000000002',
            reason: 'S3: connection refused',
          },
        }),
      ]),
    );
    // Subscribed to billing and backups only: none of the tenant's lifecycle events came.
    expect(bodies.every((b) => b.type.startsWith('billing.') || b.type.startsWith('backup.'))).toBe(true);
    await platform.test.http.delete(`/api/v1/webhooks/${endpoint.id}`, customer());
  }, 30_000);
});

describe('retries, disabling, redelivery', () => {
  it('retries a failing delivery with back-off until the receiver takes it', async () => {
    answers.set('/flaky', (seen) => (seen < 3 ? 500 : 200));
    const endpoint = await register('/flaky', ['tenant.created']);
    await requestTenantAsOperator(platform, 'flaky');
    const attempts = await receivedAt('/flaky', 3);
    expect(new Set(attempts.map((a) => a.headers['webhook-id'])).size).toBe(1);
    expect(new Set(attempts.map((a) => a.body)).size).toBe(1);
    const [first, , third] = attempts.map((a) => Number(String(a.headers['webhook-timestamp'])));
    // 1 s then 2 s: the third attempt comes at least 3 s (whole seconds) after the first.
    expect((third ?? 0) - (first ?? 0)).toBeGreaterThanOrEqual(2);
    for (const attempt of attempts)
      expect(signatureValid(endpoint.secret, String(attempt.headers['webhook-signature']), attempt.body)).toBe(true);
    const delivery = await waitFor('the delivery to succeed', async () =>
      (await deliveries(endpoint.id)).find((d) => d.status === 'succeeded'),
    );
    expect(delivery.attempts).toBe(3);
    await platform.test.http.delete(`/api/v1/webhooks/${endpoint.id}`, customer());
  }, 30_000);

  it('disables an endpoint after 3 failures in a row and mails the account; re-enabled, a failed delivery is redelivered', async () => {
    answers.set('/down', () => 503);
    const endpoint = await register('/down', ['tenant.created']);
    await requestTenantAsOperator(platform, 'down');
    await receivedAt('/down', 3);
    const disabled = await waitFor('the endpoint to be disabled', async () => {
      const answer = await platform.test.http.get(`/api/v1/webhooks/${endpoint.id}`, customer());
      return answer.body.enabled === false ? answer.body : undefined;
    });
    expect(disabled.disabledReason).toContain('3 failed deliveries in a row');
    const mail = await smtp.waitForMail(platform.customer.email, /^A webhook endpoint was disabled$/);
    expect(mail.text).toContain(`${receiverUrl}/down failed 3 deliveries in a row`);
    const [failed] = await deliveries(endpoint.id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 3 });
    expect(failed?.lastError).toContain('HTTP 503');

    // Disabled: later events make no delivery for it.
    await requestTenantAsOperator(platform, 'downagain');
    await subscriberCaughtUp(db(), 'webhooks');
    expect(await deliveries(endpoint.id)).toHaveLength(1);

    answers.set('/down', () => 200);
    const enabled = await platform.test.http.request('PATCH', `/api/v1/webhooks/${endpoint.id}`, { enabled: true }, customer());
    expect(enabled.body).toMatchObject({ enabled: true, consecutiveFailures: 0, disabledReason: null });
    const redelivered = await platform.test.http.post(`/api/v1/webhook-deliveries/${failed?.id}/redeliver`, undefined, customer());
    expect(redelivered.status).toBe(202);
    expect(redelivered.body).toMatchObject({ redeliveryOf: failed?.id, status: 'pending' });
    const done = await waitFor('the redelivery to succeed', async () =>
      (await deliveries(endpoint.id)).find((d) => d.id === redelivered.body.id && d.status === 'succeeded'),
    );
    expect(done.attempts).toBe(1);
    const requests = received.filter((r) => r.path === '/down');
    expect(requests.at(-1)?.headers['webhook-id']).toBe(redelivered.body.id);
    expect(requests.at(-1)?.body).toBe(requests[0]?.body);
  }, 30_000);
});

describe('server-side request forgery', () => {
  it.each([
    ['http://10.1.2.3/hook', '10.1.2.3'],
    ['http://169.254.169.254/latest/meta-data', '169.254.169.254'],
    ['http://[::1]:8080/hook', '::1'],
    ['http://[::ffff:10.0.0.1]/hook', '::ffff:a00:1'],
    ['http://192.168.1.10/hook', '192.168.1.10'],
  ])('refuses %s at registration (400 naming url), making nothing', async (url, address) => {
    const before = await db()
      .selectFrom('webhook_endpoints')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    const refused = await platform.test.http.post('/api/v1/webhooks', { url, events: ['*'] }, customer());
    expect(refused.status).toBe(400);
    expect(refused.body.errors?.[0]?.field ?? refused.body.field).toBe('url');
    expect(refused.text).toContain(address);
    const after = await db()
      .selectFrom('webhook_endpoints')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    expect(after.n).toBe(before.n);
  });

  it.each([
    ['ftp://example.com/hook', 'url'],
    ['not a url', 'url'],
    ['http://user:pw@example.com/', 'url'],
  ])('refuses %s with a 400 naming the field', async (url, field) => {
    const refused = await platform.test.http.post('/api/v1/webhooks', { url, events: ['*'] }, customer());
    expect(refused.status).toBe(400);
    expect(refused.text).toContain(field);
  });

  it('refuses unknown event types, naming them', async () => {
    const refused = await platform.test.http.post('/api/v1/webhooks', { url: `${receiverUrl}/x`, events: ['tenant.exploded'] }, customer());
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('tenant.exploded');
  });

  it('checks the address again at delivery time: a host that now points inside is refused, nothing is sent', async () => {
    const endpoint = await register('/rebind', ['tenant.created']);
    // As if its DNS name now answered with a private address (rebinding): the check runs per attempt.
    await db().updateTable('webhook_endpoints').set({ url: 'http://10.9.9.9/rebind' }).where('id', '=', endpoint.id).execute();
    await requestTenantAsOperator(platform, 'rebind');
    const refused = await waitFor('the attempt to be refused', async () => (await deliveries(endpoint.id)).find((d) => d.attempts >= 1));
    expect(refused.lastError).toMatch(/^refused: .*10\.9\.9\.9/);
    expect(received.filter((r) => r.path === '/rebind')).toHaveLength(0);
    await platform.test.http.delete(`/api/v1/webhooks/${endpoint.id}`, customer());
  });
});
