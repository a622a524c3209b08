/**
 * What backups tell the outside through webhooks: `backup.verified` (stored, read back, sha256
 * matched) and `backup.failed` (with the reason), sent to the endpoints of the tenant's account
 * (and to operators' endpoints). Payloads are documented in docs/operations/webhooks.md.
 */
import type { WebhookEvents } from '../webhooks/index.js';

export function addBackupWebhookEvents(events: WebhookEvents): void {
  for (const type of ['backup.verified', 'backup.failed'] as const) {
    events.on(type, async (event, directory) => {
      const tenant = await directory.tenant(event.payload.tenantId);
      return tenant && { accountId: tenant.accountId, data: { ...event.payload, name: tenant.name } };
    });
  }
}
