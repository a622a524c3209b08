import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import fastifyCookie from '@fastify/cookie';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { AccountService } from '../accounts/index.js';
import type { AuditLog } from '../audit/index.js';
import type { AuthService } from '../auth/index.js';
import type { BackupService } from '../backups/index.js';
import type { BillingReads, BuiltinBilling } from '../billing/index.js';
import type { Config } from '../config/index.js';
import type { DomainService } from '../domains/index.js';
import { AuthenticationError, ForbiddenError } from '../errors/index.js';
import type { DomainEventSubscriptions } from '../events/index.js';
import { writeRawResponse } from '../gateway/index.js';
import type { HibernationView } from '../hibernation/index.js';
import type { IdentityService } from '../identity/index.js';
import type { JobQueue } from '../jobs/index.js';
import { type Logger, loggerOptions } from '../logging/index.js';
import type { Metrics } from '../metrics/index.js';
import type { MigrationService } from '../migration/index.js';
import type { NotificationService } from '../notifications/index.js';
import type { PlanService } from '../plans/index.js';
import type { DatabaseServerRegistry } from '../postgres/index.js';
import type { PoolReport } from '../provisioning/index.js';
import { DEFAULT_IMPORT_MAX_BYTES, type RestoreService } from '../restores/index.js';
import type { RuntimeRegistry } from '../runtimes/index.js';
import type { TemplateService } from '../templates/index.js';
import type { TenantService } from '../tenants/index.js';
import type { UsageService } from '../usage/index.js';
import type { WebhookService } from '../webhooks/index.js';
import { installErrorHandling, sendProblem } from './errors.js';
import { withoutUnusedComponents } from './openapi-components.js';
import type { Api } from './route.js';
import { registerAccountRoutes } from './routes/accounts.js';
import { registerApiKeyRoutes } from './routes/api-keys.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerAuthRoutes } from './routes/auth.js';
import { registerBackupRoutes } from './routes/backups.js';
import { registerBillingRoutes } from './routes/billing.js';
import { registerDatabaseServerRoutes } from './routes/database-servers.js';
import { registerDomainRoutes } from './routes/domains.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerIdentityRoutes } from './routes/identity.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerMigrationRoutes } from './routes/migrations.js';
import { registerNotificationRoutes } from './routes/notifications.js';
import { type PlatformOdooPort, registerOdooRoutes } from './routes/odoo.js';
import { registerPlanRoutes } from './routes/plans.js';
import { registerPoolRoutes } from './routes/pools.js';
import { registerImportRoutes, registerRestoreRoutes } from './routes/restores.js';
import { registerTemplateRoutes } from './routes/templates.js';
import { registerTenantRoutes } from './routes/tenants.js';
import { registerUsageRoutes } from './routes/usage.js';
import { registerWebhookRoutes } from './routes/webhooks.js';
import { registerStaticRoutes } from './static.js';
import { endAllEventStreams } from './tenant-events-stream.js';
import { installTextGuard, storableText } from './text-guard.js';

export const SESSION_COOKIE = 'saas_session';

export interface ApiDependencies {
  config: Pick<Config, 'bodyLimitBytes' | 'logLevel' | 'trustProxy' | 'sessionTtlDays' | 'publicUrl' | 'metricsToken'> &
    /** `backups.importMaxBytes`: the largest Odoo zip an import accepts (BACKUP_IMPORT_MAX_BYTES). */
    Partial<Pick<Config, 'backups'>>;
  logger?: Logger;
  auth: AuthService;
  /** Second factor, external issuers; resolves every request's caller. */
  identity: IdentityService;
  plans: PlanService;
  accounts: AccountService;
  notifications: Pick<NotificationService, 'list' | 'resend'>;
  webhooks: WebhookService;
  audit: AuditLog;
  metrics: Metrics;
  tenants: TenantService;
  /** The Odoo pools, for operators (provisioning/poolReports). */
  poolReports: () => Promise<PoolReport[]>;
  /** Billing: the provider (changes) and its reads (views, PDFs, the overview). */
  billing: { provider: BuiltinBilling; reads: BillingReads };
  tenantUsage: (tenantId: string) => Promise<{ odooUsers: number | null; databaseBytes: number | null; filestoreBytes: number }>;
  /** Whether the tenant's Odoo is hibernated, its last wake, its plan's idle minutes (hibernation/). */
  tenantHibernation: (tenant: { id: string; plan_code: string }) => Promise<HibernationView>;
  /** Usage series, limit standings and the operator's overview (usage/). */
  usage: UsageService;
  templates: TemplateService;
  /** Odoo installations and whether instances can be created (odoo-wiring.ts). */
  odoo: PlatformOdooPort;
  servers: DatabaseServerRegistry;
  jobs: JobQueue;
  backups: BackupService;
  /** Restores of backups and imports of Odoo zips. */
  restores: RestoreService;
  /** Migrations between servers, drains and live plan changes. */
  migrations: MigrationService;
  runtimes: RuntimeRegistry;
  /** Domain events (tenant changes), for the live event streams. */
  domainEvents: DomainEventSubscriptions;
  /** Custom domains of tenants. */
  domains: DomainService;
  /** Whether an on-demand-TLS edge may get a certificate for a name (gateway/tls-ask.ts). */
  tlsAsk: (domain: string) => boolean;
  /** Tenant traffic on the API's own port: requests for tenant hosts go to the gateway. */
  gateway?: SharedPortGateway | undefined;
  readiness: () => Promise<{ ready: boolean; checks: Record<string, string> }>;
}

