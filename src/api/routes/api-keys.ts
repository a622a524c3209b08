import { z } from 'zod';
import { type Api, principalOf, routeOptions } from '../route.js';
import { displayName, uuidParam } from '../schemas.js';
import type { ApiDependencies } from '../server.js';

const apiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string(),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
  })
  .meta({ id: 'ApiKey' });

export function registerApiKeyRoutes(api: Api, deps: Pick<ApiDependencies, 'auth' | 'identity'>): void {
  const tags = ['api-keys'];
  api.post(
    '/api-keys',
    routeOptions('user', {
      summary: 'Create an API key for scripts; the key is shown only in this response',
      description: 'Users with two-factor authentication send a current `code` (TOTP or recovery code): a session alone cannot mint a key.',
      tags,
      body: z
        .object({ name: displayName(80), code: z.string().trim().min(6).max(40).optional().describe('current two-factor code') })
        .strict(),
      response: { 201: apiKeySchema.extend({ key: z.string().describe('the whole key: shown only once') }).meta({ id: 'NewApiKey' }) },
    }),
    async (request, reply) => {
      const principal = principalOf(request);
      await deps.identity.requireFreshSecondFactor(principal, request.body.code, 'create_api_key', request.ip);
      const created = await deps.auth.createApiKey(principal, request.body.name);
      request.auditTarget = { type: 'api_key', id: created.id };
      return reply.code(201).send(created);
    },
  );
  api.get(
    '/api-keys',
    routeOptions('user', { summary: 'Your active API keys (without the secret part)', tags, response: { 200: z.array(apiKeySchema) } }),
    async (request) => deps.auth.listApiKeys(principalOf(request)),
  );
  api.delete(
    '/api-keys/:id',
    routeOptions('user', { summary: 'Revoke an API key', tags, params: z.object({ id: uuidParam }).strict() }),
    async (request, reply) => {
      await deps.auth.revokeApiKey(principalOf(request), request.params.id);
      return reply.code(204).send();
    },
  );
}
