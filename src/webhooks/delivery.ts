import type { BlockList } from 'node:net';
import type { Db } from '../db/index.js';
import type { DomainEventBus } from '../events/index.js';
import type { JobQueue } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';
import type { NotificationService } from '../notifications/index.js';
import type { SecretBox } from '../secrets/index.js';
import type { WebhookDirectory, WebhookEvents } from './events.js';
import { type PostOutcome, postToTarget } from './post.js';
import { nextRetryDelay, type RetryPolicy } from './schedule.js';
import { signatureHeader } from './signing.js';
import {
  countEndpointOutcome,
  type DeliveryRow,
  deliveryById,
  type EndpointRow,
  endpointById,
  insertDelivery,
  recordDeliveryAttempt,
  subscribedEndpoints,
  updateEndpoint,
} from './store.js';
import { resolveTarget } from './targets.js';

export interface DeliverySettings {
  /** Networks the operator allows webhooks into (WEBHOOK_ALLOWED_NETWORKS); empty: public only. */
  allowedNetworks: BlockList;
  retry: RetryPolicy;
  /** Failed attempts in a row (across deliveries) after which an endpoint is disabled. */
  disableAfterFailures: number;
  timeoutMs: number;
}

export type WebhookDeliveries = ReturnType<typeof createWebhookDeliveries>;

/**
 * Events to endpoints, each attempt a durable job. Deciding: the durable subscriber maps an event
 * (WebhookEvents) and, in one transaction, records a delivery per subscribed endpoint (one per
 * event and endpoint: a replayed event adds none) and queues its first attempt.
 *
 * An attempt resolves and checks the target again (SSRF, DNS rebinding), signs `timestamp.body`
 * and POSTs to the pinned address. Its outcome is recorded in one transaction with what follows:
 * the next attempt queued with its back-off delay (pg-boss `startAfter`), or the delivery given
 * up after 24 h, or the endpoint disabled (with a mail) after too many failures in a row. A crash
 * between the POST and that record retries the attempt: receivers may see a delivery twice (at
 * least once) and recognise it by its `Webhook-Id` header.
 */
