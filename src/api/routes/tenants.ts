import { z } from 'zod';
import { hibernationViewSchema } from '../../hibernation/index.js';
import { ODOO_LOG_LEVELS, parseOdooLog, searchOdooLog } from '../../odoo/index.js';
import {
  customerTenantViewSchema,
  operatorTenantViewSchema,
  TENANT_STATES,
  type TenantRequest,
  tenantEventViewSchema,
  tenantQuotaSchema,
} from '../../tenants/index.js';
import { type Api, principalOf, routeOptions } from '../route.js';
import { emailSchema, paginationQuery, passwordInputSchema, uuidParam } from '../schemas.js';
import type { ApiDependencies } from '../server.js';
import { streamTenantEvents } from '../tenant-events-stream.js';

const tenantName = z.string().min(1).max(63).describe('the subdomain, e.g. acme');
const nameParams = z.object({ name: tenantName }).strict();

// The shapes are declared once, in tenants/ (views.ts).
// The operator shape comes first: a union answers with the first shape that fits, and the
// customer shape would fit an operator's tenant by dropping its extra fields.
const tenantSchema = z
  .union([operatorTenantViewSchema, customerTenantViewSchema])
  .describe('Operators get the operator view; customers the customer view, without databaseName and databaseServerId');

const acceptedSchema = z.object({ tenant: tenantSchema, jobId: z.string().nullable() }).meta({ id: 'Accepted' });

const createdSchema = z
  .object({
    tenant: tenantSchema,
    jobId: z.string().nullable(),
    subscription: z
      .object({
        id: z.string(),
        state: z.string(),
        invoiceId: z
          .string()
          .nullable()
          .describe('the first invoice to pay (POST /billing/invoices/{id}/checkout answers its payment page)'),
      })
      .nullable()
      .describe('the subscription a paid plan started (null without `billing`)'),
  })
  .meta({ id: 'TenantCreated' });

/** Lifecycle requests with their URL segment and who may make them. */
const ACTION_ROUTES: Array<{ segment: string; action: TenantRequest; access: 'user' | 'operator'; summary: string }> = [
  { segment: 'start', action: 'start', access: 'user', summary: 'Start a stopped tenant' },
  { segment: 'stop', action: 'stop', access: 'user', summary: 'Stop a running tenant (data kept)' },
  { segment: 'restart', action: 'restart', access: 'user', summary: 'Restart the Odoo of a running tenant' },
  {
    segment: 'schedule-delete',
    action: 'schedule_delete',
    access: 'user',
    summary: 'Soft delete: stop now, terminate after 12 h unless cancelled',
  },
  { segment: 'cancel-delete', action: 'cancel_delete', access: 'user', summary: 'Cancel a scheduled deletion within its 12 h' },
  { segment: 'reactivate', action: 'reactivate', access: 'user', summary: 'Bring back a tenant terminated less than 30 days ago' },
  { segment: 'retry', action: 'retry', access: 'user', summary: 'Retry the operation that left the tenant in error' },
  { segment: 'suspend', action: 'suspend', access: 'operator', summary: 'Suspend (billing or limits): stops serving, data kept' },
  { segment: 'resume', action: 'resume', access: 'operator', summary: 'Lift a suspension' },
  { segment: 'terminate', action: 'terminate', access: 'operator', summary: 'Terminate now: data kept 30 days, reactivatable' },
  {
    segment: 'force-delete',
    action: 'force_delete',
    access: 'operator',
    summary: 'Delete at once: database, role, filestore and processes',
  },
];

/** How far back a log search reaches: the runtimes' own cap on lines read. */
const LOG_SEARCH_WINDOW = 10_000;

