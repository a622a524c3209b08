import { z } from 'zod';
import { planCodeSchema, planSchema, planViewSchema } from '../../plans/index.js';
import { type Api, routeOptions } from '../route.js';
import type { ApiDependencies } from '../server.js';

const codeParams = z.object({ code: planCodeSchema }).strict();

export function registerPlanRoutes(api: Api, deps: Pick<ApiDependencies, 'plans'>): void {
  const tags = ['plans'];
  api.get(
    '/plans',
    routeOptions('public', {
      summary: 'The plans on offer (operators may add ?includeArchived=true)',
      tags,
      querystring: z.object({ includeArchived: z.enum(['true', 'false']).optional() }).strict(),
      response: { 200: z.array(planViewSchema) },
    }),
    async (request) =>
      deps.plans.list({ includeArchived: request.query.includeArchived === 'true' && request.principal?.role === 'operator' }),
  );
  api.get(
    '/plans/:code',
    routeOptions('public', { summary: 'One plan', tags, params: codeParams, response: { 200: planViewSchema } }),
    async (request) => deps.plans.get(request.params.code),
  );
  api.post(
    '/plans',
    routeOptions('operator', { summary: 'Create a plan', tags, body: planSchema, response: { 201: planViewSchema } }),
    async (request, reply) => {
      request.auditTarget = { type: 'plan', id: request.body.code };
      return reply.code(201).send(await deps.plans.create(request.body));
    },
  );
  api.put(
    '/plans/:code',
    routeOptions('operator', {
      summary: 'Replace a plan definition (limits apply to tenants on their next check)',
      tags,
      params: codeParams,
      body: planSchema.omit({ code: true }),
      response: { 200: planViewSchema },
    }),
    async (request) => deps.plans.update(request.params.code, request.body),
  );
  api.post(
    '/plans/:code/archive',
    routeOptions('operator', {
      summary: 'Stop offering a plan (existing tenants keep it)',
      tags,
      params: codeParams,
      response: { 200: planViewSchema },
    }),
    async (request) => deps.plans.archive(request.params.code),
  );
}
