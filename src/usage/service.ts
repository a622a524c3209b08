/**
 * What the API answers about usage: a tenant's series (raw samples, hourly or daily maxima) and
 * its standings, and the operator's overview of every sampled tenant.
 */
import type { Db } from '../db/index.js';
import { ValidationError } from '../errors/index.js';
import { seriesStepFor } from './policy.js';
import { latestSamples, rollupsBetween, samplesBetween, standingsOf } from './store.js';
import { type LimitStandingView, rollupToPoint, toPoint, toStandingView, type USAGE_STEPS, type UsagePoint } from './views.js';

/** The longest range one request may ask for (daily points: about 400). */
const MAX_RANGE_DAYS = 400;

export function createUsageService(deps: { db: Db; clock: () => Date }) {
  const { db } = deps;
  return {
    async series(
      tenantId: string,
      query: { from?: Date | undefined; to?: Date | undefined; step?: (typeof USAGE_STEPS)[number] | undefined },
    ): Promise<{ from: string; to: string; step: (typeof USAGE_STEPS)[number]; points: UsagePoint[] }> {
      const to = query.to ?? deps.clock();
      const from = query.from ?? new Date(to.getTime() - 86_400_000);
      if (from.getTime() >= to.getTime()) throw new ValidationError('from must be before to', { field: 'from' });
      if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * 86_400_000) {
        throw new ValidationError(`the range may span at most ${MAX_RANGE_DAYS} days`, { field: 'from' });
      }
      const step = query.step ?? seriesStepFor(from, to);
      const points =
        step === 'raw'
          ? (await samplesBetween(tenantId, from, to, db)).map(toPoint)
          : (await rollupsBetween(tenantId, step, from, to, db)).map(rollupToPoint);
      return { from: from.toISOString(), to: to.toISOString(), step, points };
    },

    async standings(tenantId: string): Promise<LimitStandingView[]> {
      return (await standingsOf(tenantId, db)).map(toStandingView);
    },

    /** Every sampled tenant's newest sample and standings, keyed by tenant id. */
    async overview(): Promise<Map<string, { latest: UsagePoint; standings: LimitStandingView[] }>> {
      const [samples, standings] = await Promise.all([latestSamples(db), standingsOf(undefined, db)]);
      const out = new Map<string, { latest: UsagePoint; standings: LimitStandingView[] }>();
      for (const sample of samples) out.set(sample.tenant_id, { latest: toPoint(sample), standings: [] });
      for (const row of standings) out.get(row.tenant_id)?.standings.push(toStandingView(row));
      return out;
    },
  };
}
export type UsageService = ReturnType<typeof createUsageService>;
