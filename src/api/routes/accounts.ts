import { z } from 'zod';
import { type Api, principalOf, routeOptions } from '../route.js';
import { accountSummarySchema, paginationQuery, userSchema, uuidParam } from '../schemas.js';
import type { ApiDependencies } from '../server.js';

export function registerAccountRoutes(api: Api, deps: Pick<ApiDependencies, 'accounts'>): void {
  const tags = ['accounts'];
  api.get(
    '/accounts',
    routeOptions('operator', {
      summary: 'All customer accounts',
      tags,
      querystring: paginationQuery.extend({ search: z.string().max(100).optional() }),
      response: { 200: z.array(accountSummarySchema.extend({ userCount: z.number() }).meta({ id: 'AccountSummary' })) },
    }),
    async (request) => deps.accounts.list(request.query),
  );
  api.get(
    '/accounts/:id',
    routeOptions('user', {
      summary: 'One account with its users (customers: only their own)',
      tags,
      params: z.object({ id: uuidParam }).strict(),
      response: { 200: accountSummarySchema.extend({ users: z.array(userSchema) }).meta({ id: 'AccountDetail' }) },
    }),
    async (request) => deps.accounts.get(principalOf(request), request.params.id),
  );
  api.get(
    '/users',
    routeOptions('operator', {
      summary: 'All platform users',
      tags,
      querystring: paginationQuery.extend({ role: z.enum(['customer', 'operator']).optional() }),
      response: { 200: z.array(userSchema) },
    }),
    async (request) => deps.accounts.listUsers(request.query),
  );
}
