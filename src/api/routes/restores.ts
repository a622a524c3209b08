import type { Readable } from 'node:stream';
import { z } from 'zod';
import { ValidationError } from '../../errors/index.js';
import { restoreViewSchema, toRestoreView } from '../../restores/index.js';
import { PROVISIONING_STEPS } from '../../tenants/index.js';
import { type Api, principalOf, routeOptions } from '../route.js';
import { emailSchema, passwordInputSchema, uuidParam } from '../schemas.js';
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

const uploadSchema = z
  .object({
    uploadToken: z.string().describe('names this upload in POST /imports/tenants; valid 6 hours, for the user who uploaded'),
    expiresAt: z.string(),
    bytes: z.number(),
    manifest: z.object({ dbName: z.string(), version: z.string(), majorVersion: z.string(), pgVersion: z.string(), modules: z.number() }),
  })
  .meta({ id: 'ImportUpload' });

/**
 * Imports of Odoo backup zips made elsewhere (Odoo Online, Odoo.sh, any Odoo): the zip is
 * uploaded as the raw body (streamed to disk, its own size limit, checked against the installed
 * Odoo), then a tenant is made from it.
 */
export function registerImportRoutes(api: Api, deps: Pick<ApiDependencies, 'restores'> & { importMaxBytes: number }): void {
  const { restores } = deps;
  const tags = ['backups'];
  // The zip is handed over as the request stream: never buffered, whatever its size.
  api.addContentTypeParser(['application/zip', 'application/octet-stream'], (_request, payload, done) => done(null, payload));

  api.post(
    '/imports',
    {
      ...routeOptions(
        'user',
        {
          summary:
            "Upload an Odoo backup zip (the raw body, Content-Type: application/zip) to import. Checked: dump.sql and Odoo's manifest.json, made by the Odoo version installed here",
          tags,
          response: { 201: uploadSchema },
        },
        'backup.import_upload',
      ),
      bodyLimit: deps.importMaxBytes,
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const body = request.body as Readable | undefined;
      if (!body || typeof (body as Readable).pipe !== 'function')
        throw new ValidationError('Send the zip itself as the body, with Content-Type: application/zip.', { field: 'body' });
      const upload = await restores.upload(body, principal.userId);
      return reply.code(201).send({ ...upload, expiresAt: upload.expiresAt.toISOString() });
    },
  );

  api.post(
    '/imports/tenants',
    routeOptions(
      'user',
      {
        summary: 'Create a tenant from an uploaded Odoo zip: answers 202 at once; the tenant runs once its data is loaded and checked',
        tags,
        body: z
          .object({
            uploadToken: z.string().min(10).max(600),
            name: z.string().min(1).max(63).describe('subdomain of the new tenant'),
            plan: z.string().min(1).max(32),
            template: z
              .string()
              .min(1)
              .max(32)
              .default('blank')
              .describe("decides where it is placed (a server where it is ready); its Odoo series must be the zip's"),
            adminEmail: emailSchema,
            adminPassword: passwordInputSchema,
            accountId: uuidParam.optional().describe('operators only: the account to create it for'),
          })
          .strict(),
        response: { 202: acceptedRestoreSchema },
      },
      'backup.import',
    ),
    async (request, reply) => {
      const principal = principalOf(request);
      const { restore, jobId, tenantName } = await restores.importTenant(principal, request.body);
      request.auditTarget = { type: 'tenant', id: tenantName };
      return reply.code(202).send({ restore: toRestoreView(restore, principal.role, PROVISIONING_STEPS), jobId, tenantName });
    },
  );
}
