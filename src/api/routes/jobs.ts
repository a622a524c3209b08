import { z } from 'zod';
import { NotFoundError } from '../../errors/index.js';
import { type Api, principalOf, routeOptions } from '../route.js';
import type { ApiDependencies } from '../server.js';

const jobSchema = z.object({
  id: z.string(),
  queue: z.string(),
  state: z.string(),
  retryCount: z.number(),
  createdOn: z.string(),
  startedOn: z.string().nullable(),
  completedOn: z.string().nullable(),
  tenant: z.string().nullable(),
});

const jobIdParams = z.object({ id: z.string().regex(/^[0-9a-f-]{36}$/i, 'must be a job id (UUID)') }).strict();

export function registerJobRoutes(api: Api, deps: Pick<ApiDependencies, 'jobs' | 'tenants'>): void {
  const tags = ['jobs'];

  async function findJob(id: string) {
    for (const queue of deps.jobs.queues()) {
      const job = await deps.jobs.find(queue, id);
      if (job) return job;
    }
    throw new NotFoundError('Job', { field: 'id' });
  }

  api.get(
    '/jobs/:id',
    routeOptions('user', { summary: 'A durable job (provisioning, operations, template builds)', tags, params: jobIdParams, response: { 200: jobSchema } }),
    async (request) => {
      const principal = principalOf(request);
      const job = await findJob(request.params.id);
      const tenantId = (job.data as { tenantId?: string } | null)?.tenantId;
      const tenant = tenantId ? await deps.tenants.rowById(tenantId) : undefined;
      // Customers see jobs of their own tenants only; anything else answers like a missing job.
      if (principal.role !== 'operator' && (!tenant || tenant.account_id !== principal.accountId)) throw new NotFoundError('Job', { field: 'id' });
      return {
        id: job.id,
        queue: job.queue,
        state: job.state,
        retryCount: job.retryCount,
        createdOn: new Date(job.createdOn).toISOString(),
        startedOn: job.startedOn ? new Date(job.startedOn).toISOString() : null,
        completedOn: job.completedOn ? new Date(job.completedOn).toISOString() : null,
        tenant: tenant?.name ?? null,
      };
    },
  );

  api.post(
    '/jobs/:id/retry',
    routeOptions('operator', { summary: 'Retry a failed job', tags, params: jobIdParams }, 'job.retry'),
    async (request, reply) => {
      const job = await findJob(request.params.id);
      await deps.jobs.retry(job.queue, job.id);
      return reply.code(202).send({ id: job.id, queue: job.queue });
    },
  );
}
