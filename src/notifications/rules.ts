import type { DeliveredEvent, DomainEventPayloads, DomainEventType } from '../events/index.js';
import type { NotificationTemplate } from './catalog.js';

/** Who is told about a tenant, and what the mails link to (handed over by the composition root). */
export interface TenantContacts {
  tenantName: string;
  tenantUrl: string;
  accountId: string;
  /** When a tenant scheduled for deletion goes (its `delete_after`). */
  deleteAfter: Date | null;
  contacts: Array<{ email: string; name: string }>;
}

export interface NotificationDirectory {
  tenant(tenantId: string): Promise<TenantContacts | undefined>;
  dashboardUrl: string;
}

/** A mail a rule decided on: `key` makes deciding it twice (a replayed event) a no-op. */
export interface NotificationIntent {
  key: string;
  template: NotificationTemplate;
  accountId: string | null;
  to: string;
  variables: Record<string, string>;
}

type EventOf<T extends DomainEventType> = Extract<DeliveredEvent, { type: T }>;
export type NotificationRule<T extends DomainEventType> = (
  event: EventOf<T>,
  directory: NotificationDirectory,
) => Promise<NotificationIntent[]>;

/**
 * Which events send which mails. A new event family plugs in with one `on(type, rule)` call
 * next to its code (backups: `backup.failed` -> backup_failed); nothing else changes.
 */
export function createNotificationRules() {
  const rules = new Map<string, Array<NotificationRule<DomainEventType>>>();
  return {
    on<T extends DomainEventType>(type: T, rule: NotificationRule<T>): void {
      rules.set(type, [...(rules.get(type) ?? []), rule as unknown as NotificationRule<DomainEventType>]);
    },
    async intentsFor(event: DeliveredEvent, directory: NotificationDirectory): Promise<NotificationIntent[]> {
      const intents: NotificationIntent[] = [];
      for (const rule of rules.get(event.type) ?? []) intents.push(...(await rule(event, directory)));
      return intents;
    },
  };
}
export type NotificationRules = ReturnType<typeof createNotificationRules>;

/** One intent per contact of the tenant, keyed by `keyOf` (plus the recipient). */
export async function toTenantContacts(
  tenantId: string,
  directory: NotificationDirectory,
  template: NotificationTemplate,
  keyOf: string,
  extra: (tenant: TenantContacts) => Record<string, string> = () => ({}),
): Promise<NotificationIntent[]> {
  const tenant = await directory.tenant(tenantId);
  if (!tenant) return [];
  const more = extra(tenant);
  return tenant.contacts.map((contact) => ({
    key: `${keyOf}:${contact.email.toLowerCase()}`,
    template,
    accountId: tenant.accountId,
    to: contact.email,
    variables: {
      name: contact.name,
      tenantName: tenant.tenantName,
      tenantUrl: tenant.tenantUrl,
      dashboardUrl: directory.dashboardUrl,
      ...more,
    },
  }));
}

/** The template a tenant's move sends, if any (pure: tested alone). */
export function templateOfStateChange(change: DomainEventPayloads['tenant.state_changed']): NotificationTemplate | undefined {
  if (change.toState === 'running') return 'tenant_ready';
  if (change.toState === 'suspended') return 'suspended';
  if (change.fromState === 'suspended' && change.toState === 'starting') return 'resumed';
  if (change.toState === 'scheduled_for_deletion') return 'deletion_scheduled';
  if (change.toState === 'terminated') return 'terminated';
  return undefined;
}

/** The tenant lifecycle mails. */
export function addTenantLifecycleRules(rules: NotificationRules): void {
  rules.on('tenant.state_changed', async (event, directory) => {
    const template = templateOfStateChange(event.payload);
    if (!template) return [];
    // "Ready" is told once per tenant (a restart reaches `running` again); the others once per move.
    const key = template === 'tenant_ready' ? `tenant_ready:${event.payload.tenantId}` : `${template}:event:${event.id}`;
    return toTenantContacts(
      event.payload.tenantId,
      directory,
      template,
      key,
      (tenant): Record<string, string> =>
        template === 'deletion_scheduled' ? { deleteOn: tenant.deleteAfter?.toUTCString() ?? 'in 12 hours' } : {},
    );
  });
}
