import { z } from 'zod';

/** Shared servers hold many tenants' databases; a dedicated one holds one tenant's. */
export const DATABASE_SERVER_KINDS = ['shared', 'dedicated'] as const;
/** Draining: keeps its tenants, takes no new ones; disabled: takes nothing. */
export const DATABASE_SERVER_STATUSES = ['active', 'draining', 'disabled'] as const;

/**
 * A registered PostgreSQL server as the API answers it, declared once: the registry builds it,
 * the routes answer with it, and the OpenAPI document (component `DatabaseServer`) and the
 * dashboard's types come from it.
 */
export const databaseServerViewSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(DATABASE_SERVER_KINDS),
    host: z.string(),
    port: z.number(),
    capacity: z.number(),
    status: z.enum(DATABASE_SERVER_STATUSES),
    isDefault: z.boolean(),
    managed: z.boolean().describe('a server the platform runs itself (a dedicated server under DATA_DIR)'),
    tenantCount: z.number(),
    hibernatedAt: z
      .string()
      .nullable()
      .describe("set while a dedicated server is stopped by hibernation (its tenant's next request, or a backup, wakes it)"),
    createdAt: z.string(),
  })
  .meta({ id: 'DatabaseServer' });

export type DatabaseServerView = z.infer<typeof databaseServerViewSchema>;
export type DatabaseServerKind = (typeof DATABASE_SERVER_KINDS)[number];
export type DatabaseServerStatus = (typeof DATABASE_SERVER_STATUSES)[number];
