import { z } from 'zod';
import { templateDefinitionSchema } from './catalog.js';

/**
 * What the API answers about templates, declared once: the service builds these views, the
 * routes answer with these schemas (the OpenAPI document and the dashboard's types come from
 * them), and the TypeScript types are inferred from them. The `id` of each is its name in the
 * OpenAPI document's components (and so in the dashboard's types).
 */

export const TEMPLATE_BUILD_STATUSES = ['building', 'ready', 'failed'] as const;

/** One build of a template on one database server. */
export const templateBuildViewSchema = z
  .object({
    serverId: z.string(),
    status: z.enum(TEMPLATE_BUILD_STATUSES),
    databaseName: z.string(),
    odooVersion: z.string().nullable(),
    error: z.string().nullable(),
    jobId: z.string().nullable(),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .meta({ id: 'TemplateBuild' });

const availability = { available: z.boolean().describe('a tenant can be created from it now (it has a usable build)') };

/** What customers see: enough to choose a template, nothing about servers, databases or jobs. */
export const customerTemplateViewSchema = templateDefinitionSchema
  .pick({ code: true, name: true, description: true })
  .extend(availability)
  .meta({ id: 'Template', title: 'Template (customer view)' });

/** What operators see: the definition and every build with its server, database, job and error. */
export const templateViewSchema = templateDefinitionSchema
  .extend({
    ...availability,
    builds: z.array(templateBuildViewSchema).describe('one per database server: its template database, job and last error'),
  })
  .meta({ id: 'OperatorTemplate', title: 'Template (operator view)' });

export type TemplateBuildView = z.infer<typeof templateBuildViewSchema>;
export type CustomerTemplateView = z.infer<typeof customerTemplateViewSchema>;
export type TemplateView = z.infer<typeof templateViewSchema>;
