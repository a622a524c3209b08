import { z } from 'zod';
import { BACKUP_STATES, backupViewSchema, toBackupView } from '../../backups/index.js';
import { type Api, principalOf, routeOptions } from '../route.js';
import { uuidParam } from '../schemas.js';
import type { ApiDependencies } from '../server.js';

const tenantName = z.string().min(1).max(63).describe('the subdomain, e.g. acme');
const tenantParams = z.object({ name: tenantName }).strict();
const backupParams = z.object({ name: tenantName, id: uuidParam }).strict();
const downloadParams = z.object({ token: z.string().min(10).max(600) }).strict();

const acceptedBackupSchema = z.object({ backup: backupViewSchema, jobId: z.string() }).meta({ id: 'AcceptedBackup' });
const downloadLinkSchema = z
  .object({ url: z.string().describe('path of the download, relative to the API origin'), expiresAt: z.string() })
  .meta({ id: 'BackupDownloadLink' });

/**
 * Backups of a tenant: customers reach only their own tenants' (another account's tenant answers
 * 404, as a missing one), operators every tenant's. Downloads go through signed links that expire,
 * streamed from storage; each download is audited like a change.
 */
export function registerBackupRoutes(api: Api, deps: Pick<ApiDependencies, 'tenants' | 'backups' | 'audit'>): void {
  const { tenants, backups } = deps;
  const tags = ['backups'];

  api.get(
    '/tenants/:name/backups',
    routeOptions('user', {
      summary: "A tenant's backups, newest first",
      tags,
      params: tenantParams,
      response: { 200: z.array(backupViewSchema) },
    }),
    async (request) => {
      const principal = principalOf(request);
      const tenant = await tenants.visibleRow(principal, request.params.name);
      return (await backups.list({ tenantId: tenant.id })).map((b) => toBackupView(b, principal.role));
    },
  );

  api.post(
    '/tenants/:name/backups',
    routeOptions('user', {
      summary: 'Back a tenant up now: answers 202 at once; the backup is verified when its archive was read back',
      tags,
      params: tenantParams,
      body: z.object({}).strict().nullish(),
      response: { 202: acceptedBackupSchema },
    }),
    async (request, reply) => {
      const principal = principalOf(request);
      const tenant = await tenants.visibleRow(principal, request.params.name);
      const result = await backups.request(tenant, 'on_demand', { actorUserId: principal.userId });
      if (!result) throw new Error('an on-demand backup is never a duplicate');
      request.auditTarget = { type: 'tenant', id: tenant.name, accountId: tenant.account_id };
      return reply.code(202).send({ backup: toBackupView(result.backup, principal.role), jobId: result.jobId });
    },
  );

  api.get(
    '/tenants/:name/backups/:id',
    routeOptions('user', { summary: 'One backup', tags, params: backupParams, response: { 200: backupViewSchema } }),
    async (request) => {
      const principal = principalOf(request);
      const tenant = await tenants.visibleRow(principal, request.params.name);
      return toBackupView(await backups.ofTenant(tenant, request.params.id), principal.role);
    },
  );

  api.post(
    '/tenants/:name/backups/:id/download-link',
    routeOptions(
      'user',
      {
        summary: 'A signed link to download a verified backup (Odoo zip), valid for a short time',
        tags,
        params: backupParams,
        body: z.object({}).strict().nullish(),
        response: { 200: downloadLinkSchema },
      },
      'backup.download_link',
    ),
    async (request) => {
      const principal = principalOf(request);
      const tenant = await tenants.visibleRow(principal, request.params.name);
      const backup = await backups.ofTenant(tenant, request.params.id);
      const link = backups.downloadLink(backup, principal.userId);
      request.auditTarget = { type: 'backup', id: backup.id, accountId: tenant.account_id };
      return { url: `/api/v1/backup-downloads/${link.token}`, expiresAt: link.expiresAt.toISOString() };
    },
  );

  api.get(
    '/backup-downloads/:token',
    routeOptions('public', {
      summary: 'Download a backup through a signed link (the link is the credential; it expires)',
      tags,
      params: downloadParams,
    }),
    async (request, reply) => {
      const { backup, userId, stream } = await backups.openDownload(request.params.token);
      await deps.audit.record({
        actorType: 'user',
        actorUserId: userId,
        action: 'backup.download',
        targetType: 'backup',
        targetId: backup.id,
        outcome: 'success',
        statusCode: 200,
        requestId: String(request.id),
        ip: request.ip,
        details: { tenant: backup.tenant_name, bytes: backup.archive_bytes },
      });
      const fileName = backup.storage_key.split('/').pop() ?? 'backup.zip';
      reply
        .header('content-type', 'application/zip')
        .header('content-disposition', `attachment; filename="${fileName}"`)
        .header('cache-control', 'no-store');
      if (backup.archive_bytes !== null) reply.header('content-length', String(backup.archive_bytes));
      return reply.send(stream);
    },
  );

  api.get(
    '/backups',
    routeOptions('operator', {
      summary: 'Backups of every tenant, newest first (failed ones first to look at)',
      tags,
      querystring: z
        .object({ state: z.enum(BACKUP_STATES).optional(), limit: z.coerce.number().int().min(1).max(1000).default(200) })
        .strict(),
      response: { 200: z.array(backupViewSchema) },
    }),
    async (request) =>
      (await backups.list({ state: request.query.state, limit: request.query.limit })).map((b) => toBackupView(b, 'operator')),
  );
}
