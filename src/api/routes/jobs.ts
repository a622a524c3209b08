import { z } from 'zod';
import { NotFoundError } from '../../errors/index.js';
import { JOB_LOG_LEVELS, JOB_STATES, type JobRecord } from '../../jobs/index.js';
import { type Api, principalOf, routeOptions } from '../route.js';
import type { ApiDependencies } from '../server.js';

const jobSchema = z
  .object({
    id: z.string(),
    queue: z.string(),
    state: z.string(),
    retryCount: z.number(),
    createdOn: z.string(),
    startedOn: z.string().nullable(),
    completedOn: z.string().nullable(),
    tenant: z.string().nullable(),
  })
  .meta({ id: 'Job' });

const jobListItemSchema = jobSchema
  .extend({ error: z.string().nullable().describe('why a failed job failed (its last error)') })
  .meta({ id: 'JobListItem' });

/** The tenant a job works on (provisioning and lifecycle jobs carry its id). */
function tenantIdOf(job: JobRecord): string | undefined {
  const id = (job.data as { tenantId?: unknown } | null)?.tenantId;
  return typeof id === 'string' && UUID.test(id) ? id : undefined;
}

/** pg-boss keeps a failed job's error in its output: `{ message, stack }` or a plain value. */
function jobError(job: JobRecord): string | null {
  if (job.state !== 'failed' && job.state !== 'retry') return null;
  const output = job.output as { message?: unknown } | string | null | undefined;
  if (output === null || output === undefined) return null;
  if (typeof output === 'string') return output.slice(0, 2000);
  return typeof output.message === 'string' ? output.message.slice(0, 2000) : JSON.stringify(output).slice(0, 2000);
}

const jobLogSchema = z
  .object({
    jobId: z.string(),
    state: z.string().nullable().describe("the job's state now (null once the job itself was deleted; its log is kept 14 days)"),
    records: z.array(
      z.object({
        id: z.string().describe('cursor: pass it as `after` to get the records that follow'),
        attempt: z.number().int(),
        at: z.string(),
        level: z.enum(JOB_LOG_LEVELS),
        message: z.string(),
        fields: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
      }),
    ),
    next: z.string().nullable().describe('the `after` for the next page or poll (the last record, or the `after` given)'),
  })
  .meta({ id: 'JobLog' });

const tenantJobSchema = jobListItemSchema
  .extend({
    logs: jobLogSchema.shape.records.describe("the job's first log records (its attempts' starts and ends, and what the platform logged)"),
    moreLogs: z.boolean().describe('the job logged more than these: read them all at `logsPath`'),
    logsPath: z.string().describe("the job's whole log (GET, with `after` to page or follow)"),
  })
  .meta({ id: 'TenantJob' });

/** Log records shown with each of a tenant's jobs; the rest is one link away. */
const TENANT_JOB_LOG_RECORDS = 200;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const jobIdParams = z.object({ id: z.string().regex(/^[0-9a-f-]{36}$/i, 'must be a job id (UUID)') }).strict();

function toJobListItem(job: JobRecord, tenantName: string | null) {
  return {
    id: job.id,
    queue: job.queue,
    state: job.state,
    retryCount: job.retryCount,
    createdOn: job.createdOn.toISOString(),
    startedOn: job.startedOn?.toISOString() ?? null,
    completedOn: job.completedOn?.toISOString() ?? null,
    tenant: tenantName,
    error: jobError(job),
  };
}

