/**
 * Outgoing webhooks: endpoints registered by accounts (and operators, for every tenant), signed
 * deliveries of domain events as durable jobs, retried with back-off for 24 h, SSRF-checked.
 */
export { createWebhookDeliveries, type DeliverySettings, type WebhookDeliveries } from './delivery.js';
export { addTenantWebhookEvents, createWebhookEvents, type WebhookDirectory, type WebhookEvent, type WebhookEvents } from './events.js';
export { DEFAULT_RETRY_POLICY, nextRetryDelay, type RetryPolicy } from './schedule.js';
export { createWebhookService, type EndpointInput, toDeliveryView, toEndpointView, type WebhookService } from './service.js';
export { SIGNATURE_HEADER, signatureHeader } from './signing.js';
export { isAllowedAddress, parseNetworks, parseTargetUrl, type ResolvedTarget, resolveTarget } from './targets.js';
