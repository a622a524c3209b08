import { createHmac, randomBytes } from 'node:crypto';

/**
 * Signatures as Stripe makes them: HMAC-SHA256, keyed by the endpoint's secret, over
 * `<timestamp>.<body>`; sent as `Webhook-Signature: t=<unix seconds>,v1=<hex>`. The timestamp
 * inside the signed text lets receivers refuse replays of old deliveries.
 */
export const SIGNATURE_HEADER = 'webhook-signature';

export function newEndpointSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

export function signatureOf(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

export function signatureHeader(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${signatureOf(secret, timestamp, body)}`;
}
