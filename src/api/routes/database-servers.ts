import { z } from 'zod';
import { DATABASE_SERVER_KINDS, DATABASE_SERVER_STATUSES, databaseServerViewSchema } from '../../postgres/index.js';
import { type Api, routeOptions } from '../route.js';
import { displayName, uuidParam } from '../schemas.js';
import type { ApiDependencies } from '../server.js';

const idParams = z.object({ id: uuidParam }).strict();

export function registerDatabaseServerRoutes(api: Api, deps: Pick<ApiDependencies, 'servers'>): void {
  const tags = ['database-servers'];
  api.get(
    '/database-servers',
    routeOptions('operator', {
      summary: 'PostgreSQL servers tenants are placed on, with their load',
      tags,
      response: { 200: z.array(databaseServerViewSchema) },
    }),
    async () => deps.servers.list(),
  );
  api.post(
    '/database-servers',
    routeOptions(
      'operator',
      {
        summary: 'Register a PostgreSQL server by its admin URL (checked, then stored encrypted)',
        tags,
        body: z
          .object({
            name: displayName(60).regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lowercase letters, digits and hyphens'),
            url: z
              .string()
              .max(2000)
              .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL with an admin role'),
            kind: z.enum(DATABASE_SERVER_KINDS).default('shared'),
            capacity: z.number().int().min(1).max(10_000).default(50),
          })
          .strict(),
        response: { 201: databaseServerViewSchema },
      },
      'database-server.add',
    ),
    async (request, reply) => {
      const server = await deps.servers.add(request.body);
      request.auditTarget = { type: 'database_server', id: server.id };
      return reply.code(201).send(server);
    },
  );
  api.get(
    '/database-servers/:id',
    routeOptions('operator', { summary: 'One database server', tags, params: idParams, response: { 200: databaseServerViewSchema } }),
    async (request) => deps.servers.get(request.params.id),
  );
  api.patch(
    '/database-servers/:id',
    routeOptions('operator', {
      summary: 'Change capacity or status (draining: no new tenants)',
      tags,
      params: idParams,
      body: z
        .object({ capacity: z.number().int().min(1).max(10_000).optional(), status: z.enum(DATABASE_SERVER_STATUSES).optional() })
        .strict(),
      response: { 200: databaseServerViewSchema },
    }),
    async (request) => deps.servers.update(request.params.id, request.body),
  );
  api.delete(
    '/database-servers/:id',
    routeOptions('operator', { summary: 'Forget a server that holds no tenants', tags, params: idParams }),
    async (request, reply) => {
      await deps.servers.remove(request.params.id);
      return reply.code(204).send();
    },
  );
}
