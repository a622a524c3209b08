import { z } from 'zod';
import { ODOO_SERIES } from '../config/index.js';
import type { TenantRow } from '../db/index.js';

/** Plan codes are short lowercase identifiers used in URLs, the CLI and billing. */
export const planCodeSchema = z
  .string()
  .min(2)
  .max(32)
  .regex(/^[a-z][a-z0-9-]*$/, 'must be lowercase letters, digits and hyphens, starting with a letter');

/** What the control plane does when a tenant reaches its plan's storage limit (database + filestore). */
export const STORAGE_ENFORCEMENTS = ['warn', 'read_only', 'suspend'] as const;
export type StorageEnforcement = (typeof STORAGE_ENFORCEMENTS)[number];

/**
 * How a plan's limits are enforced (usage/ applies it). Omitted in a plan: derived from
 * `placement.limitPolicy` (`enforcementOf`), so catalogs written before it keep their meaning.
 */
export const planEnforcementSchema = z
  .object({
    warnAtPercent: z.number().int().min(1).max(99).default(80).describe('usage (in % of a limit) at which the customer is warned'),
    blockNewUsers: z.boolean().describe('at the user limit, the gateway refuses RPC calls that create or activate internal Odoo users'),
    deactivateExcessUsersAfterHours: z
      .number()
      .int()
      .min(0)
      .max(8760)
      .nullable()
      .default(null)
      .describe('hours a tenant may stay over its user limit before the newest excess users are deactivated (null: never)'),
    storageAtLimit: z
      .enum(STORAGE_ENFORCEMENTS)
      .describe('at 100 % of the storage limit: only warn, make the database read-only, or suspend'),
  })
  .strict();
export type PlanEnforcement = z.infer<typeof planEnforcementSchema>;

export const planLimitsSchema = z
  .object({
    cpu: z.number().positive().max(256).describe('CPU cores'),
    memoryMiB: z.number().int().min(256).max(1_048_576).describe('memory in MiB'),
    storageGiB: z.number().int().min(1).max(100_000).describe('database + filestore size in GiB'),
    odooUsers: z.number().int().min(1).max(100_000).describe('active internal Odoo users'),
    maxTenantsPerAccount: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .nullable()
      .default(null)
      .describe('how many tenants on this plan one account may hold (null or omitted: no limit); operators creating tenants are exempt'),
    enforcement: planEnforcementSchema.optional().describe('how the limits are enforced (omitted: from placement.limitPolicy)'),
  })
  .strict();

/** How a plan's tenants run Odoo: in a shared multi-database pool or in processes of their own. */
export const PROCESS_STRATEGIES = ['pool', 'dedicated'] as const;

/**
 * What runs a plan's tenants' Odoo (src/runtimes registers one runtime per kind). The tenants
 * table records each tenant's kind at placement, so its type is checked against this list.
 */
export const RUNTIME_KINDS = ['process', 'docker', 'kubernetes'] as const satisfies readonly TenantRow['runtime'][];
export type RuntimeKind = (typeof RUNTIME_KINDS)[number];
/** The runtime of plans that name none. */
export const DEFAULT_RUNTIME_KIND: RuntimeKind = 'process';

