import type { DeliveredEvent, DomainEventType } from '../events/index.js';

/** What the webhook service needs to know about a tenant (handed over by the composition root). */
export interface WebhookDirectory {
  tenant(tenantId: string): Promise<{ accountId: string; name: string } | undefined>;
  /** Who is mailed when an endpoint is disabled: the account's users, or the operators for `null`. */
  contacts(accountId: string | null): Promise<Array<{ email: string; name: string }>>;
  dashboardUrl: string;
}

/** One event as receivers get it: its account (who may receive it) and its `data`. */
export interface WebhookEvent {
  accountId: string | null;
  data: Record<string, unknown>;
}

type EventOf<T extends DomainEventType> = Extract<DeliveredEvent, { type: T }>;
export type WebhookMapping<T extends DomainEventType> = (
  event: EventOf<T>,
  directory: WebhookDirectory,
) => Promise<WebhookEvent | undefined>;

/**
 * Which domain events are sent to webhooks, and what receivers see of them. The public type is
 * the domain event's type. A family plugs in with `on(type, mapping)` (backups, billing, limits);
 * endpoints may only subscribe to the types registered here (or `*`).
 */
export function createWebhookEvents() {
  const mappings = new Map<string, WebhookMapping<DomainEventType>>();
  return {
    on<T extends DomainEventType>(type: T, mapping: WebhookMapping<T>): void {
      mappings.set(type, mapping as unknown as WebhookMapping<DomainEventType>);
    },
    types(): string[] {
      return [...mappings.keys()].sort();
    },
    async map(event: DeliveredEvent, directory: WebhookDirectory): Promise<WebhookEvent | undefined> {
      return mappings.get(event.type)?.(event, directory);
    },
  };
}
export type WebhookEvents = ReturnType<typeof createWebhookEvents>;

/** The tenant lifecycle events: `tenant.created`, `tenant.state_changed`, `tenant.deleted`. */
export function addTenantWebhookEvents(events: WebhookEvents): void {
  events.on('tenant.created', async (event, directory) => {
    const tenant = await directory.tenant(event.payload.tenantId);
    return (
      tenant && {
        accountId: tenant.accountId,
        data: { tenantId: event.payload.tenantId, name: event.payload.name, state: event.payload.state },
      }
    );
  });
  events.on('tenant.state_changed', async (event, directory) => {
    const tenant = await directory.tenant(event.payload.tenantId);
    return (
      tenant && {
        accountId: tenant.accountId,
        data: { tenantId: event.payload.tenantId, name: tenant.name, fromState: event.payload.fromState, toState: event.payload.toState },
      }
    );
  });
  events.on('tenant.deleted', async (event, directory) => {
    const tenant = await directory.tenant(event.payload.tenantId);
    return tenant && { accountId: tenant.accountId, data: { tenantId: event.payload.tenantId, name: event.payload.name } };
  });
}