export function registerJobRoutes(api: Api, deps: Pick<ApiDependencies, 'jobs' | 'tenants' | 'backups' | 'restores' | 'migrations'>): void {
  const tags = ['jobs'];

  async function findJob(id: string) {
    for (const queue of deps.jobs.queues()) {
      const job = await deps.jobs.find(queue, id);
      if (job) return job;
    }
    throw new NotFoundError('Job', { field: 'id' });
  }

  api.get(
    '/jobs',
    routeOptions('operator', {
      summary: 'Recent durable jobs of every queue, newest first (filter by state and queue)',
      tags,
      querystring: z
        .object({
          state: z.enum(JOB_STATES).optional(),
          queue: z.string().min(1).max(100).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
        })
        .strict(),
      response: { 200: z.array(jobListItemSchema) },
    }),
    async (request) => {
      const jobs = await deps.jobs.list(request.query);
      const names = new Map<string, string>();
      for (const id of new Set(jobs.map(tenantIdOf))) {
        const row = id ? await deps.tenants.rowById(id) : undefined;
        if (id && row) names.set(id, row.name);
      }
      return jobs.map((job) => {
        const tenantId = tenantIdOf(job);
        return toJobListItem(job, tenantId ? (names.get(tenantId) ?? null) : null);
      });
    },
  );

  api.get(
    '/tenants/:name/jobs',
    routeOptions('operator', {
      summary:
        "A tenant's durable jobs, newest first (operations, backups, restores, migrations), each with its first log records: the jobs behind its timeline",
      tags,
      params: z.object({ name: z.string().min(1).max(63).describe('the subdomain, e.g. acme') }).strict(),
      querystring: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }).strict(),
      response: { 200: z.array(tenantJobSchema) },
    }),
    async (request) => {
      const tenant = await deps.tenants.visibleRow(principalOf(request), request.params.name);
      // Backups, restores and migrations name their own row in their job's data: their rows name the job.
      const [backups, restores, migrations] = await Promise.all([
        deps.backups.list({ tenantId: tenant.id, limit: 100 }),
        deps.restores.list(tenant),
        deps.migrations.list({ tenantId: tenant.id }),
      ]);
      const jobIds = [...backups, ...restores, ...migrations].flatMap((row) => (row.job_id ? [row.job_id] : []));
      const jobs = await deps.jobs.list({ tenant: { id: tenant.id, jobIds }, limit: request.query.limit });
      return Promise.all(
        jobs.map(async (job) => {
          const records = await deps.jobs.logs(job.id, { limit: TENANT_JOB_LOG_RECORDS + 1 });
          return {
            ...toJobListItem(job, tenant.name),
            logs: records.slice(0, TENANT_JOB_LOG_RECORDS).map((record) => ({ ...record, at: record.at.toISOString() })),
            moreLogs: records.length > TENANT_JOB_LOG_RECORDS,
            logsPath: `/api/v1/jobs/${job.id}/logs`,
          };
        }),
      );
    },
  );

  api.get(
    '/jobs/:id',
    routeOptions('user', {
      summary: 'A durable job (provisioning, operations, template builds)',
      tags,
      params: jobIdParams,
      response: { 200: jobSchema },
    }),
    async (request) => {
      const principal = principalOf(request);
      const job = await findJob(request.params.id);
      const tenantId = (job.data as { tenantId?: string } | null)?.tenantId;
      const tenant = tenantId ? await deps.tenants.rowById(tenantId) : undefined;
      // Customers see jobs of their own tenants only; anything else answers like a missing job.
      if (principal.role !== 'operator' && (!tenant || tenant.account_id !== principal.accountId))
        throw new NotFoundError('Job', { field: 'id' });
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

  api.get(
    '/jobs/:id/logs',
    routeOptions('operator', {
      summary: "A job's platform log: what the platform logged while its attempts ran (info and above), kept 14 days",
      description: "Follow a running job by polling with `after` set to the previous answer's `next` until `state` is final.",
      tags,
      params: jobIdParams,
      querystring: z
        .object({
          after: z
            .string()
            .regex(/^\d{1,19}$/, 'must be a record id (the `next` of a previous answer)')
            .optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(500),
        })
        .strict(),
      response: { 200: jobLogSchema },
    }),
    async (request) => {
      const { id } = request.params;
      const job = await findJob(id).catch((error: unknown) => {
        if (error instanceof NotFoundError) return undefined;
        throw error;
      });
      const records = await deps.jobs.logs(id, request.query);
      if (!job && records.length === 0 && !request.query.after) throw new NotFoundError('Job', { field: 'id' });
      return {
        jobId: id,
        state: job?.state ?? null,
        records: records.map((record) => ({ ...record, at: record.at.toISOString() })),
        next: records.at(-1)?.id ?? request.query.after ?? null,
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
