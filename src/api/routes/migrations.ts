import { z } from 'zod';
import { ConflictError } from '../../errors/index.js';
import { migrationPlanSchema, migrationViewSchema, toMigrationView } from '../../migration/index.js';
import { type Api, principalOf, routeOptions } from '../route.js';
import { uuidParam } from '../schemas.js';
import type { ApiDependencies } from '../server.js';

const tenantName = z.string().min(1).max(63).describe('the subdomain, e.g. acme');
const tenantParams = z.object({ name: tenantName }).strict();
const idParams = z.object({ id: uuidParam }).strict();
const dryRun = z.boolean().optional().describe('Answer what would happen and the estimated downtime; change nothing');

const acceptedMigrationSchema = z
  .object({
    plan: migrationPlanSchema,
    migration: migrationViewSchema.nullable().describe('The migration started; null for a dry run or a change without a move'),
  })
  .meta({ id: 'AcceptedMigration' });

/**
 * Moves of tenants between database servers and process strategies, server drains and live plan
 * changes: operator decisions (capacity, billing), every one audited. A move answers 202 at once;
 * its progress is the migration's `step` and the tenant's timeline.
 */
export function registerMigrationRoutes(api: Api, deps: Pick<ApiDependencies, 'tenants' | 'migrations' | 'billing'>): void {
  const { tenants, migrations } = deps;
  const tags = ['migrations'];

  /**
   * A billed tenant's plan is billing's: an operator's change to another plan than the one its
   * subscription charges for is refused, naming the billing change that keeps invoice and tenant
   * in step (docs/operations/billing.md). The plan billing charges for is allowed (it brings a
   * tenant whose billed change could not run back in step).
   */
  async function requireNotBilledElsewhere(tenant: { id: string; name: string }, plan: string): Promise<void> {
    const subscription = await deps.billing.reads.liveSubscriptionOfTenant(tenant.id);
    if (!subscription || subscription.plan === plan) return;
    throw new ConflictError(
      `Tenant ${tenant.name} is billed by subscription ${subscription.id} (plan ${subscription.plan}, ${subscription.state.replaceAll('_', ' ')}): ` +
        `change its plan through billing (POST /api/v1/billing/subscriptions/${subscription.id}/change-plan), which charges or schedules the ` +
        'change and then changes the tenant; here only the plan billing charges for can be set.',
      { field: 'plan', details: { subscriptionId: subscription.id, billedPlan: subscription.plan } },
    );
  }

  api.post(
    '/tenants/:name/migrate',
    routeOptions(
      'operator',
      {
        summary:
          'Move a tenant to another database server and/or process strategy: maintenance page, verified backup, load and check on the target, switch, admin login (rolled back to the source on failure). Answers 202 at once',
        tags,
        params: tenantParams,
        body: z
          .object({
            toServerId: uuidParam.optional().describe('the target database server'),
            processStrategy: z.enum(['pool', 'dedicated']).optional().describe('serve it from the shared pool or processes of its own'),
            dryRun,
          })
          .strict()
          .refine((body) => body.toServerId || body.processStrategy, {
            message: 'name toServerId or processStrategy',
            path: ['toServerId'],
          }),
        response: { 202: acceptedMigrationSchema, 200: acceptedMigrationSchema },
      },
      'tenant.migrate',
    ),
    async (request, reply) => {
      const principal = principalOf(request);
      const tenant = await tenants.visibleRow(principal, request.params.name);
      request.auditTarget = { type: 'tenant', id: tenant.id, accountId: tenant.account_id };
      const { plan, migration } = await migrations.migrateTenant(tenant, request.body, principal.userId);
      return reply.code(migration ? 202 : 200).send({ plan, migration: migration ? toMigrationView(migration) : null });
    },
  );

  api.post(
    '/tenants/:name/change-plan',
    routeOptions(
      'operator',
      {
        summary:
          "Change a tenant's plan live: new limits at once; a different database or process strategy is a migration (202). A downgrade the tenant's usage does not fit answers 409 naming the limit and by how much; a tenant billed by a subscription for another plan answers 409 naming the billing change to make instead",
        tags,
        params: tenantParams,
        body: z.object({ plan: z.string().min(1).max(64).describe('the new plan code'), dryRun }).strict(),
        response: { 202: acceptedMigrationSchema, 200: acceptedMigrationSchema },
      },
      'tenant.change_plan',
    ),
    async (request, reply) => {
      const principal = principalOf(request);
      const tenant = await tenants.visibleRow(principal, request.params.name);
      request.auditTarget = { type: 'tenant', id: tenant.id, accountId: tenant.account_id };
      await requireNotBilledElsewhere(tenant, request.body.plan);
      const { plan, migration } = await migrations.changePlan(tenant, request.body.plan, principal.userId, { dryRun: request.body.dryRun });
      return reply.code(migration ? 202 : 200).send({ plan, migration: migration ? toMigrationView(migration) : null });
    },
  );

  api.post(
    '/database-servers/:id/drain',
    routeOptions(
      'operator',
      {
        summary: 'Move every tenant off a database server (to the shared servers with the most room); the server is marked draining',
        tags,
        params: idParams,
        body: z.object({ dryRun }).strict().describe('{} to drain; {"dryRun": true} to see what would move'),
        response: { 202: z.array(acceptedMigrationSchema), 200: z.array(acceptedMigrationSchema) },
      },
      'database_server.drain',
    ),
    async (request, reply) => {
      const dry = request.body.dryRun ?? false;
      const { results } = await migrations.drain(request.params.id, principalOf(request).userId, dry);
      const body = results.map(({ plan, migration }) => ({ plan, migration: migration ? toMigrationView(migration) : null }));
      return reply.code(dry ? 200 : 202).send(body);
    },
  );

  api.get(
    '/migrations',
    routeOptions('operator', {
      summary: 'Migrations, newest first',
      tags,
      querystring: z.object({ tenant: tenantName.optional() }).strict(),
      response: { 200: z.array(migrationViewSchema) },
    }),
    async (request) => {
      const tenantId = request.query.tenant ? (await tenants.visibleRow(principalOf(request), request.query.tenant)).id : undefined;
      return (await migrations.list(tenantId ? { tenantId } : {})).map((row) => toMigrationView(row));
    },
  );

  api.get(
    '/migrations/:id',
    routeOptions('operator', { summary: 'One migration and its progress', tags, params: idParams, response: { 200: migrationViewSchema } }),
    async (request) => toMigrationView(await migrations.get(request.params.id)),
  );
}
