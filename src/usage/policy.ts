/**
 * How a tenant stands against its plan's limits, and what the control plane does about it. Pure:
 * the sampler hands in a measure, the plan's enforcement and the standing it recorded last time,
 * and writes back what this returns. Tested exhaustively (test/unit/usage-policy.test.ts).
 */
import type { PlanEnforcement } from '../plans/index.js';

export const LIMIT_RESOURCES = ['odoo_users', 'storage'] as const;
export type LimitResource = (typeof LIMIT_RESOURCES)[number];

/** `warning`: at or past `warnAtPercent`; `reached`: exactly at the limit (100 %); `over`: past it. */
export const LIMIT_LEVELS = ['ok', 'warning', 'reached', 'over'] as const;
export type LimitLevel = (typeof LIMIT_LEVELS)[number];

const RANK: Record<LimitLevel, number> = { ok: 0, warning: 1, reached: 2, over: 3 };

/** What was recorded for one tenant and resource after the previous sample. */
export interface LimitStanding {
  level: LimitLevel;
  /** When the tenant entered `level` (the grace period before deactivating users counts from it). */
  since: Date;
  /** The gateway refuses RPC calls that create or activate internal users. */
  blockNewUsers: boolean;
  /** The gateway refuses RPC calls that write. */
  readOnly: boolean;
}

export type LimitAction =
  /** Mail the account (limit_warning at the warning level, limit_reached at 100 %). */
  | { kind: 'notify'; template: 'limit_warning' | 'limit_reached'; percent: number }
  /** Deactivate the newest `count` internal users (the grace period after going over ended). */
  | { kind: 'deactivate_users'; count: number }
  /** Suspend the tenant (the storage policy `suspend`, once, when the limit is reached). */
  | { kind: 'suspend' };

export interface LimitDecision {
  next: LimitStanding;
  /** The standing differs from the previous one (a level, block or read-only change): recorded as a tenant event. */
  changed: boolean;
  actions: LimitAction[];
}

export function levelOf(used: number, limit: number, warnAtPercent: number): LimitLevel {
  if (used > limit) return 'over';
  if (used === limit) return 'reached';
  return used * 100 >= limit * warnAtPercent ? 'warning' : 'ok';
}

/** Used as a whole percentage of the limit, rounded down (what mails and the dashboard show). */
export function percentOf(used: number, limit: number): number {
  return Math.floor((used * 100) / limit);
}

export function decideLimit(input: {
  resource: LimitResource;
  used: number;
  limit: number;
  policy: PlanEnforcement;
  previous: LimitStanding | undefined;
  now: Date;
}): LimitDecision {
  const { resource, used, limit, policy, previous, now } = input;
  const level = levelOf(used, limit, policy.warnAtPercent);
  const before = previous?.level ?? 'ok';
  const atLimit = RANK[level] >= RANK.reached;
  const next: LimitStanding = {
    level,
    since: previous && previous.level === level ? previous.since : now,
    blockNewUsers: resource === 'odoo_users' && policy.blockNewUsers && atLimit,
    readOnly: resource === 'storage' && policy.storageAtLimit === 'read_only' && atLimit,
  };
  const actions: LimitAction[] = [];
  // Mails on the way up only, once per level crossed: reached -> over says nothing new, and a
  // tenant that went back under and crosses again is told again.
  if (RANK[level] > RANK[before]) {
    if (level === 'warning') actions.push({ kind: 'notify', template: 'limit_warning', percent: percentOf(used, limit) });
    else if (RANK[before] < RANK.reached) actions.push({ kind: 'notify', template: 'limit_reached', percent: percentOf(used, limit) });
  }
  if (resource === 'storage' && policy.storageAtLimit === 'suspend' && atLimit && RANK[before] < RANK.reached) {
    actions.push({ kind: 'suspend' });
  }
  const graceHours = policy.deactivateExcessUsersAfterHours;
  if (
    resource === 'odoo_users' &&
    level === 'over' &&
    graceHours !== null &&
    now.getTime() - next.since.getTime() >= graceHours * 3600_000
  ) {
    actions.push({ kind: 'deactivate_users', count: used - limit });
  }
  const changed =
    previous === undefined
      ? level !== 'ok' || next.blockNewUsers || next.readOnly
      : previous.level !== level || previous.blockNewUsers !== next.blockNewUsers || previous.readOnly !== next.readOnly;
  return { next, changed, actions };
}

/**
 * When a tenant's sample of the round starting at `slot` is taken: spread over the round by a
 * hash of the tenant id, so 1,000 tenants do not all query their servers at the round's start.
 */
export function sampleOffsetSeconds(tenantId: string, intervalSeconds: number): number {
  let hash = 2166136261;
  for (let i = 0; i < tenantId.length; i++) {
    hash ^= tenantId.charCodeAt(i);
    hash = Math.imul(hash, 16777619) >>> 0;
  }
  // The last tenth of the round is left free, so a slow sample still ends inside its round.
  return hash % Math.max(1, Math.floor(intervalSeconds * 0.9));
}

/** The start of the sampling round `at` falls in (rounds are aligned on the epoch). */
export function roundStart(at: Date, intervalSeconds: number): Date {
  const ms = intervalSeconds * 1000;
  return new Date(Math.floor(at.getTime() / ms) * ms);
}

/** Which series resolution answers a range: raw samples up to 2 days, hourly up to 60 days, then daily. */
export function seriesStepFor(from: Date, to: Date): 'raw' | 'hour' | 'day' {
  const hours = (to.getTime() - from.getTime()) / 3600_000;
  if (hours <= 48) return 'raw';
  return hours <= 60 * 24 ? 'hour' : 'day';
}
