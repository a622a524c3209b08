/**
 * The platform's domain events: what happened, told to whoever subscribes (the gateway's route
 * table, the dashboard's live streams, later notifications, webhooks and billing). Each event
 * type names its payload here; a new family (`backup.*`, `billing.*`, `limit.*`) is added as
 * entries of this map and every publisher and subscriber is type-checked against it.
 */
export interface DomainEventPayloads {
  /** A tenant was requested (its row and first timeline event exist). */
  'tenant.created': { tenantId: string; name: string; state: string; eventId: number };
  /** A tenant moved through the lifecycle (`fromState` is null for the first state). */
  'tenant.state_changed': { tenantId: string; fromState: string | null; toState: string; eventId: number };
  /** A tenant reached `deleted`: its name is free again, its resources are being removed. */
  'tenant.deleted': { tenantId: string; name: string };
  /** The tenant's recorded upstream changed: a runtime began serving it, moved it, or stopped serving it. */
  'tenant.upstream_changed': { tenantId: string };
  /** Any other entry on a tenant's timeline (a provisioning step, an info or an error). */
  'tenant.timeline_recorded': { tenantId: string; eventId: number; kind: 'step' | 'info' | 'error' };
  /** A custom domain of the tenant was added, verified, flagged, unrouted, made primary or removed. */
  'domain.changed': { tenantId: string; domain: string };
  /** A template's build on a database server became ready: copies (tenants, spares) can be made of it. */
  'template.build_ready': { templateCode: string; databaseServerId: string; databaseName: string };
  /** A backup was stored, read back and its sha256 matched. */
  'backup.verified': { tenantId: string; backupId: string };
  /** A backup failed (it will never count as a backup): the reason, in words for operators. */
  'backup.failed': { tenantId: string; backupId: string; reason: string };
  /**
   * A tenant's standing against one of its plan's limits changed (usage/): a level crossed
   * (`ok`, `warning` at the plan's warning percentage, `reached` at 100 %, `over`), or what is
   * enforced (new internal users refused, read-only) changed.
   */
  'usage.limit_changed': {
    tenantId: string;
    resource: 'odoo_users' | 'storage';
    fromLevel: 'ok' | 'warning' | 'reached' | 'over';
    level: 'ok' | 'warning' | 'reached' | 'over';
    used: number;
    limit: number;
    percent: number;
    blockNewUsers: boolean;
    readOnly: boolean;
    /** The enforcement this sample applied: a notification mail, deactivated users, a suspension. */
    actions: string[];
  };
  /** A subscription moved between billing states (`fromState` is null for a new one). */
  'billing.subscription_changed': {
    subscriptionId: string;
    accountId: string;
    fromState: string | null;
    toState: string;
    plan: string;
  };
  /** An invoice was issued (numbered), paid, or voided. */
  'billing.invoice_changed': {
    subscriptionId: string;
    accountId: string;
    invoiceId: string;
    number: string;
    status: 'open' | 'paid' | 'void';
    totalMinor: number;
    currency: string;
  };
  /**
   * A refund of a paid invoice was requested, issued (its credit note numbered) or failed (the
   * gateway refused it): once per change, in the transaction that made it.
   */
  'billing.refund_changed': {
    subscriptionId: string;
    accountId: string;
    invoiceId: string;
    refundId: string;
    status: 'requested' | 'issued' | 'failed';
    amountMinor: number;
    currency: string;
    /** The credit note's number once issued. */
    creditNoteNumber: string | null;
    failureReason: string | null;
  };
  /** A gateway reported a payment (once per gateway reference, however often it reports it). */
  'billing.payment_recorded': {
    subscriptionId: string;
    accountId: string;
    invoiceId: string;
    paymentId: string;
    status: 'succeeded' | 'failed';
    gateway: string;
  };
}

export type DomainEventType = keyof DomainEventPayloads;

/** An event to publish: its type, its payload, and the stream it is ordered in. */
export type DomainEvent = {
  [K in DomainEventType]: { type: K; payload: DomainEventPayloads[K] };
}[DomainEventType];

/** An event as delivered: numbered in commit order, with the stream it belongs to. */
export type DeliveredEvent = DomainEvent & { id: number; stream: string; occurredAt: Date };

/**
 * Events of one stream are delivered in the order they were written; the stream of an event is
 * its subject (a tenant's events form one stream, a template's builds another).
 */
export function streamOf(event: DomainEvent): string {
  if (event.type === 'template.build_ready') return `template:${event.payload.templateCode}`;
  if ('subscriptionId' in event.payload) return `subscription:${event.payload.subscriptionId}`;
  return `tenant:${event.payload.tenantId}`;
}

/** The tenant an event is about, if it is about one (`tenant.*`). */
export function tenantIdOf(event: DomainEvent): string | undefined {
  return 'tenantId' in event.payload ? event.payload.tenantId : undefined;
}

/** A subscriber's handler; throwing makes the event be delivered to it again later. */
export type DomainEventHandler = (event: DeliveredEvent) => Promise<void> | void;

/** What subscribers see of the event bus (the port). */
export interface DomainEventSubscriptions {
  /**
   * Replica-local: every replica delivers each event committed after the subscription to its own
   * handler (in-memory state such as the route table or a live stream). Returns an unsubscribe.
   */
  subscribe(name: string, handler: DomainEventHandler): () => void;
}
