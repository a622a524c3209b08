/**
 * Bounded per-tenant labels. A label value per tenant makes a series per tenant: past
 * METRICS_TENANT_LABEL_LIMIT tenants, the rest share the label `other`, so a platform that grows
 * (or a flood of sign-ups) cannot grow Prometheus's memory without bound. Tenants keep the label
 * they were given for the life of the process (a counter's series must not change name), except
 * tenants that are gone, whose labels are freed for newcomers.
 */
export const OTHER_TENANTS = 'other';
export const DEFAULT_TENANT_LABEL_LIMIT = 1000;

export interface TenantLabels {
  /** The tenant's own label (its id) while there is room, else `other`. */
  of(tenantId: string): string;
  /** Frees the labels of tenants not in `live`; answers the freed ids (their series are removed). */
  retainOnly(live: ReadonlySet<string>): string[];
  readonly size: number;
}

export function createTenantLabels(limit: number = DEFAULT_TENANT_LABEL_LIMIT): TenantLabels {
  const given = new Set<string>();
  return {
    of(tenantId) {
      if (given.has(tenantId)) return tenantId;
      if (given.size >= limit) return OTHER_TENANTS;
      given.add(tenantId);
      return tenantId;
    },
    retainOnly(live) {
      const freed = [...given].filter((id) => !live.has(id));
      for (const id of freed) given.delete(id);
      return freed;
    },
    get size() {
      return given.size;
    },
  };
}

/**
 * Folds per-tenant values into per-label values: tenants beyond the limit are combined into
 * `other` with `combine` (a sum for counts and bytes, the minimum for "last verified" or "expires
 * at" timestamps, so an alert on the oldest still fires).
 */
export function foldByLabel<T>(
  entries: Iterable<readonly [tenantId: string, value: T]>,
  labels: TenantLabels,
  combine: (a: T, b: T) => T,
): Map<string, T> {
  const folded = new Map<string, T>();
  for (const [tenantId, value] of entries) {
    const label = labels.of(tenantId);
    const previous = folded.get(label);
    folded.set(label, previous === undefined ? value : combine(previous, value));
  }
  return folded;
}
