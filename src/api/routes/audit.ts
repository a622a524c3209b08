import { z } from 'zod';
import { auditEntryViewSchema } from '../../audit/index.js';
import { type Api, principalOf, routeOptions } from '../route.js';
import { uuidParam } from '../schemas.js';
import type { ApiDependencies } from '../server.js';

export function registerAuditRoutes(api: Api, deps: Pick<ApiDependencies, 'audit'>): void {
  api.get(
    '/audit-log',
    routeOptions('user', {
      summary: 'Audit trail of state-changing calls, newest first (customers: their own account only)',
      tags: ['audit'],
      querystring: z
        .object({
          limit: z.coerce.number().int().min(1).max(500).default(100),
          before: z.coerce.number().int().positive().optional(),
          action: z.string().max(200).optional(),
          accountId: uuidParam.optional(),
          actorUserId: uuidParam.optional(),
        })
        .strict(),
      response: { 200: z.array(auditEntryViewSchema) },
    }),
    async (request) => {
      const principal = principalOf(request);
      const query = request.query;
      if (principal.role === 'operator') return deps.audit.list(query);
      // A customer's view is pinned to their own account whatever filter they send.
      return deps.audit.list(
        { ...query, accountId: principal.accountId ?? '00000000-0000-0000-0000-000000000000' },
        { hideOperators: true },
      );
    },
  );
}
