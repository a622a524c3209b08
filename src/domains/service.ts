/**
 * Custom domains of tenants: add (with the records to set), check (now, and on a schedule),
 * route once proven, flag and later unroute a domain that stops pointing here, make one primary
 * (Odoo's base URL follows it), remove (unrouted at once). Every change is told with a
 * `domain.changed` event, which each replica's domain table (table.ts) follows.
 */
import { randomBytes } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { CustomDomainRow, Database, Db, TenantRow } from '../db/index.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors/index.js';
import { publishDomainEvents } from '../events/index.js';
import type { JobQueue } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';
import { applyBaseUrl } from '../odoo/index.js';
import type { DatabaseServerRegistry } from '../postgres/index.js';
import { inTransaction, tenantById } from '../tenants/index.js';
import { type CertificateProbe, judgeCertificate } from './certificate.js';
import type { HttpProofFetch } from './http-proof.js';
import { checkCustomDomain, toAsciiDomain } from './name.js';
import {
  allDomains,
  clearPrimary,
  deleteDomain,
  domainOfTenant,
  domainsOfTenant,
  insertDomain,
  otherClaimExists,
  primaryDomainOf,
  releaseClaimsOfDeletedTenants,
  routedClaim,
  updateDomain,
} from './store.js';
import { type DnsLookup, httpProofCouldHelp, judge } from './verify.js';
import { type DomainView, toDomainView } from './views.js';

export const DOMAIN_RECHECK_QUEUE = 'domain-recheck';
export const TENANT_BASE_URL_QUEUE = 'tenant-base-url';
/** Enough for a company's sites and its old names; more is a sign of abuse. */
export const MAX_DOMAINS_PER_TENANT = 20;

export interface DomainServiceDependencies {
  db: Db;
  jobs: Pick<JobQueue, 'send' | 'define'>;
  servers: Pick<DatabaseServerRegistry, 'operations' | 'whileAwake'>;
  lookup: DnsLookup;
  /** The HTTP proof (http-proof.ts); without it, only the TXT record proves a domain. */
  fetchHttpProof?: HttpProofFetch;
  /** Asks the TLS edge for each routed domain's certificate; without it, certificates are not checked. */
  probeCertificate?: CertificateProbe;
  baseDomain: string;
  edgeAddresses: readonly string[];
  graceMs: number;
  tenantHostName: (name: string) => string;
  tenantBaseUrl: (name: string) => string;
  /** `https:` behind a TLS edge: the scheme of the base URL Odoo gets for a primary domain. */
  publicScheme: string;
  /**
   * Delivers committed events to this replica's subscribers now (the event bus's `deliver`): a
   * change answers only once this replica's domain table has it, so a removed domain is not
   * served by the replica that removed it even for a moment. Other replicas follow on the NOTIFY.
   */
  deliverEvents?: () => Promise<void>;
  logger: Logger;
}

const UNIQUE_VIOLATION = '23505';

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: string }).code === UNIQUE_VIOLATION;
}

