/**
 * What a limit change tells the outside: mails (limit_warning at the warning level, limit_reached
 * at 100 %, users_deactivated) and the webhook event `usage.limit_changed`. Registered by the
 * composition beside the tenant lifecycle ones.
 */
import { type NotificationRules, toTenantContacts } from '../notifications/index.js';
import type { WebhookEvents } from '../webhooks/index.js';

const LIMIT_NAMES = { odoo_users: 'internal users', storage: 'storage' } as const;

export function addUsageLimitRules(rules: NotificationRules): void {
  rules.on('usage.limit_changed', async (event, directory) => {
    const { tenantId, resource, percent, limit } = event.payload;
    const intents = [];
    for (const action of event.payload.actions) {
      const [kind, argument] = action.split(':');
      const key = `usage:${event.id}:${kind}:${argument ?? ''}`;
      if (kind === 'notify' && (argument === 'limit_warning' || argument === 'limit_reached')) {
        intents.push(
          ...(await toTenantContacts(tenantId, directory, argument, key, () => ({
            limit: LIMIT_NAMES[resource],
            percent: String(percent),
          }))),
        );
      } else if (kind === 'deactivate_users') {
        intents.push(
          ...(await toTenantContacts(tenantId, directory, 'users_deactivated', key, () => ({
            count: argument ?? '',
            limit: String(limit),
          }))),
        );
      }
    }
    return intents;
  });
}

export function addUsageWebhookEvents(events: WebhookEvents): void {
  events.on('usage.limit_changed', async (event, directory) => {
    const tenant = await directory.tenant(event.payload.tenantId);
    return tenant && { accountId: tenant.accountId, data: { ...event.payload, name: tenant.name } };
  });
}
