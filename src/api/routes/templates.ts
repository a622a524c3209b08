import { z } from 'zod';
import { type Api, routeOptions } from '../route.js';
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

const templateSchema = z.object({
  code: z.string(),
  name: z.string(),
  description: z.string(),
  modules: z.array(z.string()),
  sortOrder: z.number(),
  builds: z.array(buildSchema),
});

const codeParams = z.object({ code: z.string().regex(/^[a-z][a-z0-9_]{1,30}$/, 'must be a template code such as blank') }).strict();

export function registerTemplateRoutes(api: Api, deps: Pick<ApiDependencies, 'templates'>): void {
  const tags = ['templates'];
  api.get(
    '/templates',
    routeOptions('user', {
      summary: 'Templates new tenants are cloned from, with their build status per database server',
      tags,
      response: { 200: z.array(templateSchema) },
    }),
    async () => deps.templates.list(),
  );
  api.get(
    '/templates/:code',
    routeOptions('user', { summary: 'One template', tags, params: codeParams, response: { 200: templateSchema } }),
    async (request) => deps.templates.get(request.params.code),
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
