import { z } from 'zod';
import { poolReportSchema } from '../../provisioning/index.js';
import { type Api, routeOptions } from '../route.js';
import type { ApiDependencies } from '../server.js';

export function registerPoolRoutes(api: Api, deps: Pick<ApiDependencies, 'poolReports'>): void {
  api.get(
    '/pools',
    routeOptions('operator', {
      summary: 'The Odoo pools: tenants, processes, memory, connections against their budget, cron lag',
      tags: ['pools'],
      response: { 200: z.array(poolReportSchema) },
    }),
    async () => deps.poolReports(),
  );
}
