/** The one owner of `custom_domains`. */
import type { Insertable, Updateable } from 'kysely';
import type { CustomDomainRow, CustomDomainsTable, Db } from '../db/index.js';
import type { Executor } from '../tenants/index.js';

export type DomainWithTenant = CustomDomainRow & { tenant_name: string; account_id: string };

/** Statuses under which the gateway routes a domain (a failing one within its grace period too). */
export const ROUTED_STATUSES = ['verified', 'failing'] as const;

function withTenant(db: Executor) {
  return db
    .selectFrom('custom_domains')
    .innerJoin('tenants', 'tenants.id', 'custom_domains.tenant_id')
    .selectAll('custom_domains')
    .select(['tenants.name as tenant_name', 'tenants.account_id as account_id'])
    .where('tenants.state', '<>', 'deleted');
}

export async function insertDomain(db: Executor, row: Insertable<CustomDomainsTable>): Promise<CustomDomainRow> {
  return db.insertInto('custom_domains').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function updateDomain(db: Executor, id: string, change: Updateable<CustomDomainsTable>): Promise<CustomDomainRow> {
  return db.updateTable('custom_domains').set(change).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

export async function deleteDomain(db: Executor, id: string): Promise<void> {
  await db.deleteFrom('custom_domains').where('id', '=', id).execute();
}

export async function clearPrimary(db: Executor, tenantId: string): Promise<void> {
  await db
    .updateTable('custom_domains')
    .set({ is_primary: false })
    .where('tenant_id', '=', tenantId)
    .where('is_primary', '=', true)
    .execute();
}

export async function domainsOfTenant(db: Executor, tenantId: string): Promise<CustomDomainRow[]> {
  return db.selectFrom('custom_domains').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at').execute();
}

export async function domainOfTenant(db: Executor, tenantId: string, domain: string): Promise<CustomDomainRow | undefined> {
  return db.selectFrom('custom_domains').selectAll().where('tenant_id', '=', tenantId).where('domain', '=', domain).executeTakeFirst();
}

/** The claim that routes `domain`, on whichever live tenant and account. */
export async function routedClaim(db: Executor, domain: string): Promise<DomainWithTenant | undefined> {
  return withTenant(db)
    .where('custom_domains.domain', '=', domain)
    .where('custom_domains.status', 'in', ROUTED_STATUSES)
    .executeTakeFirst();
}

/**
 * Drops the claims on `domain` of deleted tenants: a deleted tenant's row stays (its name may be
 * taken again), and its claim would otherwise hold the domain's routed slot forever.
 */
export async function releaseClaimsOfDeletedTenants(db: Executor, domain: string): Promise<void> {
  await db
    .deleteFrom('custom_domains')
    .where('domain', '=', domain)
    .where('tenant_id', 'in', (eb) => eb.selectFrom('tenants').select('id').where('state', '=', 'deleted'))
    .execute();
}

export async function primaryDomainOf(db: Executor, tenantId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('custom_domains')
    .select('domain')
    .where('tenant_id', '=', tenantId)
    .where('is_primary', '=', true)
    .executeTakeFirst();
  return row?.domain;
}

/** Routed domains of live tenants (of one tenant when `tenantId` is given): what the gateway serves. */
export async function routedDomains(db: Db, tenantId?: string): Promise<DomainWithTenant[]> {
  let query = withTenant(db).where('custom_domains.status', 'in', ROUTED_STATUSES);
  if (tenantId) query = query.where('custom_domains.tenant_id', '=', tenantId);
  return query.execute();
}

/** Every claim of live tenants (all statuses), for the scheduled re-check and the operator's list. */
export async function allDomains(db: Db, filter: { limit?: number; offset?: number } = {}): Promise<DomainWithTenant[]> {
  return withTenant(db)
    .orderBy('custom_domains.domain')
    .orderBy('custom_domains.created_at')
    .limit(filter.limit ?? 100_000)
    .offset(filter.offset ?? 0)
    .execute();
}

/** The claim on `domain` holding `token`, on a live tenant: what the HTTP proof answers for. */
export async function claimWithToken(db: Executor, domain: string, token: string): Promise<CustomDomainRow | undefined> {
  return db
    .selectFrom('custom_domains')
    .selectAll('custom_domains')
    .innerJoin('tenants', 'tenants.id', 'custom_domains.tenant_id')
    .where('custom_domains.domain', '=', domain)
    .where('custom_domains.token', '=', token)
    .where('tenants.state', '<>', 'deleted')
    .executeTakeFirst();
}

/** Whether a live tenant other than `tenantId` claims `domain` too (in any status). */
export async function otherClaimExists(db: Executor, domain: string, tenantId: string): Promise<boolean> {
  const row = await db
    .selectFrom('custom_domains')
    .select('custom_domains.id')
    .innerJoin('tenants', 'tenants.id', 'custom_domains.tenant_id')
    .where('custom_domains.domain', '=', domain)
    .where('custom_domains.tenant_id', '<>', tenantId)
    .where('tenants.state', '<>', 'deleted')
    .executeTakeFirst();
  return row !== undefined;
}

/** The soonest certificate expiry of each tenant's verified domains (metrics). */
export async function certificateExpiriesPerTenant(db: Executor): Promise<Map<string, Date>> {
  const rows = await db
    .selectFrom('custom_domains')
    .select(['tenant_id', (eb) => eb.fn.min('certificate_expires_at').as('expires_at')])
    .where('status', '=', 'verified')
    .where('certificate_expires_at', 'is not', null)
    .groupBy('tenant_id')
    .execute();
  return new Map(rows.flatMap((row) => (row.expires_at ? [[row.tenant_id, new Date(row.expires_at)] as const] : [])));
}
