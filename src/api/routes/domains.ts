import { z } from 'zod';
import { domainViewSchema } from '../../domains/index.js';
import { NotFoundError, RateLimitError, ValidationError } from '../../errors/index.js';
import { type Api, principalOf, routeOptions } from '../route.js';
import { paginationQuery } from '../schemas.js';
import type { ApiDependencies } from '../server.js';

const tenantName = z.string().min(1).max(63).describe('the subdomain, e.g. acme');
const domainField = z.string().min(1).max(253).describe('e.g. erp.acme.com (IDN accepted, stored in punycode)');
const domainParams = z.object({ name: tenantName, domain: domainField }).strict();

/** Asks one edge replica may make per second window; Caddy asks once per new name, so this is generous. */
const TLS_ASKS_PER_WINDOW = 50;
const TLS_ASK_WINDOW_MS = 1_000;

/**
 * Kept in memory (per replica), not in PostgreSQL like the login limits: the ask endpoint must stay
 * cheap under a flood of handshakes for random names, which is what the limit is for.
 */
function createAskLimiter() {
  const windows = new Map<string, { startedAt: number; count: number }>();
  return (client: string, now = Date.now()): boolean => {
    const current = windows.get(client);
    if (!current || now - current.startedAt >= TLS_ASK_WINDOW_MS) {
      if (windows.size > 10_000) windows.clear();
      windows.set(client, { startedAt: now, count: 1 });
      return true;
    }
    current.count++;
    return current.count <= TLS_ASKS_PER_WINDOW;
  };
}

export function registerDomainRoutes(api: Api, deps: Pick<ApiDependencies, 'tenants' | 'domains' | 'tlsAsk'>): void {
  const tags = ['domains'];
  const { tenants, domains } = deps;

  api.get(
    '/tenants/:name/domains',
    routeOptions('user', {
      summary: "The tenant's custom domains, with the DNS records to set and the state of their verification",
      tags,
      params: z.object({ name: tenantName }).strict(),
      response: { 200: z.array(domainViewSchema) },
    }),
    async (request) => domains.list(await tenants.visibleRow(principalOf(request), request.params.name)),
  );

  api.post(
    '/tenants/:name/domains',
    routeOptions(
      'user',
      {
        summary: 'Add a custom domain: answers the records to set; it is served once they are found',
        description: 'Checked at once and then every 10 minutes. A domain under the platform domain or a reserved name is refused.',
        tags,
        params: z.object({ name: tenantName }).strict(),
        body: z.object({ domain: domainField }).strict(),
        response: { 201: domainViewSchema },
      },
      'domain.add',
    ),
    async (request, reply) => {
      const tenant = await tenants.visibleRow(principalOf(request), request.params.name);
      const added = await domains.add(tenant, request.body.domain);
      request.auditTarget = { type: 'domain', id: added.domain, accountId: tenant.account_id };
      return reply.code(201).send(added);
    },
  );

  api.post(
    '/tenants/:name/domains/:domain/check',
    routeOptions(
      'user',
      { summary: 'Check the DNS records of a custom domain now', tags, params: domainParams, response: { 200: domainViewSchema } },
      'domain.check',
    ),
    async (request) => domains.checkNow(await tenants.visibleRow(principalOf(request), request.params.name), request.params.domain),
  );

  api.put(
    '/tenants/:name/primary-domain',
    routeOptions(
      'user',
      {
        summary: "Make a verified custom domain the tenant's primary (null: none): Odoo's base URL follows, the subdomain redirects there",
        tags,
        params: z.object({ name: tenantName }).strict(),
        body: z.object({ domain: domainField.nullable() }).strict(),
        response: { 200: z.array(domainViewSchema) },
      },
      'domain.primary',
    ),
    async (request) => {
      const tenant = await tenants.visibleRow(principalOf(request), request.params.name);
      const current = (await domains.list(tenant)).find((d) => d.primary);
      if (request.body.domain) await domains.setPrimary(tenant, request.body.domain, true);
      else if (current) await domains.setPrimary(tenant, current.domain, false);
      return domains.list(tenant);
    },
  );

  api.delete(
    '/tenants/:name/domains/:domain',
    routeOptions('user', { summary: 'Remove a custom domain: it stops being served at once', tags, params: domainParams }, 'domain.remove'),
    async (request, reply) => {
      const tenant = await tenants.visibleRow(principalOf(request), request.params.name);
      await domains.remove(tenant, request.params.domain);
      request.auditTarget = { type: 'domain', id: request.params.domain, accountId: tenant.account_id };
      return reply.code(204).send();
    },
  );

  api.get(
    '/domains',
    routeOptions('operator', {
      summary: 'Every custom domain of every tenant, with its verification state',
      tags,
      querystring: paginationQuery,
      response: { 200: z.array(domainViewSchema) },
    }),
    async (request) => domains.listAll(request.query),
  );

  const allowAsk = createAskLimiter();
  api.get(
    '/tls/ask',
    routeOptions('public', {
      summary: "For an on-demand-TLS edge (Caddy's on_demand_tls ask): 200 when the platform serves this name, else 404",
      description: 'Served from memory; rate-limited per caller (429 with Retry-After).',
      tags,
      // Optional in the schema so that an unknown parameter is named first; a missing name is refused below.
      querystring: z.object({ domain: z.string().min(1).max(253).optional().describe('the name a certificate is wanted for') }).strict(),
      response: { 200: z.object({ domain: z.string(), serve: z.literal(true) }) },
    }),
    async (request) => {
      const { domain } = request.query;
      if (domain === undefined)
        throw new ValidationError('Name the host a certificate is wanted for: ?domain=<name>.', { field: 'query.domain' });
      if (!allowAsk(request.ip)) throw new RateLimitError('Too many certificate asks: slow down.', 1);
      if (!deps.tlsAsk(domain)) throw new NotFoundError(`A site named ${domain}`, { field: 'query.domain' });
      return { domain, serve: true as const };
    },
  );
}