export function registerTenantRoutes(
  api: Api,
  deps: Pick<ApiDependencies, 'tenants' | 'runtimes' | 'domainEvents' | 'tenantHibernation' | 'billing'>,
): void {
  const tags = ['tenants'];
  const { tenants } = deps;

  // On /tenants/{name}/..., another account's tenant answers 404 before the body is even
  // validated, so callers learn nothing about tenants that are not theirs.
  api.addHook('preValidation', async (request) => {
    const url = request.routeOptions.url ?? '';
    const name = (request.params as { name?: unknown } | undefined)?.name;
    if (!url.includes('/tenants/:name') || typeof name !== 'string' || !request.principal) return;
    if (request.principal.role !== 'operator') await tenants.visibleRow(request.principal, name);
  });

  api.post(
    '/tenants',
    routeOptions('user', {
      summary: 'Create a tenant: answers 202 at once; follow GET /tenants/{name}/events until running',
      tags,
      body: z
        .object({
          name: tenantName,
          plan: z.string().min(1).max(32),
          template: z.string().min(1).max(32),
          adminEmail: emailSchema,
          adminPassword: passwordInputSchema,
          accountId: uuidParam.optional().describe('operators only: the account to create it for'),
          billing: z
            .object({
              interval: z.enum(['month', 'year']),
              trial: z.boolean().describe("start with the plan's free trial (one per account); false: pay first"),
            })
            .strict()
            .optional()
            .describe(
              'a paid plan: the subscription that pays for the tenant, made with it. Without a trial the tenant waits in pending_payment, unprovisioned, until its first invoice is paid (deleted after 24 h unpaid)',
            ),
        })
        .strict(),
      response: { 202: createdSchema },
    }),
    async (request, reply) => {
      const { billing, ...input } = request.body;
      let subscription: { id: string; state: string } | null = null;
      const result = await tenants.create(principalOf(request), {
        ...input,
        ...(billing
          ? {
              awaitingPayment: !billing.trial,
              afterInsert: async (trx, tenant) => {
                const sub = await deps.billing.provider.subscribe(
                  {
                    accountId: tenant.account_id,
                    tenantId: tenant.id,
                    plan: tenant.plan_code,
                    interval: billing.interval,
                    trial: billing.trial,
                  },
                  trx,
                );
                subscription = { id: sub.id, state: sub.state };
              },
            }
          : {}),
      });
      request.auditTarget = { type: 'tenant', id: result.tenant.name, accountId: result.tenant.accountId };
      const made = subscription as { id: string; state: string } | null;
      const invoiceId = made
        ? ((await deps.billing.reads.invoices({ accountId: null }, { subscriptionId: made.id, limit: 1, offset: 0 })).find(
            (i) => i.status === 'open',
          )?.id ?? null)
        : null;
      return reply.code(202).send({ ...result, subscription: made ? { ...made, invoiceId } : null });
    },
  );

  api.get(
    '/tenants',
    routeOptions('user', {
      summary: 'Tenants (customers: their own; operators: all, with filters)',
      tags,
      querystring: paginationQuery.extend({
        state: z.enum(TENANT_STATES).optional(),
        plan: z.string().max(32).optional(),
        serverId: uuidParam.optional(),
        accountId: uuidParam.optional(),
        search: z.string().max(63).optional(),
      }),
      response: { 200: z.array(tenantSchema) },
    }),
    async (request) => tenants.list(principalOf(request), request.query),
  );

  api.get(
    '/tenant-quota',
    routeOptions('user', {
      summary: "How many tenants the account holds on each plan, against the plan's maxTenantsPerAccount (null: no limit)",
      description:
        'Tenants terminated or deleted hold no place. Customers get their own account; operators name one with accountId (none: an empty list).',
      tags,
      querystring: z.object({ accountId: uuidParam.optional().describe('operators only: the account to report on') }).strict(),
      response: { 200: z.array(tenantQuotaSchema) },
    }),
    async (request) => tenants.quota(principalOf(request), request.query.accountId),
  );

  api.get(
    '/tenant-names/:name',
    routeOptions('user', {
      summary: 'Is this subdomain valid and free?',
      tags,
      params: nameParams,
      response: { 200: z.object({ name: z.string(), available: z.boolean(), reason: z.string().optional() }).meta({ id: 'NameCheck' }) },
    }),
    async (request) => tenants.checkName(request.params.name),
  );

  api.get(
    '/tenants/:name',
    routeOptions('user', { summary: 'One tenant with its state and database', tags, params: nameParams, response: { 200: tenantSchema } }),
    async (request) => tenants.get(principalOf(request), request.params.name),
  );

  for (const route of ACTION_ROUTES) {
    api.post(
      `/tenants/:name/${route.segment}`,
      routeOptions(
        route.access,
        {
          summary: route.summary,
          tags,
          params: nameParams,
          body: z
            .object({ reason: z.string().max(500).optional() })
            .strict()
            .nullish(),
          response: { 202: acceptedSchema },
        },
        `tenant.${route.action}`,
      ),
      async (request, reply) => {
        const result = await tenants.act(principalOf(request), request.params.name, route.action, request.body?.reason);
        request.auditTarget = { type: 'tenant', id: result.tenant.name, accountId: result.tenant.accountId };
        return reply.code(202).send(result);
      },
    );
  }

  api.post(
    '/tenants/:name/duplicate',
    routeOptions(
      'user',
      {
        summary: 'Make a neutralised staging copy (no crons, no outgoing mail) under a new name',
        tags,
        params: nameParams,
        body: z.object({ name: tenantName, adminPassword: passwordInputSchema }).strict(),
        response: { 202: acceptedSchema },
      },
      'tenant.duplicate',
    ),
    async (request, reply) => {
      const result = await tenants.duplicate(principalOf(request), request.params.name, request.body);
      request.auditTarget = { type: 'tenant', id: result.tenant.name, accountId: result.tenant.accountId };
      return reply.code(202).send(result);
    },
  );

  api.get(
    '/tenants/:name/events',
    routeOptions('user', {
      summary: 'Timeline of the tenant: JSON list, or a live server-sent event stream with Accept: text/event-stream',
      description: 'The stream sends `tenant` (a snapshot) and `event` messages; reconnect with Last-Event-ID to resume.',
      tags,
      params: nameParams,
      querystring: z.object({ after: z.coerce.number().int().min(0).optional() }).strict(),
      response: { 200: z.array(tenantEventViewSchema) },
    }),
    async (request, reply) => {
      const principal = principalOf(request);
      if (!(request.headers.accept ?? '').includes('text/event-stream')) {
        return tenants.events(principal, request.params.name, { afterId: request.query.after ?? 0 });
      }
      const row = await tenants.visibleRow(principal, request.params.name);
      const lastEventId = Number(request.headers['last-event-id'] ?? request.query.after ?? 0) || 0;
      streamTenantEvents({ request, reply, principal, tenant: row, afterId: lastEventId, tenants, events: deps.domainEvents });
      return reply;
    },
  );

  api.get(
    '/tenants/:name/hibernation',
    routeOptions('user', {
      summary: "Whether the tenant's Odoo is hibernated (stopped while idle, woken by its next request), and its last wake",
      tags,
      params: nameParams,
      response: { 200: hibernationViewSchema },
    }),
    async (request) => {
      const row = await tenants.visibleRow(principalOf(request), request.params.name);
      return deps.tenantHibernation(row);
    },
  );

  api.get(
    '/tenants/:name/logs',
    routeOptions('user', {
      summary: 'Search the tenant Odoo log (pool tenants see only their own records)',
      description:
        'The newest matching records, oldest first, from the recent part of the log (the last 10,000 lines). ' +
        'Odoo stamps records in its local time, read here as UTC.',
      tags,
      params: nameParams,
      querystring: z
        .object({
          lines: z.coerce.number().int().min(1).max(5000).default(200).describe('How many records to answer, at most'),
          q: z.string().max(200).optional().describe('Text anywhere in the record, tracebacks included (case-insensitive)'),
          level: z.enum(ODOO_LOG_LEVELS).optional().describe('This level and above'),
          since: z.iso.datetime({ offset: true }).optional(),
          until: z.iso.datetime({ offset: true }).optional(),
        })
        .strict(),
      response: {
        200: z.object({
          lines: z.array(z.string()).describe('The lines of the records below, in order'),
          records: z.array(
            z.object({
              at: z.string().nullable(),
              level: z.enum(ODOO_LOG_LEVELS).nullable(),
              logger: z.string().nullable(),
              lines: z.array(z.string()),
            }),
          ),
        }),
      },
    }),
    async (request) => {
      const row = await tenants.visibleRow(principalOf(request), request.params.name);
      const { lines: count, q, level, since, until } = request.query;
      const recent = await deps.runtimes.for(row).logs(row.id, { lines: LOG_SEARCH_WINDOW });
      const found = searchOdooLog(parseOdooLog(recent), {
        text: q,
        minLevel: level,
        since: since ? new Date(since) : undefined,
        until: until ? new Date(until) : undefined,
      }).slice(-count);
      return {
        lines: found.flatMap((record) => record.lines),
        records: found.map(({ at, level: recordLevel, logger, lines }) => ({ at, level: recordLevel, logger, lines })),
      };
    },
  );
}
