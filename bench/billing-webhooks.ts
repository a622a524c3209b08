/**
 * Payment webhook latency, Stripe and Paystack: from the moment a signed payment event is sent
 * to the moment the subscription (and, in the same transaction, its tenant) changed state: HTTP
 * receipt, signature check, the event kept, the durable `billing-gateway-event` job picked up by
 * a worker, (Paystack only) the transaction re-read from the API with /transaction/verify, the
 * payment recorded and the engine's decision applied. Starts the whole platform in-process
 * (managed PostgreSQL in a temporary DATA_DIR) once per gateway. Stripe signatures are checked
 * offline (no Stripe API call); Paystack's API is the loopback server of the tests, on this
 * machine. Not part of the test suite.
 *
 *   .tools/node/node_modules/node/bin/node --import tsx bench/billing-webhooks.ts
 *
 * Environment: BENCH_EVENTS (default 50), BENCH_GATEWAYS (default "stripe,paystack"), LOG_LEVEL (default warn).
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { loadConfig } from '../src/config/index.js';
import { startPlatform } from '../src/main.js';
import { freePort } from '../src/system/index.js';
import { chargeSuccess, type PaystackServer, signedPaystackEvent, startPaystackServer } from '../test/helpers/paystack.js';

const SECRET = 'whsec_bench_billing';
const events = Number(process.env.BENCH_EVENTS ?? 50);
const gateways = (process.env.BENCH_GATEWAYS ?? 'stripe,paystack').split(',').map((g) => g.trim());
const signer = new Stripe('sk_test_bench');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

type Target = { subscriptionId: string; invoiceId: string; total: number };

/** The signed request a gateway would send for a payment of `target`. */
function stripeDelivery(target: Target, index: number): { path: string; body: string; headers: Record<string, string> } {
  const body = JSON.stringify({
    id: `evt_bench_${index}_${Date.now()}`,
    object: 'event',
    type: 'checkout.session.completed',
    data: {
      object: {
        id: `cs_bench_${index}`,
        object: 'checkout.session',
        metadata: { invoiceId: target.invoiceId },
        payment_status: 'paid',
        amount_total: target.total,
        currency: 'usd',
        payment_intent: `pi_bench_${index}_${Date.now()}`,
      },
    },
  });
  return {
    path: '/api/v1/billing/webhooks/stripe',
    body,
    headers: { 'stripe-signature': signer.webhooks.generateTestHeaderString({ payload: body, secret: SECRET }) },
  };
}

function paystackDelivery(paystack: PaystackServer, target: Target, index: number) {
  // The customer paid on Paystack's page: the transaction exists and succeeded before the event.
  const transaction = paystack.add({
    reference: `bench_${index}_${Date.now()}`,
    amount: target.total,
    metadata: { invoiceId: target.invoiceId },
    status: 'success',
    paid_at: new Date().toISOString(),
  });
  const signed = signedPaystackEvent('charge.success', chargeSuccess(transaction), paystack.secretKey);
  return { path: '/api/v1/billing/webhooks/paystack', body: signed.body, headers: { 'x-paystack-signature': signed.signature } };
}

async function runGateway(gateway: string): Promise<void> {
  const paystack = gateway === 'paystack' ? await startPaystackServer() : undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'saas-bench-billing-'));
  chmodSync(dataDir, 0o711);
  const port = await freePort();
  const config = loadConfig({
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    TEMPLATES_AUTOBUILD: '',
    ODOO_AUTO_INSTALL: 'false',
    ...(paystack
      ? { BILLING_GATEWAY: 'paystack', PAYSTACK_SECRET_KEY: paystack.secretKey, PAYSTACK_API_URL: paystack.url }
      : { BILLING_GATEWAY: 'stripe', STRIPE_SECRET_KEY: 'sk_test_bench', STRIPE_WEBHOOK_SECRET: SECRET }),
  });
  const platform = await startPlatform(config);
  const base = platform.url ?? `http://127.0.0.1:${port}`;
  const db = platform.database.db;
  try {
    const account = await db.insertInto('accounts').values({ name: 'Bench Ltd' }).returning('id').executeTakeFirstOrThrow();
    const pending: Target[] = [];
    for (let i = 0; i < events * 2; i++) {
      const sub = await platform.billing.provider.subscribe({
        accountId: account.id,
        tenantId: null,
        plan: 'standard',
        interval: 'month',
        trial: false,
      });
      const [invoice] = await platform.billing.reads.invoices({ accountId: null }, { subscriptionId: sub.id, limit: 1, offset: 0 });
      if (!invoice) throw new Error('no invoice issued');
      pending.push({ subscriptionId: sub.id, invoiceId: invoice.id, total: invoice.totalMinor });
    }

    async function deliver(target: Target, index: number): Promise<number> {
      const request = paystack ? paystackDelivery(paystack, target, index) : stripeDelivery(target, index);
      const sent = Date.now();
      const response = await fetch(`${base}${request.path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...request.headers },
        body: request.body,
      });
      if (response.status !== 200) throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
      // The decision's own timestamp (the billing clock is the real one here): no polling error.
      for (;;) {
        const row = await db
          .selectFrom('billing_subscriptions')
          .select(['state', 'state_changed_at'])
          .where('id', '=', target.subscriptionId)
          .executeTakeFirstOrThrow();
        if (row.state === 'active') return row.state_changed_at.getTime() - sent;
        await new Promise((r) => setTimeout(r, 5));
      }
    }

    const report = (label: string, latencies: number[]) => {
      const sorted = [...latencies].sort((a, b) => a - b);
      console.log(
        `${gateway.padEnd(8)} ${label}: ${sorted.length} events  p50 ${percentile(sorted, 50)} ms  p95 ${percentile(sorted, 95)} ms  max ${sorted.at(-1)} ms`,
      );
    };
    const oneByOne: number[] = [];
    for (let i = 0; i < events; i++) oneByOne.push(await deliver(pending[i] as Target, i));
    report('one at a time     ', oneByOne);
    const together = await Promise.all(pending.slice(events).map((target, i) => deliver(target, events + i)));
    report(`${events} at once        `, together);
    console.log(
      `load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} on ${cpus().length} CPUs`,
    );
  } finally {
    await platform.stop();
    await paystack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  for (const gateway of gateways) {
    if (gateway !== 'stripe' && gateway !== 'paystack') throw new Error(`BENCH_GATEWAYS: unknown gateway ${gateway} (stripe, paystack)`);
    await runGateway(gateway);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
