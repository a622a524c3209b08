import { z } from 'zod';
import { ODOO_SERIES } from '../config/index.js';
import catalogDocument from './catalog.json' with { type: 'json' };

const moduleName = z.string().regex(/^[a-z0-9_]+$/, 'must be an Odoo module technical name');

export const templateDefinitionSchema = z
  .object({
    code: z.string().regex(/^[a-z][a-z0-9_]{1,30}$/, 'must be lowercase letters, digits and _, starting with a letter'),
    name: z.string().min(1).max(80),
    description: z.string().max(1000).default(''),
    modules: z.array(moduleName).min(1).max(200),
    sortOrder: z.number().int().min(0).default(0),
    /** The Odoo series the template is built with (its tenants run it); omitted: the default series (ODOO_SERIES, or what ODOO_BIN reports). */
    series: z.enum(ODOO_SERIES).optional(),
  })
  .strict();

export type TemplateDefinition = z.infer<typeof templateDefinitionSchema>;

export function parseTemplateCatalog(document: unknown): TemplateDefinition[] {
  const parsed = z
    .object({ templates: z.array(templateDefinitionSchema).min(1) })
    .strict()
    .safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`Invalid template catalog at ${issue?.path.join('.')}: ${issue?.message}`);
  }
  return parsed.data.templates;
}

export const defaultTemplateCatalog = parseTemplateCatalog(catalogDocument);

/**
 * Name of a template build's database: one per build job (so a retried job reuses its own
 * half-made database and a rebuild never disturbs clones made from the current one; the old
 * database is dropped once the new one is ready).
 */
export function templateDatabaseName(code: string, jobId: string): string {
  return `tpl_${code}_${jobId
    .replace(/[^a-z0-9]/gi, '')
    .slice(0, 12)
    .toLowerCase()}`;
}
