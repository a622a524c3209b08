/**
 * Which shared pool serves a new tenant. Pools are filled one after another up to a capacity:
 * every pool costs a fixed amount of memory (Odoo's code and workers), so packing tenants keeps
 * the number of processes low, while the cap bounds how many tenants one crash or one noisy
 * neighbour affects.
 */
export interface PoolSummary {
  name: string;
  databaseServerId: string;
  /** The Odoo series its processes run: a pool serves tenants of one series only. */
  series?: string;
  tenantCount: number;
}

export type PoolChoice = { kind: 'existing'; name: string } | { kind: 'new'; name: string };

export const DEFAULT_POOL_MAX_TENANTS = 100;

/**
 * A short, name-safe tag of the database server (ids are usually UUIDs): pool names, directory
 * names and the pool's PostgreSQL role are derived from the pool name, so it must stay short
 * and use only [a-z0-9].
 */
export function serverTag(databaseServerId: string): string {
  const tag = databaseServerId
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 8);
  return tag.length > 0 ? tag : 'server';
}

const POOL_NAME = /^([a-z]+)-([a-z0-9]+)-([1-9][0-9]*)$/;

/** `prefix` tells runtimes' pools apart (their PostgreSQL roles are named after them): `pool` (process), `dpool` (docker). */
export function poolName(databaseServerId: string, number: number, prefix = 'pool'): string {
  return `${prefix}-${serverTag(databaseServerId)}-${number}`;
}

export function isPoolName(name: string, prefix = 'pool'): boolean {
  return POOL_NAME.exec(name)?.[1] === prefix;
}

/**
 * The pool of `databaseServerId` and `series` with room for one more tenant (the lowest-numbered, so gaps left
 * by departed tenants are filled before anything new starts), else the name of a new pool.
 * New numbers are unique among all pools, so two servers whose ids share a tag never collide.
 */
export function choosePool(
  pools: readonly PoolSummary[],
  databaseServerId: string,
  maxTenants: number,
  series = '',
  prefix = 'pool',
): PoolChoice {
  if (!Number.isInteger(maxTenants) || maxTenants < 1) throw new RangeError(`pool capacity must be a positive integer, got ${maxTenants}`);
  const number = (name: string): number => Number(POOL_NAME.exec(name)?.[3] ?? Number.MAX_SAFE_INTEGER);
  const withRoom = pools
    .filter((pool) => pool.databaseServerId === databaseServerId && (pool.series ?? '') === series && pool.tenantCount < maxTenants)
    .sort((a, b) => number(a.name) - number(b.name) || a.name.localeCompare(b.name));
  const first = withRoom[0];
  if (first) return { kind: 'existing', name: first.name };
  const taken = new Set(pools.map((pool) => pool.name));
  let candidate = 1;
  while (taken.has(poolName(databaseServerId, candidate, prefix))) candidate += 1;
  return { kind: 'new', name: poolName(databaseServerId, candidate, prefix) };
}
