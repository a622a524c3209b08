import type { Principal } from '../auth/index.js';
import type { Db } from '../db/index.js';
import { NotFoundError, ValidationError } from '../errors/index.js';
import type { SecretBox } from '../secrets/index.js';
import type { WebhookDeliveries } from './delivery.js';
import type { WebhookEvents } from './events.js';
import { newEndpointSecret } from './signing.js';
import {
  type DeliveryRow,
  deleteEndpoint,
  deliveryById,
  type EndpointRow,
  endpointById,
  insertEndpoint,
  listDeliveries,
  listEndpoints,
  updateEndpoint,
} from './store.js';
import { parseTargetUrl, resolveTarget } from './targets.js';

export type WebhookService = ReturnType<typeof createWebhookService>;

export interface EndpointInput {
  url: string;
  events: string[];
  description?: string | undefined;
  /** Operators only: the account whose tenants' events it receives; absent: every tenant's. */
  accountId?: string | null | undefined;
}

/**
 * Webhook endpoints as customers and operators manage them. A customer's endpoint receives the
 * events of its account's tenants; an operator's endpoint without an account receives every
 * tenant's. The signing secret is made here, shown once (the create answer) and kept sealed.
 */
export function createWebhookService(deps: {
  db: Db;
  secretBox: SecretBox;
  events: WebhookEvents;
  deliveries: WebhookDeliveries;
  allowedNetworks: import('node:net').BlockList;
}) {
  const { db } = deps;

  async function visibleEndpoint(principal: Principal, id: string): Promise<EndpointRow> {
    const endpoint = await endpointById(id, db);
    // Another account's endpoint answers exactly like a missing one.
    if (!endpoint || (principal.role !== 'operator' && endpoint.account_id !== principal.accountId))
      throw new NotFoundError('Webhook endpoint', { field: 'id' });
    return endpoint;
  }

  function checkEvents(events: string[]): string[] {
    const known = deps.events.types();
    const unknown = events.filter((e) => e !== '*' && !known.includes(e));
    if (unknown.length > 0)
      throw new ValidationError(`Unknown event types ${unknown.join(', ')}; known: *, ${known.join(', ')}.`, { field: 'events' });
    if (events.length === 0) throw new ValidationError('Name at least one event type (or "*").', { field: 'events' });
    return [...new Set(events)];
  }

  /** The URL's form and, now, its addresses: a private target is refused at once, not at the first delivery. */
  async function checkUrl(url: string): Promise<string> {
    parseTargetUrl(url);
    await resolveTarget(url, deps.allowedNetworks);
    return url;
  }

  async function visibleDelivery(principal: Principal, deliveryId: string): Promise<DeliveryRow> {
    const delivery = await deliveryById(deliveryId, db);
    if (!delivery) throw new NotFoundError('Webhook delivery', { field: 'id' });
    await visibleEndpoint(principal, delivery.endpoint_id).catch(() => {
      throw new NotFoundError('Webhook delivery', { field: 'id' });
    });
    return delivery;
  }

  return {
    eventTypes: () => deps.events.types(),

    /** Throws NotFound unless the principal may see the endpoint (checked before a body is read). */
    async assertVisible(principal: Principal, what: 'endpoint' | 'delivery', id: string): Promise<void> {
      if (what === 'endpoint') await visibleEndpoint(principal, id);
      else await visibleDelivery(principal, id);
    },

    async create(principal: Principal, input: EndpointInput) {
      let accountId: string | null;
      if (principal.role === 'operator') accountId = input.accountId ?? null;
      else if (input.accountId !== undefined && input.accountId !== principal.accountId)
        throw new ValidationError('Customers register endpoints for their own account only; leave accountId out.', { field: 'accountId' });
      else accountId = principal.accountId;
      if (principal.role !== 'operator' && !accountId)
        throw new ValidationError('Your user belongs to no account.', { field: 'accountId' });
      const eventTypes = checkEvents(input.events);
      const url = await checkUrl(input.url);
      const secret = newEndpointSecret();
      const row = await insertEndpoint(
        {
          accountId,
          url,
          description: input.description ?? '',
          eventTypes,
          secretEncrypted: deps.secretBox.encrypt(secret),
          createdBy: principal.userId,
        },
        db,
      ).catch((error: { code?: string }) => {
        if (error.code === '23503') throw new ValidationError('No such account.', { field: 'accountId' });
        throw error;
      });
      return { ...toEndpointView(row), secret };
    },

    async list(principal: Principal) {
      if (principal.role !== 'operator' && !principal.accountId) return [];
      const rows = await listEndpoints(principal.role === 'operator' ? undefined : (principal.accountId ?? undefined), db);
      return rows.map(toEndpointView);
    },

    async get(principal: Principal, id: string) {
      return toEndpointView(await visibleEndpoint(principal, id));
    },

    /** Changes an endpoint; enabling a disabled one starts its failure count afresh. */
    async update(
      principal: Principal,
      id: string,
      change: { url?: string | undefined; events?: string[] | undefined; description?: string | undefined; enabled?: boolean | undefined },
    ) {
      await visibleEndpoint(principal, id);
      const row = await updateEndpoint(
        id,
        {
          ...(change.url !== undefined ? { url: await checkUrl(change.url) } : {}),
          ...(change.events !== undefined ? { event_types: checkEvents(change.events) } : {}),
          ...(change.description !== undefined ? { description: change.description } : {}),
          ...(change.enabled === true ? { enabled: true, disabled_reason: null, consecutive_failures: 0 } : {}),
          ...(change.enabled === false ? { enabled: false, disabled_reason: 'disabled by a user' } : {}),
        },
        db,
      );
      if (!row) throw new NotFoundError('Webhook endpoint', { field: 'id' });
      return toEndpointView(row);
    },

    async remove(principal: Principal, id: string): Promise<void> {
      await visibleEndpoint(principal, id);
      await deleteEndpoint(id, db);
    },

    async deliveries(principal: Principal, id: string, limit: number) {
      await visibleEndpoint(principal, id);
      return (await listDeliveries(id, limit, db)).map(toDeliveryView);
    },

    async redeliver(principal: Principal, deliveryId: string) {
      const delivery = await visibleDelivery(principal, deliveryId);
      const id = await deps.deliveries.redeliver(delivery);
      const created = await deliveryById(id, db);
      if (!created) throw new Error('the redelivery vanished');
      return toDeliveryView(created);
    },
  };
}

export function toEndpointView(row: EndpointRow) {
  return {
    id: row.id,
    accountId: row.account_id,
    url: row.url,
    description: row.description,
    events: row.event_types,
    enabled: row.enabled,
    disabledReason: row.disabled_reason,
    consecutiveFailures: row.consecutive_failures,
    createdAt: row.created_at.toISOString(),
  };
}

export function toDeliveryView(row: DeliveryRow) {
  return {
    id: row.id,
    endpointId: row.endpoint_id,
    eventId: Number(row.event_id),
    eventType: row.event_type,
    status: row.status,
    attempts: row.attempts,
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    nextAttemptAt: row.next_attempt_at ? row.next_attempt_at.toISOString() : null,
    redeliveryOf: row.redelivery_of,
    createdAt: row.created_at.toISOString(),
    finishedAt: row.finished_at ? row.finished_at.toISOString() : null,
  };
}