export const planPlacementSchema = z
  .object({
    databaseStrategy: z.enum(['shared', 'dedicated']).describe('shared database server or a dedicated one per tenant'),
    processStrategy: z.enum(PROCESS_STRATEGIES).describe('shared Odoo pool or dedicated Odoo processes'),
    replicas: z.number().int().min(1).max(20).describe('Odoo replicas (dedicated only)'),
    limitPolicy: z.enum(['warn', 'block', 'suspend']).describe('what happens when a limit is crossed'),
    runtime: z.enum(RUNTIME_KINDS).optional().describe("what runs the tenants' Odoo (omitted: process, local odoo-bin)"),
    hibernateAfterIdleMinutes: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 60)
      .nullable()
      .optional()
      .describe(
        "minutes without an HTTP request after which a dedicated tenant's Odoo is stopped until its next request (omitted or null: never)",
      ),
    hibernateDatabaseServerAfterIdleMinutes: z
      .number()
      .int()
      .min(1)
      .max(30 * 24 * 60)
      .nullable()
      .optional()
      .describe(
        "minutes without an HTTP request after which a hibernated tenant's dedicated PostgreSQL server is stopped too (dedicated database servers only; at least hibernateAfterIdleMinutes; omitted or null: never)",
      ),
    odooSeries: z
      .array(z.enum(ODOO_SERIES))
      .min(1)
      .optional()
      .describe("the Odoo series this plan's tenants may run (a template of another series is refused; omitted: any)"),
  })
  .strict()
  .refine((p) => p.hibernateDatabaseServerAfterIdleMinutes == null || p.databaseStrategy === 'dedicated', {
    message: 'only a dedicated database server hibernates (a shared one serves other tenants)',
    path: ['hibernateDatabaseServerAfterIdleMinutes'],
  })
  .refine(
    (p) =>
      p.hibernateDatabaseServerAfterIdleMinutes == null ||
      (p.hibernateAfterIdleMinutes != null && p.hibernateDatabaseServerAfterIdleMinutes >= p.hibernateAfterIdleMinutes),
    {
      message: "must be at least hibernateAfterIdleMinutes: the database server sleeps only after the tenant's Odoo does",
      path: ['hibernateDatabaseServerAfterIdleMinutes'],
    },
  )
  .refine((p) => p.processStrategy === 'dedicated' || p.hibernateAfterIdleMinutes == null, {
    message: 'only dedicated processes hibernate (a pool serves other tenants)',
    path: ['hibernateAfterIdleMinutes'],
  })
  .refine((p) => p.processStrategy === 'dedicated' || p.replicas === 1, {
    message: 'a pool plan runs exactly one replica',
    path: ['replicas'],
  });

/** How often a price is charged. */
export const PRICE_INTERVALS = ['month', 'year'] as const;
export type PriceInterval = (typeof PRICE_INTERVALS)[number];

/**
 * What a price charges per unit above an included amount, per period (billing/usage-charges.ts
 * measures the units). `amountCents` is in the minor unit of the price's own currency.
 */
const extraUnitsSchema = (unit: string) =>
  z
    .object({
      included: z.number().int().min(0).max(100_000).describe(`${unit} the base price includes`),
      amountCents: z
        .number()
        .int()
        .min(1)
        .max(100_000_000)
        .describe(`price per ${unit.replace(/s$/, '')} above the included amount, per period, in the minor unit of the price's currency`),
    })
    .strict();

/**
 * A price per period. Money is an integer count of the currency's minor unit (`amountCents` is
 * cents for USD, kobo for NGN, whole yen for JPY: the name predates other currencies), never a
 * float, so sums and tax are exact. The tax rate is in basis points (1600 = 16.00 %), added on
 * top of the amount, for the same reason.
 */
export const planPriceSchema = z
  .object({
    interval: z.enum(PRICE_INTERVALS),
    amountCents: z.number().int().min(0).max(100_000_000).describe("amount in the currency's minor unit (cents, kobo, whole yen)"),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as USD')
      .refine(isKnownCurrency, 'is not a currency this platform can format; use an ISO 4217 code such as USD, EUR or NGN'),
    taxRateBasisPoints: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .default(0)
      .describe('tax added on top, in basis points (1600 = 16.00 %); omitted: no tax'),
    perUser: extraUnitsSchema('active internal Odoo users')
      .optional()
      .describe('per-user pricing: users included in the amount, and the price of each further user (peak of the period)'),
    perStorageGiB: extraUnitsSchema('GiB of storage')
      .optional()
      .describe('per-GiB pricing: GiB of database + filestore included, and the price of each further started GiB (peak of the period)'),
  })
  .strict();

const KNOWN_CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

/** True for an ISO 4217 code the runtime's ICU knows (so its minor unit is known). */
function isKnownCurrency(code: string): boolean {
  return KNOWN_CURRENCIES.has(code);
}

export const planSchema = z
  .object({
    code: planCodeSchema,
    name: z.string().trim().min(1).max(80),
    description: z.string().max(1000).default(''),
    limits: planLimitsSchema,
    placement: planPlacementSchema,
    prices: z
      .array(planPriceSchema)
      .max(4)
      .refine((prices) => new Set(prices.map((p) => p.interval)).size === prices.length, 'one price per interval')
      .refine((prices) => new Set(prices.map((p) => p.currency)).size <= 1, 'all prices of a plan are in one currency'),
    trialDays: z.number().int().min(0).max(365).default(0),
    sortOrder: z.number().int().min(0).max(10_000).default(0),
  })
  .strict();

export type PlanLimits = z.infer<typeof planLimitsSchema>;

