import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import Stripe from 'stripe';
import { waitFor } from './gateway-client.js';
import { freeTestPort } from './ports.js';

/** Where scripts/lib.sh (ensure_stripe_mock) builds stripe-mock, unless STRIPE_MOCK_BIN names one. */
function stripeMockBinary(): string {
  const binary = process.env.STRIPE_MOCK_BIN ?? resolve('.tools/stripe-mock/stripe-mock');
  if (!existsSync(binary))
    throw new Error(
      `stripe-mock is not installed at ${binary}: \`npm test\` builds it (scripts/lib.sh ensure_stripe_mock, needs Go); or set STRIPE_MOCK_BIN.`,
    );
  return binary;
}

/** Stripe's own API mock server on a free port, answering the official SDK. */
export async function startStripeMock(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freeTestPort();
  const child: ChildProcess = spawn(stripeMockBinary(), ['-http-addr', `127.0.0.1:${port}`], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    'stripe-mock to answer',
    async () => {
      const response = await fetch(`${url}/v1/customers`, { headers: { authorization: 'Bearer sk_test_123' } }).catch(() => undefined);
      return response?.ok ? true : undefined;
    },
    30_000,
    50,
  );
  return {
    url,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A webhook body and its Stripe-Signature header, signed offline as Stripe would sign it. */
export function signedStripeEvent(
  event: { id: string; type: string; object: Record<string, unknown> },
  secret: string,
  options: { timestamp?: number } = {},
): { body: string; signature: string } {
  const body = JSON.stringify({
    id: event.id,
    object: 'event',
    api_version: '2025-01-01',
    type: event.type,
    data: { object: event.object },
  });
  const signature = new Stripe('sk_test_signing').webhooks.generateTestHeaderString({
    payload: body,
    secret,
    ...(options.timestamp ? { timestamp: options.timestamp } : {}),
  });
  return { body, signature };
}