export function createDomainService(deps: DomainServiceDependencies) {
  const { db, logger } = deps;

  function view(row: CustomDomainRow, tenantName: string): DomainView {
    return toDomainView(row, { tenantName, tenantHost: deps.tenantHostName(tenantName), edgeAddresses: deps.edgeAddresses });
  }

  function parseExisting(domain: string): string {
    const ascii = toAsciiDomain(domain);
    if (!ascii) throw new NotFoundError(`Domain ${domain}`, { field: 'domain' });
    return ascii;
  }

  async function claimOf(tenant: TenantRow, domain: string): Promise<CustomDomainRow> {
    const row = await domainOfTenant(db, tenant.id, parseExisting(domain));
    if (!row) throw new NotFoundError(`Domain ${domain} of tenant ${tenant.name}`, { field: 'domain' });
    return row;
  }

  /** Changes a claim and tells every replica, in one transaction; `baseUrl` queues the base-URL update too. */
  async function change(row: CustomDomainRow, work: (trx: Transaction<Database>) => Promise<void>, baseUrl = false): Promise<void> {
    await inTransaction(db, async (trx) => {
      await work(trx);
      await publishDomainEvents(trx, { type: 'domain.changed', payload: { tenantId: row.tenant_id, domain: row.domain } });
      if (baseUrl) await deps.jobs.send(TENANT_BASE_URL_QUEUE, { tenantId: row.tenant_id }, { key: row.tenant_id, transaction: trx });
    });
    await deps.deliverEvents?.();
  }

  /** Applies one DNS check to a claim; answers the claim as it is afterwards. */
  async function check(row: CustomDomainRow, tenantName: string, now = new Date()): Promise<CustomDomainRow> {
    const observation = await deps.lookup(row.domain);
    const expected = { token: row.token, tenantHost: deps.tenantHostName(tenantName), edgeAddresses: deps.edgeAddresses };
    const http =
      deps.fetchHttpProof && httpProofCouldHelp(observation, expected)
        ? {
            ...(await deps.fetchHttpProof(row.domain, row.token, observation.addresses)),
            contested: await otherClaimExists(db, row.domain, row.tenant_id),
          }
        : undefined;
    const verdict = judge(observation, expected, row.domain, http);
    const checked = { last_checked_at: now };
    if (verdict.kind === 'inconclusive') return updateDomain(db, row.id, { ...checked, last_check_error: verdict.error });
    if (verdict.kind === 'verified') {
      if (row.status === 'verified') return updateDomain(db, row.id, { ...checked, last_check_error: null });
      await releaseClaimsOfDeletedTenants(db, row.domain);
      try {
        let updated = row;
        await change(row, async (trx) => {
          updated = await updateDomain(trx, row.id, {
            ...checked,
            status: 'verified',
            verified_at: row.verified_at ?? now,
            failing_since: null,
            last_check_error: null,
          });
        });
        return updated;
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        // Another tenant proved this domain first: it keeps it until its owner removes it.
        return updateDomain(db, row.id, {
          ...checked,
          last_check_error:
            'This domain is served for another instance. If that instance is yours, remove the domain there; if not, ask support.',
        });
      }
    }
    const problems = verdict.problems.join('\n');
    if (row.status === 'pending') return updateDomain(db, row.id, { ...checked, last_check_error: problems });
    if (row.status === 'verified') {
      logger.warn({ domain: row.domain, tenantId: row.tenant_id }, 'custom domain no longer points here: flagged');
      let updated = row;
      await change(row, async (trx) => {
        updated = await updateDomain(trx, row.id, { ...checked, status: 'failing', failing_since: now, last_check_error: problems });
      });
      return updated;
    }
    // Failing: still routed until the grace period is over (a DNS change in progress, a typo fixed).
    if (now.getTime() - (row.failing_since ?? now).getTime() < deps.graceMs)
      return updateDomain(db, row.id, { ...checked, last_check_error: problems });
    logger.warn({ domain: row.domain, tenantId: row.tenant_id }, 'custom domain failed its checks for the whole grace period: unrouted');
    let updated = row;
    await change(
      row,
      async (trx) => {
        updated = await updateDomain(trx, row.id, {
          ...checked,
          status: 'pending',
          is_primary: false,
          failing_since: null,
          last_check_error: problems,
        });
      },
      row.is_primary,
    );
    return updated;
  }

  /** Records the certificate the edge presents for a routed domain (see certificate.ts). */
  async function checkCertificate(row: CustomDomainRow, now = new Date()): Promise<CustomDomainRow> {
    if (!deps.probeCertificate || row.status === 'pending') return row;
    const seen = await deps.probeCertificate(row.domain);
    const { health, daysLeft } = judgeCertificate({ ...seen, checkedAt: now }, now);
    if (health !== 'valid')
      logger.warn(
        { domain: row.domain, tenantId: row.tenant_id, health, daysLeft, error: seen.error },
        'custom domain certificate needs attention',
      );
    return updateDomain(db, row.id, {
      certificate_valid_from: seen.validFrom,
      certificate_expires_at: seen.expiresAt,
      certificate_issuer: seen.issuer,
      certificate_checked_at: now,
      certificate_error: seen.error,
    });
  }

  /** The DNS check, then, for a domain that is routed afterwards, the certificate check. */
  async function checkAll(row: CustomDomainRow, tenantName: string, now = new Date()): Promise<CustomDomainRow> {
    return checkCertificate(await check(row, tenantName, now), now);
  }

  return {
    async list(tenant: TenantRow): Promise<DomainView[]> {
      return (await domainsOfTenant(db, tenant.id)).map((row) => view(row, tenant.name));
    },

    async listAll(filter: { limit?: number; offset?: number }): Promise<DomainView[]> {
      return (await allDomains(db, filter)).map((row) => view(row, row.tenant_name));
    },

    /** Adds a claim (pending) and checks it at once, so records set beforehand verify it immediately. */
    async add(tenant: TenantRow, input: string): Promise<DomainView> {
      const checked = checkCustomDomain(input, deps.baseDomain);
      if (!checked.ok) throw new ValidationError(`Domain ${checked.reason}.`, { field: 'domain' });
      const { domain } = checked;
      const taken = await routedClaim(db, domain);
      if (taken && taken.tenant_id !== tenant.id)
        throw new ConflictError(`${domain} is in use by another tenant. If the domain is yours, ask support to release it.`, {
          field: 'domain',
        });
      const existing = await domainsOfTenant(db, tenant.id);
      if (existing.some((row) => row.domain === domain))
        throw new ConflictError(`${domain} is already a domain of this tenant.`, { field: 'domain' });
      if (existing.length >= MAX_DOMAINS_PER_TENANT)
        throw new ConflictError(`A tenant can have at most ${MAX_DOMAINS_PER_TENANT} domains: remove one first.`, { field: 'domain' });
      let row: CustomDomainRow;
      try {
        row = await insertDomain(db, {
          tenant_id: tenant.id,
          domain,
          token: `odoo-saas-verify=${randomBytes(18).toString('base64url')}`,
          status: 'pending',
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new ConflictError(`${domain} is already a domain of this tenant.`, { field: 'domain' });
        throw error;
      }
      return view(await checkAll(row, tenant.name), tenant.name);
    },

    async checkNow(tenant: TenantRow, domain: string): Promise<DomainView> {
      return view(await checkAll(await claimOf(tenant, domain), tenant.name), tenant.name);
    },

    /** Unrouted at once: the event reaches every replica's domain table before this answers on this one. */
    async remove(tenant: TenantRow, domain: string): Promise<void> {
      const row = await claimOf(tenant, domain);
      await change(row, (trx) => deleteDomain(trx, row.id), row.is_primary);
    },

    /** Makes a routed domain the tenant's primary (or, with `primary` false, no domain primary). */
    async setPrimary(tenant: TenantRow, domain: string, primary: boolean): Promise<DomainView> {
      const row = await claimOf(tenant, domain);
      if (primary && row.status === 'pending')
        throw new ConflictError(`${row.domain} is not verified yet: set the records shown and check it again.`, { field: 'domain' });
      if (row.is_primary === primary) return view(row, tenant.name);
      let updated = row;
      await change(
        row,
        async (trx) => {
          await clearPrimary(trx, tenant.id);
          updated = await updateDomain(trx, row.id, { is_primary: primary });
        },
        true,
      );
      return view(updated, tenant.name);
    },

    /** The scheduled re-check of every claim; one failure does not stop the others. */
    async recheckAll(now = new Date()): Promise<{ checked: number; failed: number }> {
      let failed = 0;
      const rows = await allDomains(db);
      for (const row of rows) {
        try {
          await checkAll(row, row.tenant_name, now);
        } catch (error) {
          failed++;
          logger.warn({ err: error, domain: row.domain }, 'custom domain check failed');
        }
      }
      return { checked: rows.length, failed };
    },

    /**
     * Writes the tenant's base URL (its primary domain, else its subdomain) into its Odoo
     * database. Reads the current primary when it runs, so it is idempotent and a later change
     * wins whatever order the jobs ran in.
     */
    async applyBaseUrl(tenantId: string): Promise<string | undefined> {
      const tenant = await tenantById(tenantId, db);
      if (!tenant?.server_id || tenant.state === 'deleted') return undefined;
      const primary = await primaryDomainOf(db, tenantId);
      const url = primary ? `${deps.publicScheme}//${primary}` : deps.tenantBaseUrl(tenant.name);
      // A hibernated dedicated server is woken for the write (the tenant's Odoo stays hibernated).
      return deps.servers.whileAwake(tenant.server_id, async () => {
        const ops = await deps.servers.operations(tenant.server_id as string);
        if (!(await ops.databaseExists(tenant.database_name))) return undefined;
        await ops.withDatabase(tenant.database_name, (client) => applyBaseUrl(client, url));
        return url;
      });
    },

    async registerJobs(work: boolean): Promise<void> {
      await deps.jobs.define(DOMAIN_RECHECK_QUEUE, async () => void (await this.recheckAll()), work);
      await deps.jobs.define(TENANT_BASE_URL_QUEUE, async (payload) => void (await this.applyBaseUrl(payload.tenantId)), work);
    },
  };
}

export type DomainService = ReturnType<typeof createDomainService>;
