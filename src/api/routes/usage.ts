import { z } from 'zod';
import { enforcementOf, STORAGE_ENFORCEMENTS } from '../../plans/index.js';
import { limitStandingSchema, USAGE_STEPS, usagePointSchema } from '../../usage/index.js';
import { type Api, principalOf, routeOptions } from '../route.js';
import { paginationQuery } from '../schemas.js';
import type { ApiDependencies } from '../server.js';

const GiB = 1024 ** 3;

const limitsSchema = z.object({
  odooUsers: z.number(),
  storageBytes: z.number(),
  warnAtPercent: z.number(),
  blockNewUsers: z.boolean(),
  deactivateExcessUsersAfterHours: z.number().nullable(),
  storageAtLimit: z.enum(STORAGE_ENFORCEMENTS),
});

const seriesQuery = z
  .object({
    from: z.iso.datetime({ offset: true }).optional().describe('start of the range (default: 24 hours before `to`)'),
    to: z.iso.datetime({ offset: true }).optional().describe('end of the range (default: now)'),
    step: z
      .enum(USAGE_STEPS)
      .optional()
      .describe('raw samples, hourly or daily maxima (default: by the range: raw up to 2 days, hourly up to 60)'),
  })
  .strict();

export function registerUsageRoutes(api: Api, deps: Pick<ApiDependencies, 'tenants' | 'tenantUsage' | 'plans' | 'usage'>): void {
  const tags = ['usage'];

  api.get(
    '/tenants/:name/usage',
    routeOptions('user', {
      summary: "What the tenant uses against its plan's limits: now, over time (samples every 5 minutes), and what is enforced",
      tags,
      params: z.object({ name: z.string().min(1).max(63) }).strict(),
      querystring: seriesQuery,
      response: {
        200: z
          .object({
            odooUsers: z.number().nullable(),
            databaseBytes: z.number().nullable(),
            filestoreBytes: z.number(),
            limits: limitsSchema,
            standings: z.array(limitStandingSchema),
            series: z.object({ from: z.string(), to: z.string(), step: z.enum(USAGE_STEPS), points: z.array(usagePointSchema) }),
          })
          .meta({ id: 'TenantUsage' }),
      },
    }),
    async (request) => {
      const row = await deps.tenants.visibleRow(principalOf(request), request.params.name);
      const { from, to, step } = request.query;
      const [now, plan, standings, series] = await Promise.all([
        deps.tenantUsage(row.id),
        deps.plans.get(row.plan_code),
        deps.usage.standings(row.id),
        deps.usage.series(row.id, { from: from ? new Date(from) : undefined, to: to ? new Date(to) : undefined, step }),
      ]);
      return {
        ...now,
        limits: { odooUsers: plan.limits.odooUsers, storageBytes: plan.limits.storageGiB * GiB, ...enforcementOf(plan) },
        standings,
        series,
      };
    },
  );

  api.get(
    '/usage',
    routeOptions('operator', {
      summary: 'Usage across tenants: the newest sample and the standings of each, flagged when at or over a limit',
      tags,
      querystring: paginationQuery
        .extend({ flagged: z.enum(['true', 'false']).optional().describe('only tenants at or over a limit') })
        .strict(),
      response: {
        200: z.array(
          z
            .object({
              tenantId: z.string(),
              name: z.string(),
              plan: z.string(),
              state: z.string(),
              sampledAt: z.string().nullable(),
              odooUsers: z.number().nullable(),
              storageBytes: z.number().nullable(),
              limits: z.object({ odooUsers: z.number(), storageBytes: z.number() }),
              standings: z.array(limitStandingSchema),
              flagged: z.boolean().describe('at or over a limit'),
            })
            .meta({ id: 'TenantUsageSummary' }),
        ),
      },
    }),
    async (request) => {
      const { limit, offset, flagged } = request.query;
      const [tenants, overview, plans] = await Promise.all([
        deps.tenants.list(principalOf(request), { limit, offset }),
        deps.usage.overview(),
        deps.plans.list({ includeArchived: true }),
      ]);
      const planByCode = new Map(plans.map((p) => [p.code, p]));
      const rows = tenants.map((tenant) => {
        const usage = overview.get(tenant.id);
        const plan = planByCode.get(tenant.plan);
        const standings = usage?.standings ?? [];
        return {
          tenantId: tenant.id,
          name: tenant.name,
          plan: tenant.plan,
          state: tenant.state,
          sampledAt: usage?.latest.at ?? null,
          odooUsers: usage?.latest.odooUsers ?? null,
          storageBytes: usage?.latest.storageBytes ?? null,
          limits: { odooUsers: plan?.limits.odooUsers ?? 0, storageBytes: (plan?.limits.storageGiB ?? 0) * GiB },
          standings,
          flagged: standings.some((s) => s.level === 'reached' || s.level === 'over'),
        };
      });
      return flagged === undefined ? rows : rows.filter((row) => row.flagged === (flagged === 'true'));
    },
  );
}