/**
 * The enforcement a plan's tenants get: its own `limits.enforcement`, or the one its older
 * `placement.limitPolicy` implies (warn: warnings only; block: new users refused, storage
 * read-only; suspend: new users refused, suspended at the storage limit). Pure.
 */
export function enforcementOf(plan: {
  limits: Pick<PlanLimits, 'enforcement'>;
  placement: { limitPolicy: 'warn' | 'block' | 'suspend' };
}): PlanEnforcement {
  if (plan.limits.enforcement) return plan.limits.enforcement;
  const policy = plan.placement.limitPolicy;
  return {
    warnAtPercent: 80,
    blockNewUsers: policy !== 'warn',
    deactivateExcessUsersAfterHours: null,
    storageAtLimit: policy === 'warn' ? 'warn' : policy === 'block' ? 'read_only' : 'suspend',
  };
}
export type PlanPlacement = z.infer<typeof planPlacementSchema>;
export type PlanPrice = z.infer<typeof planPriceSchema>;
export type PlanDefinition = z.infer<typeof planSchema>;

/** A plan as the API answers it: the definition, whether it is still offered, whether it costs nothing. */
export const planViewSchema = planSchema.extend({ archived: z.boolean(), free: z.boolean() }).meta({ id: 'Plan' });
export type Plan = z.infer<typeof planViewSchema>;

/**
 * A plan's JSON column as read from the database, parsed with the schema that declares it (the
 * table's type says only "JSON"). Rows are written from validated plans, so a failure here means
 * someone changed the table by hand: say which plan and field.
 */
export function parseStoredPlanColumn<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: { plan: string; column: string },
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new Error(`Plan ${where.plan} has an invalid ${where.column} column at ${issue?.path.join('.')}: ${issue?.message}`);
}

/** The limits of a stored plan (readers that need only them, such as tenant limits). */
export function storedPlanLimits(row: { code: string; limits: unknown }): PlanLimits {
  return parseStoredPlanColumn(planLimitsSchema, row.limits, { plan: row.code, column: 'limits' });
}

/** The placement of a stored plan (where and how its tenants run). */
export function storedPlanPlacement(row: { code: string; placement: unknown }): PlanPlacement {
  return parseStoredPlanColumn(planPlacementSchema, row.placement, { plan: row.code, column: 'placement' });
}

/**
 * Usage pricing that the plan's own limits make meaningless: an included amount above the limit
 * could never be exceeded on a plan that blocks at its limit, and is a typo on one that does not.
 * Answers the first problem as (field, message), the field in the request body's terms; null when
 * the plan is consistent. Pure (the catalog loader and the plan service both ask it).
 */
export function usagePricingProblem(plan: Pick<PlanDefinition, 'limits' | 'prices'>): { field: string; message: string } | null {
  for (const [index, price] of plan.prices.entries()) {
    if (price.perUser && price.perUser.included > plan.limits.odooUsers)
      return {
        field: `prices.${index}.perUser.included`,
        message: `includes ${price.perUser.included} users, more than the plan's limit of ${plan.limits.odooUsers} (limits.odooUsers): raise the limit or include fewer users`,
      };
    if (price.perStorageGiB && price.perStorageGiB.included > plan.limits.storageGiB)
      return {
        field: `prices.${index}.perStorageGiB.included`,
        message: `includes ${price.perStorageGiB.included} GiB, more than the plan's limit of ${plan.limits.storageGiB} GiB (limits.storageGiB): raise the limit or include less`,
      };
  }
  return null;
}

export const catalogSchema = z.object({ plans: z.array(planSchema).min(1) }).strict();

/** Validates a catalog document (such as default-catalog.json); throws naming the bad entry. */
export function parseCatalog(document: unknown): PlanDefinition[] {
  const result = catalogSchema.safeParse(document);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`Invalid plan catalog at ${issue?.path.join('.')}: ${issue?.message}`);
  }
  const codes = result.data.plans.map((p) => p.code);
  const duplicate = codes.find((code, index) => codes.indexOf(code) !== index);
  if (duplicate) throw new Error(`Invalid plan catalog: plan code ${duplicate} appears twice`);
  for (const [index, plan] of result.data.plans.entries()) {
    const problem = usagePricingProblem(plan);
    if (problem) throw new Error(`Invalid plan catalog at plans.${index}.${problem.field}: ${problem.message}`);
  }
  return result.data.plans;
}
