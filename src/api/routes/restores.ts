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

const acceptedRestoreSchema = z.object({ restore: restoreViewSchema, jobId: z.string() }).meta({ id: 'AcceptedRestore' });

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
          'Restore a verified backup over its tenant: answers 202 at once. The tenant shows a maintenance page, its current data is backed up, the archive is loaded and verified beside it, then swapped in',
        tags,
        params: backupParams,
        body: z.object({}).strict().nullish(),
        response: { 202: acceptedRestoreSchema },
      },
      'backup.restore',
    ),
    async (request, reply) => {
      const principal = principalOf(request);
      const tenant = await tenants.visibleRow(principal, request.params.name);
      const backup = await backups.ofTenant(tenant, request.params.id);
      request.auditTarget = { type: 'backup', id: backup.id, accountId: tenant.account_id };
      const { restore, jobId } = await restores.inPlace(tenant, backup, principal.userId);
      return reply.code(202).send({ restore: toRestoreView(restore, principal.role, PROVISIONING_STEPS), jobId });
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
