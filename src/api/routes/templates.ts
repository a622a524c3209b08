import { z } from 'zod';
import { type CustomerTemplateView, type TemplateView, toCustomerTemplateView } from '../../templates/index.js';
import { type Api, principalOf, routeOptions } from '../route.js';
import { uuidParam } from '../schemas.js';
import type { ApiDependencies } from '../server.js';

const buildSchema = z.object({
  serverId: z.string(),
  status: z.enum(['building', 'ready', 'failed']),
  databaseName: z.string(),
  odooVersion: z.string().nullable(),
  error: z.string().nullable(),
  jobId: z.string().nullable(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
});

/** Customers choose a template by these; where and how it was built is the platform's business. */
const customerTemplateSchema = z.object({
  code: z.string(),
  name: z.string(),
  description: z.string(),
  available: z.boolean().describe('a tenant can be created from it now'),
});

const operatorTemplateSchema = customerTemplateSchema.extend({
  modules: z.array(z.string()),
  sortOrder: z.number(),
  builds: z.array(buildSchema).describe('one per database server: its template database, job and last error'),
});

// Operator shape first: a union answers with the first shape that fits, and the customer shape
// would fit an operator's template by dropping its extra fields.
const templateSchema = z
  .union([
    operatorTemplateSchema.meta({ title: 'Template (operator view)' }),
    customerTemplateSchema.meta({ title: 'Template (customer view)' }),
  ])
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
        response: { 202: z.array(buildSchema) },
      },
      'template.build',
    ),
    async (request, reply) => {
      const serverId = request.body?.serverId;
      return reply.code(202).send(await deps.templates.requestBuild(request.params.code, serverId ? [serverId] : undefined));
    },
  );
}
