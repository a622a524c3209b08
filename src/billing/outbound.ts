/**
 * What billing tells the outside through webhooks: every `billing.*` domain event, sent to the
 * endpoints of the subscription's account (and to operators' endpoints). The payload is the
 * domain event's own, documented in docs/operations/webhooks.md. Registered by the composition
 * beside the tenant lifecycle events.
 */
import type { WebhookEvents } from '../webhooks/index.js';

export const BILLING_WEBHOOK_EVENTS = [
  'billing.subscription_changed',
  'billing.invoice_changed',
  'billing.payment_recorded',
  'billing.refund_changed',
] as const;

export function addBillingWebhookEvents(events: WebhookEvents): void {
  for (const type of BILLING_WEBHOOK_EVENTS) {
    // Every billing event names its account: no lookup, and a deleted tenant does not hide its invoices.
    events.on(type, async (event) => ({ accountId: event.payload.accountId, data: { ...event.payload } }));
  }
}
