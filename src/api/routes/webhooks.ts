import { z } from 'zod';
import { type Api, principalOf, routeOptions } from '../route.js';
import { uuidParam } from '../schemas.js';
import type { ApiDependencies } from '../server.js';

const endpointSchema = z
  .object({
    id: z.string(),
    accountId: z.string().nullable().describe('null: an operator endpoint receiving every tenant’s events'),
    url: z.string(),
    description: z.string(),
    events: z.array(z.string()),
    enabled: z.boolean(),
    disabledReason: z.string().nullable(),
    consecutiveFailures: z.number(),
    createdAt: z.string(),
  })
  .meta({ id: 'WebhookEndpoint' });

const deliverySchema = z
  .object({
    id: z.string(),
    endpointId: z.string(),
    eventId: z.number(),
    eventType: z.string(),
    status: z.enum(['pending', 'succeeded', 'failed']),
    attempts: z.number(),
    lastStatusCode: z.number().nullable(),
    lastError: z.string().nullable(),
    nextAttemptAt: z.string().nullable(),
    redeliveryOf: z.string().nullable(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .meta({ id: 'WebhookDelivery' });

const urlField = z.string().min(1, 'must be an http(s) URL').max(2000, 'must be at most 2000 characters');
const eventsField = z.array(z.string().min(1).max(100)).min(1, 'name at least one event type (or "*")').max(50);
const descriptionField = z.string().max(200, 'must be at most 200 characters');
const idParams = z.object({ id: uuidParam }).strict();

export function registerWebhookRoutes(api: Api, deps: Pick<ApiDependencies, 'webhooks'>): void {
  const tags = ['webhooks'];
  // Another account's endpoint or delivery answers 404 before the body is validated: callers
  // learn nothing about endpoints that are not theirs.
  api.addHook('preValidation', async (request) => {
    const url = request.routeOptions.url ?? '';
    const id = (request.params as { id?: unknown } | undefined)?.id;
    if (!request.principal || request.principal.role === 'operator' || typeof id !== 'string' || !uuidParam.safeParse(id).success) return;
    if (url.includes('/webhooks/:id')) await deps.webhooks.assertVisible(request.principal, 'endpoint', id);
    if (url.includes('/webhook-deliveries/:id')) await deps.webhooks.assertVisible(request.principal, 'delivery', id);
  });
  api.get(
    '/webhooks/event-types',
    routeOptions('user', { summary: 'Event types an endpoint can subscribe to', tags, response: { 200: z.array(z.string()) } }),
    async () => deps.webhooks.eventTypes(),
  );
  api.post(
    '/webhooks',
    routeOptions('user', {
      summary: 'Register a webhook endpoint; its signing secret is shown only in this response',
      tags,
      body: z
        .object({
          url: urlField,
          events: eventsField,
          description: descriptionField.optional(),
          accountId: uuidParam.nullable().optional().describe('operators: the account whose tenants it follows; omitted: all tenants'),
        })
        .strict(),
      response: {
        201: endpointSchema.extend({ secret: z.string().describe('whsec_…: shown only once') }).meta({ id: 'NewWebhookEndpoint' }),
      },
    }),
    async (request, reply) => {
      const created = await deps.webhooks.create(principalOf(request), request.body);
      request.auditTarget = { type: 'webhook_endpoint', id: created.id, accountId: created.accountId };
      return reply.code(201).send(created);
    },
  );
  api.get(
    '/webhooks',
    routeOptions('user', {
      summary: 'Webhook endpoints (customers: their account’s; operators: all)',
      tags,
      response: { 200: z.array(endpointSchema) },
    }),
    async (request) => deps.webhooks.list(principalOf(request)),
  );
  // Before /webhooks/{id} in the document: a walk of the routes reads the log before deleting the endpoint.
  api.get(
    '/webhooks/:id/deliveries',
    routeOptions('user', {
      summary: 'Recent deliveries to an endpoint, newest first',
      tags,
      params: idParams,
      querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }).strict(),
      response: { 200: z.array(deliverySchema) },
    }),
    async (request) => deps.webhooks.deliveries(principalOf(request), request.params.id, request.query.limit),
  );
  api.get(
    '/webhooks/:id',
    routeOptions('user', { summary: 'One webhook endpoint', tags, params: idParams, response: { 200: endpointSchema } }),
    async (request) => deps.webhooks.get(principalOf(request), request.params.id),
  );
  api.patch(
    '/webhooks/:id',
    routeOptions('user', {
      summary: 'Change an endpoint; `enabled: true` re-enables a disabled one',
      tags,
      params: idParams,
      body: z
        .object({
          url: urlField.optional(),
          events: eventsField.optional(),
          description: descriptionField.optional(),
          enabled: z.boolean().optional(),
        })
        .strict(),
      response: { 200: endpointSchema },
    }),
    async (request) => deps.webhooks.update(principalOf(request), request.params.id, request.body),
  );
  api.delete(
    '/webhooks/:id',
    routeOptions('user', { summary: 'Remove an endpoint and its delivery log', tags, params: idParams }),
    async (request, reply) => {
      await deps.webhooks.remove(principalOf(request), request.params.id);
      return reply.code(204).send();
    },
  );
  api.post(
    '/webhook-deliveries/:id/redeliver',
    routeOptions('user', {
      summary: 'Send a delivery again (a new delivery of the same event and body)',
      tags,
      params: idParams,
      response: { 202: deliverySchema },
    }),
    async (request, reply) => reply.code(202).send(await deps.webhooks.redeliver(principalOf(request), request.params.id)),
  );
}
