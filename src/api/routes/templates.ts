import { z } from 'zod';
import {
  type CustomerTemplateView,
  customerTemplateViewSchema,
  type TemplateView,
  templateBuildViewSchema,
  templateViewSchema,
  toCustomerTemplateView,
} from '../../templates/index.js';
import { type Api, principalOf, routeOptions } from '../route.js';
import { uuidParam } from '../schemas.js';
import type { ApiDependencies } from '../server.js';

// The shapes are declared once, in templates/ (views.ts).
// Operator shape first: a union answers with the first shape that fits, and the customer shape
// would fit an operator's template by dropping its extra fields.
const templateSchema = z
  .union([templateViewSchema, customerTemplateViewSchema])
  .describe('Operators get the operator view with builds; customers get code, name, description and availability');

function forRole(role: 'customer' | 'operator', template: TemplateView): TemplateView | CustomerTemplateView {
  return role === 'operator' ? template : toCustomerTemplateView(template);
}

const codeParams = z.object({ code: z.string().regex(/^[a-z][a-z0-9_]{1,30}$/, 'must be a template code such as blank') }).strict();

export function registerTemplateRoutes(api: Api, deps: Pick<ApiDependencies, 'templates'>): void {
  const tags = ['templates'];
  api.get(
    '/templates',
    routeOptions('user', {
      summary: 'Templates new tenants are cloned from (operators: with their build status per database server)',
      tags,
      response: { 200: z.array(templateSchema) },
    }),
    async (request) => {
      const role = principalOf(request).role;
      return (await deps.templates.list()).map((template) => forRole(role, template));
    },
  );
  api.get(
    '/templates/:code',
    routeOptions('user', { summary: 'One template', tags, params: codeParams, response: { 200: templateSchema } }),
    async (request) => forRole(principalOf(request).role, await deps.templates.get(request.params.code)),
  );
  api.post(
    '/templates/:code/build',
    routeOptions(
      'operator',
      {
        summary: '(Re)build a template on one database server, or on every shared server',
        tags,
        params: codeParams,
        body: z.object({ serverId: uuidParam.optional() }).strict().nullish(),
        response: { 202: z.array(templateBuildViewSchema) },
      },
      'template.build',
    ),
    async (request, reply) => {
      const serverId = request.body?.serverId;
      return reply.code(202).send(await deps.templates.requestBuild(request.params.code, serverId ? [serverId] : undefined));
    },
  );
}