export function createWebhookDeliveries(deps: {
  db: Db;
  jobs: JobQueue;
  secretBox: SecretBox;
  events: WebhookEvents;
  directory: WebhookDirectory;
  notifications: Pick<NotificationService, 'decide'>;
  settings: DeliverySettings;
  logger: Logger;
}) {
  const { db, jobs, settings, logger } = deps;

  function requestHeaders(endpoint: EndpointRow, delivery: DeliveryRow, now: Date): Record<string, string> {
    const timestamp = Math.floor(now.getTime() / 1000);
    return {
      'webhook-id': delivery.id,
      'webhook-event': delivery.event_type,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(deps.secretBox.decrypt(endpoint.secret_encrypted), timestamp, delivery.body),
    };
  }

  async function post(endpoint: EndpointRow, delivery: DeliveryRow): Promise<PostOutcome> {
    let target: Awaited<ReturnType<typeof resolveTarget>>;
    try {
      target = await resolveTarget(endpoint.url, settings.allowedNetworks);
    } catch (error) {
      return { ok: false, statusCode: null, error: `refused: ${(error as Error).message}` };
    }
    return postToTarget(target, requestHeaders(endpoint, delivery, new Date()), delivery.body, settings.timeoutMs);
  }

  async function disable(
    endpoint: EndpointRow,
    delivery: DeliveryRow,
    failures: number,
    trx: Parameters<NotificationService['decide']>[0],
  ): Promise<void> {
    await updateEndpoint(endpoint.id, { enabled: false, disabled_reason: `disabled after ${failures} failed deliveries in a row` }, trx);
    const contacts = await deps.directory.contacts(endpoint.account_id);
    await deps.notifications.decide(
      trx,
      contacts.map((contact) => ({
        // Decided in the transaction that disables, so once per disabling; the attempt names it.
        key: `webhook_disabled:${delivery.id}:${delivery.attempts + 1}:${contact.email.toLowerCase()}`,
        template: 'webhook_disabled' as const,
        accountId: endpoint.account_id,
        to: contact.email,
        variables: { name: contact.name, endpointUrl: endpoint.url, failures: String(failures), dashboardUrl: deps.directory.dashboardUrl },
      })),
    );
    logger.warn({ endpointId: endpoint.id, failures }, 'webhook endpoint disabled after repeated failures');
  }

  async function attempt(deliveryId: string): Promise<void> {
    const delivery = await deliveryById(deliveryId, db);
    if (delivery?.status !== 'pending') return;
    const endpoint = await endpointById(delivery.endpoint_id, db);
    if (!endpoint) return;
    if (!endpoint.enabled) {
      await recordDeliveryAttempt(deliveryId, { status: 'failed', statusCode: null, error: 'endpoint disabled', nextAttemptAt: null }, db);
      return;
    }
    const outcome = await post(endpoint, delivery);
    await db.transaction().execute(async (trx) => {
      const failures = await countEndpointOutcome(endpoint.id, outcome.ok, trx);
      if (outcome.ok) {
        await recordDeliveryAttempt(
          deliveryId,
          { status: 'succeeded', statusCode: outcome.statusCode, error: null, nextAttemptAt: null },
          trx,
        );
        return;
      }
      const now = new Date();
      const delay = nextRetryDelay(settings.retry, delivery.attempts + 1, delivery.created_at, now);
      const disabling = failures >= settings.disableAfterFailures;
      const retrying = delay !== undefined && !disabling;
      await recordDeliveryAttempt(
        deliveryId,
        {
          status: retrying ? 'pending' : 'failed',
          statusCode: outcome.statusCode,
          error: outcome.error,
          nextAttemptAt: retrying ? new Date(now.getTime() + delay * 1000) : null,
        },
        trx,
      );
      if (retrying) await jobs.send('webhook-delivery', { deliveryId }, { transaction: trx, startAfterSeconds: delay });
      // Only the attempt that crosses the threshold disables (and mails), not every later one.
      if (disabling && failures === settings.disableAfterFailures) await disable(endpoint, delivery, failures, trx);
    });
  }

  return {
    attempt,

    async followEvents(bus: Pick<DomainEventBus, 'subscribeDurable'>): Promise<void> {
      await bus.subscribeDurable('webhooks', async (event) => {
        const mapped = await deps.events.map(event, deps.directory);
        if (!mapped) return;
        const endpoints = await subscribedEndpoints(event.type, mapped.accountId, db);
        if (endpoints.length === 0) return;
        const body = JSON.stringify({
          id: `evt_${event.id}`,
          type: event.type,
          created: event.occurredAt.toISOString(),
          data: mapped.data,
        });
        await db.transaction().execute(async (trx) => {
          for (const endpoint of endpoints) {
            const id = await insertDelivery({ endpointId: endpoint.id, eventId: event.id, eventType: event.type, body }, trx);
            if (id) await jobs.send('webhook-delivery', { deliveryId: id }, { transaction: trx });
          }
        });
      });
    },

    /** A new delivery of the same event and body to the same endpoint (a manual redelivery). */
    async redeliver(delivery: DeliveryRow): Promise<string> {
      return db.transaction().execute(async (trx) => {
        const id = await insertDelivery(
          {
            endpointId: delivery.endpoint_id,
            eventId: Number(delivery.event_id),
            eventType: delivery.event_type,
            body: delivery.body,
            redeliveryOf: delivery.id,
          },
          trx,
        );
        if (!id) throw new Error('the redelivery was not recorded');
        await jobs.send('webhook-delivery', { deliveryId: id }, { transaction: trx });
        return id;
      });
    },

    async registerJobs(work: boolean): Promise<void> {
      await jobs.define('webhook-delivery', (data) => attempt(data.deliveryId), work);
    },
  };
}
