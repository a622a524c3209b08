import { z } from 'zod';
import { ODOO_SERIES } from '../../config/index.js';
import {
  type OdooInstallService,
  odooInstallationViewSchema,
  type PlatformReadiness,
  platformReadinessSchema,
} from '../../odoo-installs/index.js';
import { type Api, principalOf, routeOptions } from '../route.js';

/** What the routes need of the platform's Odoo (odoo-wiring.ts). */
export interface PlatformOdooPort {
  installs: Pick<OdooInstallService, 'list' | 'get' | 'requestInstall'>;
  readiness(role: 'customer' | 'operator'): Promise<PlatformReadiness>;
}

const seriesParams = z.object({ series: z.enum(ODOO_SERIES) }).strict();

export function registerOdooRoutes(api: Api, deps: { odoo: PlatformOdooPort }): void {
  const tags = ['odoo'];
  api.get(
    '/platform/readiness',
    routeOptions('user', {
      summary: 'Whether instances can be created now; operators also read what is missing and how to fix it',
      tags,
      response: { 200: platformReadinessSchema },
    }),
    async (request) => deps.odoo.readiness(principalOf(request).role),
  );
  api.get(
    '/odoo/installations',
    routeOptions('operator', {
      summary: 'Odoo installations by series, with the installer progress',
      tags,
      response: { 200: z.array(odooInstallationViewSchema) },
    }),
    async () => deps.odoo.installs.list(),
  );
  api.get(
    '/odoo/installations/:series',
    routeOptions('operator', { summary: 'One Odoo series', tags, params: seriesParams, response: { 200: odooInstallationViewSchema } }),
    async (request) => deps.odoo.installs.get(request.params.series),
  );
  api.post(
    '/odoo/installations/:series/install',
    routeOptions(
      'operator',
      {
        summary: "Install an Odoo series: download its source archive, a virtual environment with Odoo's requirements, checks",
        tags,
        params: seriesParams,
        response: { 202: odooInstallationViewSchema },
      },
      'odoo.install',
    ),
    async (request, reply) => reply.code(202).send(await deps.odoo.installs.requestInstall(request.params.series)),
  );
}
