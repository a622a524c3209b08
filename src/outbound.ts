import type { AccountService } from './accounts/index.js';
import { addBackupWebhookEvents } from './backups/index.js';
import { addBillingWebhookEvents } from './billing/index.js';
import type { Config } from './config/index.js';
import type { Db } from './db/index.js';
import type { DomainEventBus } from './events/index.js';
import type { JobQueue } from './jobs/index.js';
import type { Logger } from './logging/index.js';
import {
  addTenantLifecycleRules,
  createNotificationRules,
  createNotificationService,
  type Mailer,
  type NotificationDirectory,
} from './notifications/index.js';
import type { SecretBox } from './secrets/index.js';
import { tenantById } from './tenants/index.js';
import { addUsageLimitRules, addUsageWebhookEvents } from './usage/index.js';
import {
  addTenantWebhookEvents,
  createWebhookDeliveries,
  createWebhookEvents,
  createWebhookService,
  DEFAULT_RETRY_POLICY,
  parseNetworks,
  type WebhookDirectory,
} from './webhooks/index.js';

/**
 * Composition of what the platform tells the outside: notification mails and webhooks, both
 * durable subscribers of the domain events. Other event families (backups, billing, limits)
 * register their notification rules and webhook events here, beside the tenant ones.
 */
export async function startNotificationsAndWebhooks(deps: {
  config: Pick<Config, 'publicUrl' | 'runWorkers' | 'webhookAllowedNetworks' | 'webhookDisableAfterFailures' | 'webhookRetryBaseSeconds'>;
  db: Db;
  jobs: JobQueue;
  mailer: Mailer;
  secretBox: SecretBox;
  domainEvents: Pick<DomainEventBus, 'subscribeDurable'>;
  accounts: Pick<AccountService, 'contactsOf'>;
  tenantBaseUrl: (name: string) => string;
  logger: Logger;
  crashPoint: (point: string) => void;
}) {
  const { config, db, jobs, mailer, secretBox, domainEvents, accounts, logger, crashPoint } = deps;
  const dashboardUrl = new URL('/dashboard/', config.publicUrl).toString();
  const notificationDirectory: NotificationDirectory = {
    dashboardUrl,
    async tenant(tenantId) {
      const row = await tenantById(tenantId, db);
      if (!row) return undefined;
      return {
        tenantName: row.name,
        tenantUrl: deps.tenantBaseUrl(row.name),
        accountId: row.account_id,
        deleteAfter: row.delete_after,
        contacts: await accounts.contactsOf(row.account_id),
      };
    },
  };
  // Other families (backups, billing, limits) add their rules and webhook events beside these.
  const notificationRules = createNotificationRules();
  addTenantLifecycleRules(notificationRules);
  addUsageLimitRules(notificationRules);
  const notifier = createNotificationService({
    db,
    jobs,
    mailer,
    rules: notificationRules,
    directory: notificationDirectory,
    logger,
    messageIdDomain: new URL(config.publicUrl).hostname,
    crashPoint,
  });
  await notifier.registerJobs(config.runWorkers);
  await notifier.followEvents(domainEvents);
  const webhookDirectory: WebhookDirectory = {
    dashboardUrl,
    async tenant(tenantId) {
      const row = await tenantById(tenantId, db);
      return row && { accountId: row.account_id, name: row.name };
    },
    contacts: (accountId) => accounts.contactsOf(accountId),
  };
  const webhookEvents = createWebhookEvents();
  addTenantWebhookEvents(webhookEvents);
  addUsageWebhookEvents(webhookEvents);
  addBackupWebhookEvents(webhookEvents);
  addBillingWebhookEvents(webhookEvents);
  const allowedNetworks = parseNetworks(config.webhookAllowedNetworks);
  const webhookDeliveries = createWebhookDeliveries({
    db,
    jobs,
    secretBox,
    events: webhookEvents,
    directory: webhookDirectory,
    notifications: notifier,
    settings: {
      allowedNetworks,
      retry: { ...DEFAULT_RETRY_POLICY, baseSeconds: config.webhookRetryBaseSeconds },
      disableAfterFailures: config.webhookDisableAfterFailures,
      timeoutMs: 10_000,
    },
    logger,
  });
  await webhookDeliveries.registerJobs(config.runWorkers);
  await webhookDeliveries.followEvents(domainEvents);
  const webhooks = createWebhookService({ db, secretBox, events: webhookEvents, deliveries: webhookDeliveries, allowedNetworks });

  return { notifier, webhooks };
}
