import type { Config } from './config/index.js';
import type { Db } from './db/index.js';
import {
  createDnsLookup,
  createDomainService,
  createDomainTable,
  createHttpProofResponder,
  type DomainService,
  type DomainTable,
  domainProofs,
} from './domains/index.js';
import type { DomainEventBus } from './events/index.js';
import { type CustomDomainResolver, mayIssueCertificate, type RouteResolver } from './gateway/index.js';
import type { JobQueue } from './jobs/index.js';
import type { Logger } from './logging/index.js';
import type { DatabaseServerRegistry } from './postgres/index.js';

/**
 * Composition of custom domains: the service and its jobs, this replica's table of routed
 * domains (read by the gateway and the TLS ask), and the answer to HTTP proof requests, which
 * arrive on tenant hosts and are served before the gateway.
 */
export async function startDomains(deps: {
  config: Config;
  db: Db;
  jobs: JobQueue;
  servers: DatabaseServerRegistry;
  domainEvents: DomainEventBus;
  urls: { hostName: (name: string) => string; baseUrl: (name: string) => string };
  logger: Logger;
}): Promise<{ domains: DomainService; domainTable: DomainTable; answerHttpProof: ReturnType<typeof createHttpProofResponder> }> {
  const { config, db, domainEvents } = deps;
  const domains = createDomainService({
    db,
    jobs: deps.jobs,
    servers: deps.servers,
    lookup: createDnsLookup(config.dnsResolvers),
    ...domainProofs(config),
    baseDomain: config.baseDomain,
    edgeAddresses: config.edgeAddresses,
    graceMs: config.domainGraceHours * 3600_000,
    tenantHostName: deps.urls.hostName,
    tenantBaseUrl: deps.urls.baseUrl,
    publicScheme: new URL(config.publicUrl).protocol,
    deliverEvents: () => domainEvents.deliver(),
    logger: deps.logger,
  });
  await domains.registerJobs(config.runWorkers);
  const domainTable = await createDomainTable({ db, events: domainEvents });
  return { domains, domainTable, answerHttpProof: createHttpProofResponder(db) };
}

/** The TLS edge's question "may a certificate be issued for this name?": platform hosts, tenants, their domains. */
export function tlsAskFor(
  config: Pick<Config, 'baseDomain' | 'publicUrl'>,
  resolveRoute: RouteResolver,
  resolveCustomDomain: CustomDomainResolver,
): (domain: string) => boolean {
  const platformHosts = [config.baseDomain, `app.${config.baseDomain}`, new URL(config.publicUrl).hostname].map((h) => h.toLowerCase());
  return (domain) => mayIssueCertificate(domain, { baseDomain: config.baseDomain, resolveRoute, resolveCustomDomain, platformHosts });
}
