import { z } from 'zod';
import { ForbiddenError } from '../../errors/index.js';
import { type Api, principalOf, routeOptions } from '../route.js';
import { paginationQuery, uuidParam } from '../schemas.js';
import type { ApiDependencies } from '../server.js';

const notificationSchema = z
  .object({
    id: z.string(),
    accountId: z.string().nullable(),
    recipient: z.string(),
    template: z.string(),
    subject: z.string(),
    status: z.enum(['pending', 'sent', 'failed']),
    messageId: z.string(),
    attempts: z.number(),
    lastError: z.string().nullable(),
    resendOf: z.string().nullable(),
    createdAt: z.string(),
    sentAt: z.string().nullable(),
  })
  .meta({ id: 'Notification' });

export function registerNotificationRoutes(api: Api, deps: Pick<ApiDependencies, 'notifications'>): void {
  const tags = ['notifications'];
  api.get(
    '/notifications',
    routeOptions('operator', {
      summary: 'Mails the platform sent (or is sending), newest first; filter by account',
      tags,
      querystring: paginationQuery.extend({ accountId: uuidParam.optional() }),
      response: { 200: z.array(notificationSchema) },
    }),
    async (request) => deps.notifications.list(request.query),
  );
  api.get(
    '/accounts/:id/notifications',
    routeOptions('user', {
      summary: "An account's mails (customers: their own account's)",
      tags,
      params: z.object({ id: uuidParam }).strict(),
      querystring: paginationQuery,
      response: { 200: z.array(notificationSchema) },
    }),
    async (request) => {
      const principal = principalOf(request);
      if (principal.role !== 'operator' && principal.accountId !== request.params.id)
        throw new ForbiddenError('You can see the mails of your own account only.');
      return deps.notifications.list({ ...request.query, accountId: request.params.id });
    },
  );
  api.post(
    '/notifications/:id/resend',
    routeOptions('operator', {
      summary: 'Send a logged mail again (logged as a new mail pointing at the first)',
      tags,
      params: z.object({ id: uuidParam }).strict(),
      response: { 202: notificationSchema },
    }),
    async (request, reply) => {
      const resent = await deps.notifications.resend(request.params.id);
      request.auditTarget = { type: 'notification', id: resent.id, accountId: resent.accountId };
      return reply.code(202).send(resent);
    },
  );
}
