import { type ApiDependencies, buildApiServer } from './server.js';

/**
 * A dependency no route may use while only the document is built: the routes are registered
 * (their schemas are the document) but never called, so any use is a bug worth a clear error.
 */
function unusedWhileDescribing<T extends object>(name: string): T {
  // The cast is the point: an empty object stands in for a service whose methods are never called.
  return new Proxy({} as T, {
    get(_target, property) {
      throw new Error(`${name}.${String(property)} was used while building the OpenAPI document; routes must not call services then`);
    },
  });
}

/**
 * The OpenAPI document of `/api/v1/openapi.json`, built from the same routes and schemas without
 * a database, a listener or any service: the dashboard's API types are generated from it at build
 * time (scripts/generate-api-types.ts), and a test checks it equals what a running platform serves.
 */
export async function buildOpenApiDocument() {
  const deps: ApiDependencies = {
    config: {
      bodyLimitBytes: 1024,
      logLevel: 'silent',
      trustProxy: false,
      sessionTtlDays: 1,
      publicUrl: 'http://localhost',
      metricsToken: undefined,
    },
    auth: unusedWhileDescribing('auth'),
    identity: unusedWhileDescribing('identity'),
    plans: unusedWhileDescribing('plans'),
    accounts: unusedWhileDescribing('accounts'),
    notifications: unusedWhileDescribing('notifications'),
    webhooks: unusedWhileDescribing('webhooks'),
    audit: unusedWhileDescribing('audit'),
    metrics: unusedWhileDescribing('metrics'),
    tenants: unusedWhileDescribing('tenants'),
    billing: { provider: unusedWhileDescribing('billing.provider'), reads: unusedWhileDescribing('billing.reads') },
    tenantUsage: () => Promise.reject(new Error('tenantUsage was used while building the OpenAPI document')),
    tenantHibernation: () => Promise.reject(new Error('tenantHibernation was used while building the OpenAPI document')),
    poolReports: () => Promise.reject(new Error('poolReports was used while building the OpenAPI document')),
    usage: unusedWhileDescribing('usage'),
    templates: unusedWhileDescribing('templates'),
    odoo: unusedWhileDescribing('odoo'),
    servers: unusedWhileDescribing('servers'),
    jobs: unusedWhileDescribing('jobs'),
    backups: unusedWhileDescribing('backups'),
    restores: unusedWhileDescribing('restores'),
    migrations: unusedWhileDescribing('migrations'),
    runtimes: unusedWhileDescribing('runtimes'),
    domainEvents: unusedWhileDescribing('domainEvents'),
    domains: unusedWhileDescribing('domains'),
    tlsAsk: () => {
      throw new Error('tlsAsk was used while building the OpenAPI document');
    },
    readiness: () => Promise.reject(new Error('readiness was used while building the OpenAPI document')),
  };
  const app = await buildApiServer(deps);
  try {
    await app.ready();
    return app.swagger();
  } finally {
    await app.close();
  }
}
