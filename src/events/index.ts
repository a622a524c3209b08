/**
 * Domain events: the port through which a change tells the rest of the platform what happened.
 * Publishers write events into the outbox in the transaction of their change; a delivery loop on
 * each replica hands them to subscribers after commit, at least once, in order.
 */
export { createDomainEventBus, DOMAIN_EVENT_RETENTION_MS, type DomainEventBus } from './bus.js';
export { DOMAIN_EVENTS_CHANNEL, publishDomainEvents } from './outbox.js';
export type {
  DeliveredEvent,
  DomainEvent,
  DomainEventHandler,
  DomainEventPayloads,
  DomainEventSubscriptions,
  DomainEventType,
} from './types.js';
export { tenantIdOf } from './types.js';
