import { z } from 'zod';
import { PROCESS_STRATEGIES } from '../plans/index.js';
import { TENANT_REQUESTS, TENANT_STATES } from './lifecycle.js';
import { PROVISIONING_STEPS } from './provisioning-steps.js';

/**
 * What the API answers about tenants, declared once: the service builds these views, the routes
 * answer with these schemas (which the OpenAPI document and the dashboard's generated types come
 * from), and the TypeScript types below are inferred from them. The `id` of each is its name in
 * the OpenAPI document's components (and so in the dashboard's types).
 */

export const tenantStateSchema = z.enum(TENANT_STATES).meta({ id: 'TenantState' });
export const provisioningStepSchema = z.enum(PROVISIONING_STEPS).meta({ id: 'ProvisioningStep' });
export const tenantRequestSchema = z.enum(TENANT_REQUESTS).meta({ id: 'TenantRequest', description: 'a lifecycle request' });

const tenantFields = z.object({
  id: z.string(),
  name: z.string(),
  hostName: z.string(),
  url: z.string(),
  accountId: z.string(),
  plan: z.string(),
  template: z.string(),
  state: tenantStateSchema,
  stateReason: z.string().nullable(),
  stateChangedAt: z.string(),
  processStrategy: z.enum(PROCESS_STRATEGIES),
  odooSeries: z.string().nullable().describe("the Odoo series the tenant runs (its template's); null: the platform's default series"),
  adminEmail: z.string(),
  adminLogin: z.string(),
  provisioningStep: provisioningStepSchema.nullable().describe('the last provisioning step done'),
  jobId: z.string().nullable(),
  duplicateOf: z.string().nullable(),
  deleteAfter: z.string().nullable(),
  terminatedAt: z.string().nullable(),
  provisionSeconds: z.number().nullable(),
  createdAt: z.string(),
  allowedActions: z.array(tenantRequestSchema).describe('the lifecycle requests the caller may make now'),
});

/** What customers see of their tenants: no database names, server ids or internal failure texts. */
export const customerTenantViewSchema = tenantFields.meta({ id: 'CustomerTenant', title: 'Tenant (customer view)' });

/** Operators also see where the tenant lives. */
export const operatorTenantViewSchema = tenantFields
  .extend({ databaseName: z.string(), databaseServerId: z.string().nullable() })
  .meta({ id: 'OperatorTenant', title: 'Tenant (operator view)' });

export type CustomerTenantView = z.infer<typeof customerTenantViewSchema>;
export type OperatorTenantView = z.infer<typeof operatorTenantViewSchema>;
/** A tenant as its caller sees it: the operator-only fields are there for operators only. */
export type TenantView = CustomerTenantView & Partial<Omit<OperatorTenantView, keyof CustomerTenantView>>;

/** Kinds of timeline entries: state changes, provisioning steps, notes and failures. */
export const TENANT_EVENT_TYPES = ['state', 'step', 'info', 'error'] as const;

/** One entry of a tenant's timeline. */
export const tenantEventViewSchema = z
  .object({
    id: z.number(),
    at: z.string(),
    type: z.enum(TENANT_EVENT_TYPES),
    fromState: tenantStateSchema.nullable(),
    toState: tenantStateSchema.nullable(),
    step: provisioningStepSchema.nullable(),
    message: z.string().nullable(),
  })
  .meta({ id: 'TenantEvent' });

export type TenantEventView = z.infer<typeof tenantEventViewSchema>;

/** How many tenants the account holds on each plan, against the plan's limit (null: none). */
export const tenantQuotaSchema = z.object({ plan: z.string(), used: z.number(), limit: z.number().nullable() }).meta({ id: 'TenantQuota' });
export type TenantQuota = z.infer<typeof tenantQuotaSchema>;