/** What the API server needs from the gateway to share its port. */
export interface SharedPortGateway {
  /** True when the request is for a tenant (or an unknown) host, not for the platform. */
  claims(req: IncomingMessage): boolean;
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Sent with every answer of the API (JSON, problem+json, errors of every kind): no MIME sniffing,
 * no framing, no referrer. Pages with a policy of their own (dashboard, API reference) keep it.
 */
const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};

function addSecurityHeaders(reply: FastifyReply): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) if (!reply.hasHeader(name)) reply.header(name, value);
}

/**
 * The API reference (swagger-ui): its scripts and styles are files served beside it, but the UI
 * sets inline style attributes; it fetches the OpenAPI document from this origin. Not framable.
 */
const DOCS_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export async function buildApiServer(deps: ApiDependencies): Promise<Api> {
  const gateway = deps.gateway;
  const app = Fastify({
    // With a shared port, tenant hosts never reach Fastify: the gateway takes them first.
    ...(gateway
      ? {
          serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
            const server = createServer((req, res) => (gateway.claims(req) ? gateway.handleRequest(req, res) : handler(req, res)));
            server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
              if (gateway.claims(req)) gateway.handleUpgrade(req, socket, head);
              else
                writeRawResponse(socket, {
                  status: 404,
                  headers: { 'content-length': '0', 'x-content-type-options': 'nosniff' },
                  body: '',
                });
            });
            return server;
          },
        }
      : {}),
    logger: deps.logger ? undefined : loggerOptions(deps.config.logLevel),
    ...(deps.logger ? { loggerInstance: deps.logger as FastifyBaseLogger } : {}),
    bodyLimit: deps.config.bodyLimitBytes,
    trustProxy: deps.config.trustProxy,
    requestIdHeader: false,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    // One log line per request comes from our onResponse hook, with the route and the timing.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { maxParamLength: 200 },
    // Errors raised while routing (before any hook runs) get the same problem+json as the rest.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      // Routing errors are answered before any hook runs, onSend included.
      addSecurityHeaders(reply);
      if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
        return sendProblem(request, reply, 414, 'A path segment is too long.', { field: 'path', code: 'uri_too_long' });
      }
      if (error.code === 'FST_ERR_BAD_URL') {
        return sendProblem(request, reply, 400, 'The URL is not valid (malformed percent-encoding?).', { field: 'path', code: 'bad_url' });
      }
      request.log.error({ err: error }, 'routing error');
      return sendProblem(request, reply, 500, `Something went wrong on our side. Quote request id ${request.id} when you report it.`);
    },
    ajv: { customOptions: { removeAdditional: false } },
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);
  // JSON only: without this, a text/plain body (which a cross-site form can send without a CORS
  // preflight) would be parsed as a string and reach validation instead of getting a 415.
  app.removeContentTypeParser('text/plain');
  installTextGuard(app);
  await app.register(fastifyCookie);

  // Routes added by plugins (the API reference page) declare no access: they are public pages.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/api/v1/docs')) route.config = { ...route.config, access: 'public' };
  });
  // Event streams never end by themselves: end them so closing the server does not wait forever.
  app.addHook('preClose', async () => endAllEventStreams());
  app.decorateRequest('principal', undefined);
  app.decorateRequest('auditTarget', undefined);

  app.addHook('onSend', async (request, reply, payload) => {
    addSecurityHeaders(reply);
    // Written before the answer leaves, so a caller that reads the audit log next finds the entry.
    if (UNSAFE_METHODS.has(request.method) && request.routeOptions.url) await recordAudit(deps.audit, request, reply.statusCode);
    return payload;
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    await authenticateRequest(deps.identity, request);
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    deps.metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    const level = reply.statusCode >= 500 ? 'error' : 'info';
    request.log[level]({ method: request.method, url: route, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Odoo SaaS platform API',
        version: '1.0.0',
        description:
          'Manage accounts, plans and Odoo tenants. Authenticate with `Authorization: Bearer <access token or API key>`. ' +
          'Errors are `application/problem+json` with the offending `field`. Each operation states who may call it in `x-access` ' +
          '(`public`, `user`: any logged-in user, limited to their own account; `operator`).',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'Access token from /auth/login, or an API key (sk_...)' },
          sessionCookie: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
        },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: (document) => withoutUnusedComponents(jsonSchemaTransformObject(document)),
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/api/v1/docs',
    // No validator badge: it would send the document's address to validator.swagger.io.
    uiConfig: { docExpansion: 'list', validatorUrl: null },
    staticCSP: DOCS_CONTENT_SECURITY_POLICY,
  });

  registerHealthRoutes(app, deps);
  await app.register(
    async (v1) => {
      const api = v1.withTypeProvider<ZodTypeProvider>();
      api.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());
      registerAuthRoutes(api, deps);
      registerIdentityRoutes(api, deps);
      registerApiKeyRoutes(api, deps);
      registerPlanRoutes(api, deps);
      registerAccountRoutes(api, deps);
      registerAuditRoutes(api, deps);
      registerTenantRoutes(api, deps);
      registerUsageRoutes(api, deps);
      registerBackupRoutes(api, deps);
      registerRestoreRoutes(api, deps);
      registerMigrationRoutes(api, deps);
      registerImportRoutes(api, { ...deps, importMaxBytes: deps.config.backups?.importMaxBytes ?? DEFAULT_IMPORT_MAX_BYTES });
      registerDomainRoutes(api, deps);
      registerTemplateRoutes(api, deps);
      registerOdooRoutes(api, deps);
      registerDatabaseServerRoutes(api, deps);
      registerJobRoutes(api, deps);
      registerPoolRoutes(api, deps);
      registerBillingRoutes(api, deps);
      registerNotificationRoutes(api, deps);
      registerWebhookRoutes(api, deps);
    },
    { prefix: '/api/v1' },
  );
  // The dashboard (web/dist) at / with SPA fallback; API paths keep their problem+json 404s.
  registerStaticRoutes(app, { maxParamLength: 200 });
  return app;
}

