import { z } from 'zod';
import { restoreViewSchema, toRestoreView } from '../../restores/index.js';
import { PROVISIONING_STEPS } from '../../tenants/index.js';
import { type Api, principalOf, routeOptions } from '../route.js';
import { uuidParam } from '../schemas.js';
import type { ApiDependencies } from '../server.js';

const tenantName = z.string().min(1).max(63).describe('the subdomain, e.g. acme');
const tenantParams = z.object({ name: tenantName }).strict();
const backupParams = z.object({ name: tenantName, id: uuidParam }).strict();
const restoreParams = z.object({ name: tenantName, id: uuidParam }).strict();

const acceptedRestoreSchema = z
  .object({
    restore: restoreViewSchema,
    jobId: z.string(),
    tenantName: z.string().describe('The tenant being restored: the same one in place, the new one otherwise'),
  })
  .meta({ id: 'AcceptedRestore' });

const restoreBodySchema = z
  .object({
    newTenant: z
      .object({
        name: z.string().min(1).max(63).describe('subdomain of the new tenant'),
        adminPassword: z.string().min(1).max(200).describe("the new tenant's admin password"),
      })
      .strict()
      .optional()
      .describe('Restore into a new tenant (same account and plan) instead of over this one'),
  })
  .strict()
  .nullish();

/**
 * Restores of a tenant's backups. Customers restore only their own tenants' backups (another
 * account's tenant or backup answers 404, as a missing one); every restore is audited.
 */
export function registerRestoreRoutes(api: Api, deps: Pick<ApiDependencies, 'tenants' | 'backups' | 'restores'>): void {
  const { tenants, backups, restores } = deps;
  const tags = ['backups'];

  api.post(
    '/tenants/:name/backups/:id/restore',
    routeOptions(
      'user',
      {
        summary:
          'Restore a verified backup: over its tenant (the tenant shows a maintenance page, its current data is backed up, the archive is loaded and verified beside it, then swapped in) or, with newTenant, into a new tenant. Answers 202 at once',
        tags,
        params: backupParams,
        body: restoreBodySchema,
        response: { 202: acceptedRestoreSchema },
      },
      'backup.restore',
    ),
    async (request, reply) => {
      const principal = principalOf(request);
      const tenant = await tenants.visibleRow(principal, request.params.name);
      const backup = await backups.ofTenant(tenant, request.params.id);
      request.auditTarget = { type: 'backup', id: backup.id, accountId: tenant.account_id };
      const newTenant = request.body?.newTenant;
      const { restore, jobId, tenantName } = newTenant
        ? await restores.intoNewTenant(principal, tenant, backup, newTenant)
        : { ...(await restores.inPlace(tenant, backup, principal.userId)), tenantName: tenant.name };
      return reply.code(202).send({ restore: toRestoreView(restore, principal.role, PROVISIONING_STEPS), jobId, tenantName });
    },
  );

  api.get(
    '/tenants/:name/restores',
    routeOptions('user', {
      summary: "A tenant's restores, newest first",
      tags,
      params: tenantParams,
      response: { 200: z.array(restoreViewSchema) },
    }),
    async (request) => {
      const principal = principalOf(request);
      const tenant = await tenants.visibleRow(principal, request.params.name);
      return (await restores.list(tenant)).map((r) => toRestoreView(r, principal.role, PROVISIONING_STEPS));
    },
  );

  api.get(
    '/tenants/:name/restores/:id',
    routeOptions('user', { summary: 'One restore and its progress', tags, params: restoreParams, response: { 200: restoreViewSchema } }),
    async (request) => {
      const principal = principalOf(request);
      const tenant = await tenants.visibleRow(principal, request.params.name);
      return toRestoreView(await restores.ofTenant(tenant, request.params.id), principal.role, PROVISIONING_STEPS);
    },
  );
}
