import type { Db, PlanRow } from '../db/index.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors/index.js';
import {
  type Plan,
  type PlanDefinition,
  parseCatalog,
  parseStoredPlanColumn,
  planPriceSchema,
  storedPlanLimits,
  storedPlanPlacement,
  usagePricingProblem,
} from './catalog.js';
import defaultCatalogDocument from './default-catalog.json' with { type: 'json' };

export const defaultCatalog: PlanDefinition[] = parseCatalog(defaultCatalogDocument);

function toPlan(row: PlanRow): Plan {
  const prices = parseStoredPlanColumn(planPriceSchema.array(), row.prices, { plan: row.code, column: 'prices' });
  return {
    code: row.code,
    name: row.name,
    description: row.description,
    limits: storedPlanLimits(row),
    placement: storedPlanPlacement(row),
    prices,
    trialDays: row.trial_days,
    sortOrder: row.sort_order,
    archived: row.archived_at !== null,
    free: prices.every((p) => p.amountCents === 0),
  };
}

function toColumns(plan: PlanDefinition) {
  return {
    name: plan.name,
    description: plan.description,
    limits: JSON.stringify(plan.limits),
    placement: JSON.stringify(plan.placement),
    prices: JSON.stringify(plan.prices),
    trial_days: plan.trialDays,
    sort_order: plan.sortOrder,
  };
}

/** A 400 naming the field when the plan's usage pricing contradicts its limits. */
function checkUsagePricing(plan: Pick<PlanDefinition, 'limits' | 'prices'>): void {
  const problem = usagePricingProblem(plan);
  if (problem) throw new ValidationError(`${problem.field} ${problem.message}.`, { field: problem.field });
}

export type PlanService = ReturnType<typeof createPlanService>;

export function createPlanService(deps: { db: Db }) {
  const { db } = deps;
  return {
    /** Inserts catalog plans that do not exist yet; never overwrites an operator's edits. */
    async seed(catalog: PlanDefinition[] = defaultCatalog): Promise<number> {
      const result = await db
        .insertInto('plans')
        .values(catalog.map((plan) => ({ code: plan.code, ...toColumns(plan) })))
        .onConflict((oc) => oc.column('code').doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0);
    },

    async list(options: { includeArchived?: boolean } = {}): Promise<Plan[]> {
      let query = db.selectFrom('plans').selectAll().orderBy('sort_order').orderBy('code');
      if (!options.includeArchived) query = query.where('archived_at', 'is', null);
      return (await query.execute()).map(toPlan);
    },

    /** `executor`: a caller's transaction, so a caller holding one never waits for a second connection. */
    async get(code: string, executor: Db = db): Promise<Plan> {
      const row = await executor.selectFrom('plans').selectAll().where('code', '=', code).executeTakeFirst();
      if (!row) throw new NotFoundError(`Plan ${code}`, { field: 'code' });
      return toPlan(row);
    },

    async create(plan: PlanDefinition): Promise<Plan> {
      checkUsagePricing(plan);
      const row = await db
        .insertInto('plans')
        .values({ code: plan.code, ...toColumns(plan) })
        .onConflict((oc) => oc.column('code').doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!row) throw new ConflictError(`A plan with code ${plan.code} already exists.`, { field: 'code' });
      return toPlan(row);
    },

    async update(code: string, changes: Omit<PlanDefinition, 'code'>): Promise<Plan> {
      checkUsagePricing(changes);
      const row = await db
        .updateTable('plans')
        .set({ ...toColumns({ ...changes, code }), updated_at: new Date() })
        .where('code', '=', code)
        .returningAll()
        .executeTakeFirst();
      if (!row) throw new NotFoundError(`Plan ${code}`, { field: 'code' });
      return toPlan(row);
    },

    /** Archived plans are no longer offered; existing subscriptions keep them. */
    async archive(code: string): Promise<Plan> {
      const row = await db
        .updateTable('plans')
        .set({ archived_at: new Date(), updated_at: new Date() })
        .where('code', '=', code)
        .returningAll()
        .executeTakeFirst();
      if (!row) throw new NotFoundError(`Plan ${code}`, { field: 'code' });
      return toPlan(row);
    },
  };
}