/**
 * Resolves the caller and enforces the route's declared access before the body is even parsed,
 * so an anonymous caller learns nothing from validation errors.
 */
async function authenticateRequest(identity: IdentityService, request: FastifyRequest): Promise<void> {
  const access = request.routeOptions.config.access ?? (request.routeOptions.url ? 'operator' : 'public');
  // Public writes (register, login, refresh, logout, password reset, email verification) are made
  // by someone without credentials yet: a token or session riding along is not read at all, so
  // its owner never becomes the call's actor in the audit log, nor can a stale one make it fail.
  if (request.routeOptions.config.ownCredentials || (access === 'public' && UNSAFE_METHODS.has(request.method))) return;
  const header = request.headers.authorization;
  let bearer: string | undefined;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new AuthenticationError('Malformed Authorization header: expected "Bearer <token>".');
    bearer = match[1];
  }
  const sessionToken = bearer ? undefined : request.cookies[SESSION_COOKIE];
  if (access === 'public' && !bearer && !sessionToken) return;
  request.principal = await identity.authenticate({ bearer, sessionToken, ip: request.ip }).catch((error: unknown) => {
    if (access === 'public' && !bearer) return undefined;
    throw error;
  });
  if (access === 'public') return;
  if (!request.principal) throw new AuthenticationError();
  if (access === 'operator' && request.principal.role !== 'operator') throw new ForbiddenError('Only operators may do this.');
  if (request.principal.via === 'session' && UNSAFE_METHODS.has(request.method)) assertSameOrigin(request);
}

/** Cookie-authenticated changes must come from our own pages (CSRF defence besides SameSite). */
function assertSameOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  const host = request.headers.host;
  let originHost: string | undefined;
  try {
    originHost = new URL(origin).host;
  } catch {
    originHost = undefined;
  }
  if (!host || originHost !== host) throw new ForbiddenError('Cross-site request refused: use a bearer token from other origins.');
}

async function recordAudit(audit: AuditLog, request: FastifyRequest, statusCode: number): Promise<void> {
  const principal = request.principal;
  const params = (request.params ?? {}) as Record<string, unknown>;
  const [firstParamName, firstParamValue] = Object.entries(params)[0] ?? [];
  const target = request.auditTarget;
  try {
    await audit.record({
      actorType: principal ? (principal.via === 'api_key' ? 'api_key' : 'user') : 'anonymous',
      actorUserId: principal?.userId ?? null,
      actorLabel: principal?.email ?? null,
      accountId: target?.accountId ?? principal?.accountId ?? null,
      action: request.routeOptions.config.auditAction ?? `${request.method} ${request.routeOptions.url}`,
      targetType: target?.type ?? (firstParamName ? firstParamName : null),
      targetId: target?.id ?? (firstParamValue === undefined ? null : storableText(String(firstParamValue).slice(0, 200))),
      outcome: statusCode < 400 ? 'success' : 'failure',
      statusCode,
      requestId: String(request.id),
      ip: request.ip,
    });
  } catch (error) {
    request.log.error({ err: error }, 'could not write the audit log entry');
  }
}

export { sendProblem };
