import { z } from 'zod';
import { type IssuerConfig, issuersSetting } from './issuers.js';

const port = z.coerce.number().int().min(1).max(65_535);
const positiveInt = z.coerce.number().int().positive();

/** The Odoo series the platform installs and runs (odoo-installs/). */
export const ODOO_SERIES = ['16.0', '17.0', '18.0'] as const;
export type OdooSeries = (typeof ODOO_SERIES)[number];
const sha256 = z
  .string()
  .regex(/^[0-9a-f]{64}$/i, 'must be a SHA-256 in hex (64 characters)')
  .transform((v) => v.toLowerCase());
const onOff = z
  .enum(['true', 'false'])
  .default('true')
  .transform((v) => v === 'true');

/** Every setting of the platform, by its environment variable name. */
export const configSchema = z
  .object({
    DATA_DIR: z.string().min(1).default('./data'),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
    HOST: z.string().min(1).default('0.0.0.0'),
    PORT: port.default(8080),
    BASE_DOMAIN: z
      .string()
      .regex(
        /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i,
        'must be a domain name such as example.com',
      )
      .default('lvh.me'),
    PUBLIC_URL: z.url().optional(),
    SECRET_KEY: z.string().min(32, 'must be at least 32 characters (e.g. `openssl rand -base64 48`)').optional(),
    SECRET_KEY_PREVIOUS: z.string().optional(),
    SMTP_URL: z
      .string()
      .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
      .optional(),
    MAIL_FROM: z.string().min(3).default('Odoo SaaS <no-reply@localhost>'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    ACCESS_TOKEN_TTL_SECONDS: positiveInt.default(900),
    REFRESH_TOKEN_TTL_DAYS: positiveInt.default(30),
    SESSION_TTL_DAYS: positiveInt.default(7),
    LOGIN_RATE_LIMIT_PER_MINUTE: positiveInt.default(5),
    TENANT_CREATE_RATE_LIMIT_PER_HOUR: z.coerce.number().int().min(0).max(100_000).default(10),
    PASSWORD_RESET_TTL_MINUTES: positiveInt.default(60),
    BODY_LIMIT_BYTES: positiveInt.default(64 * 1024),
    GATEWAY_PORT: port.optional(),
    TENANT_DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL of an admin role')
      .optional(),
    ODOO_BIN: z.string().min(1).optional(),
    ODOO_ADDONS_PATH: z.string().optional(),
    /** The series `npm start` installs when no Odoo is found, and templates use unless they name one. */
    ODOO_SERIES: z.enum(ODOO_SERIES).default('17.0'),
    /** Where `saasctl odoo install <series>` fetches the source archive (default: Odoo's nightly). */
    ODOO_SOURCE_URL_16: z.url().optional(),
    ODOO_SOURCE_URL_17: z.url().optional(),
    ODOO_SOURCE_URL_18: z.url().optional(),
    /** The archive's SHA-256, checked when set (Odoo publishes none for its nightly "latest" archives). */
    ODOO_SOURCE_SHA256_16: sha256.optional(),
    ODOO_SOURCE_SHA256_17: sha256.optional(),
    ODOO_SOURCE_SHA256_18: sha256.optional(),
    /** pip's --index-url for Odoo's requirements (default: pip's own configuration). */
    ODOO_PIP_INDEX_URL: z.url().optional(),
    /** A source download that receives nothing for this long is abandoned (a stalled mirror). */
    ODOO_DOWNLOAD_IDLE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
    /** The Python that makes each installation's virtual environment. */
    ODOO_PYTHON: z.string().min(1).default('python3'),
    /** `serve` installs ODOO_SERIES at start when no Odoo is installed (and the network allows it). */
    ODOO_AUTO_INSTALL: onOff,
    RUN_WORKERS: z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true'),
    SPARE_DATABASES: z.coerce.number().int().min(0).max(50).default(2),
    /** Odoo's db_maxconn of each pool process / dedicated process (the connection budget's unit). */
    ODOO_POOL_DB_MAXCONN: z.coerce.number().int().min(2).max(1000).default(16),
    ODOO_DEDICATED_DB_MAXCONN: z.coerce.number().int().min(2).max(1000).default(16),
    /** Tenants' registries each pool worker keeps (runtimes/process: saas_pool_memory). */
    ODOO_POOL_REGISTRY_CACHE: z.coerce.number().int().min(1).max(1000).optional(),
    /** Resident MiB past which a pool worker is replaced after its request; 0 = never. */
    ODOO_POOL_WORKER_RECYCLE_MIB: z.coerce.number().int().min(0).max(65536).optional(),
    /** Web workers of a pool's Odoo: the most it grows to under load (docs/operations/tenants.md). */
    ODOO_POOL_WORKERS: z.coerce.number().int().min(1).max(64).default(2),
    /** Web workers a pool keeps when idle; unset: ODOO_POOL_WORKERS (a fixed count, no sizing by load). */
    ODOO_POOL_WORKERS_MIN: z.coerce.number().int().min(1).max(64).optional(),
    /** Seconds a pool worker must have been idle all along before it is removed. */
    ODOO_POOL_SCALE_DOWN_AFTER_S: z.coerce.number().int().min(1).max(86400).default(120),
    /** The docker runtime (docs/operations/docker.md): plans with `runtime: docker` run their tenants in containers. */
    DOCKER_RUNTIME: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true'),
    /** The image of a series: `{series}` is e.g. 17.0, `{major}` 17. The official image by default. */
    DOCKER_ODOO_IMAGE: z
      .string()
      .regex(/^[a-z0-9][a-zA-Z0-9_./:@{}-]*$/, 'must be an image reference such as odoo:{major} or registry.example.com/odoo:{series}')
      .default('odoo:{major}'),
    /** Tells this platform's containers apart from another platform's on the same engine. */
    DOCKER_INSTANCE: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_.-]{0,39}$/, 'must be lowercase letters, digits, _ . - (at most 40)')
      .default('saas'),
    /** How containers reach a database server listening on loopback (default: the host's address on the tenant's network). */
    DOCKER_DATABASE_HOST: z.string().min(1).optional(),
    /** The containers' health check, run by the engine inside the container (a shell command). */
    DOCKER_HEALTH_CHECK: z.string().min(1).default('curl -fsS -o /dev/null http://127.0.0.1:8069/web/health'),
    TEMPLATES_AUTOBUILD: z
      .string()
      .regex(/^[a-z0-9_,]*$/, 'must be a comma-separated list of template codes')
      .default('blank'),
    BACKUP_STORAGE: z.enum(['local', 's3']).default('local'),
    BACKUP_LOCAL_DIR: z.string().min(1).optional(),
    BACKUP_S3_BUCKET: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name')
      .optional(),
    BACKUP_S3_PREFIX: z
      .string()
      .regex(/^([A-Za-z0-9!_.*'()-]+\/)*$/, 'must be empty or end with / (e.g. backups/)')
      .default(''),
    BACKUP_S3_ENDPOINT: z.url().optional(),
    BACKUP_S3_REGION: z.string().min(1).default('us-east-1'),
    BACKUP_S3_FORCE_PATH_STYLE: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true'),
    BACKUP_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
    /** Sealed with the secret box (`saasctl secret seal`) in a config file; plain only from the environment. */
    BACKUP_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
    BACKUP_SCHEDULE_HOUR: z.coerce.number().int().min(0).max(23).default(2),
    BACKUP_TIME_ZONE: z
      .string()
      .refine((zone) => {
        try {
          new Intl.DateTimeFormat('en', { timeZone: zone });
          return true;
        } catch {
          return false;
        }
      }, 'must be an IANA time zone such as Europe/Brussels')
      .default('UTC'),
    BACKUP_DOWNLOAD_LINK_TTL_SECONDS: z.coerce.number().int().min(30).max(86_400).default(900),
    /** Largest Odoo zip an import accepts (its own limit: the API's body limit is for JSON). */
    BACKUP_IMPORT_MAX_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .default(20 * 1024 ** 3),
    WEBHOOK_ALLOWED_NETWORKS: z
      .string()
      .regex(
        /^\s*([0-9a-fA-F:.]+(\/\d{1,3})?\s*(,\s*[0-9a-fA-F:.]+(\/\d{1,3})?\s*)*)?$/,
        'must be a comma-separated list of networks such as 10.0.0.0/8,fd00::/8',
      )
      .default(''),
    WEBHOOK_DISABLE_AFTER_FAILURES: z.coerce.number().int().min(1).max(10_000).default(30),
    WEBHOOK_RETRY_BASE_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
    /** A kubeconfig file: set, plans placed on `runtime: kubernetes` run in that cluster (docs/kubernetes.md). */
    KUBERNETES_KUBECONFIG: z.string().min(1).optional(),
    KUBERNETES_ODOO_IMAGE: z.string().min(1).default('odoo:17'),
    KUBERNETES_INGRESS_CLASS: z.string().min(1).default('traefik'),
    KUBERNETES_INGRESS_NAMESPACE: z.string().min(1).default('traefik'),
    /** The ingress controller's in-cluster address (host:port): where the gateway sends tenant traffic. */
    KUBERNETES_INGRESS_UPSTREAM: z
      .string()
      .regex(/^[a-z0-9.-]+:\d{1,5}$/i, 'must be host:port such as traefik.traefik.svc.cluster.local:80')
      .default('traefik.traefik.svc.cluster.local:80'),
    /** Test-only fault injection: exit right after this provisioning step. */
    SAAS_TEST_CRASH_AFTER_STEP: z.string().optional(),
    /** Test-only fault injection: exit at this point of a backup (backup:uploading, backup:stored). */
    SAAS_TEST_CRASH_AT: z.string().optional(),
    /** Test-only fault injection: fail at this point (migration:verify logs in with a wrong password). */
    SAAS_TEST_FAIL_AT: z.string().optional(),
    /** How long a migrated tenant's source database is kept before it is dropped. */
    MIGRATION_SOURCE_GRACE_HOURS: z.coerce
      .number()
      .min(0)
      .max(24 * 365)
      .default(24),
    METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters (e.g. `openssl rand -hex 32`)').optional(),
    /** `host:port` of an internal listener serving only `/metrics`, without a token (port 0: any free port). */
    METRICS_ADDRESS: z
      .string()
      .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:9464 or [::1]:9464')
      .refine((value) => Number(value.slice(value.lastIndexOf(':') + 1)) <= 65_535, 'the port must be at most 65535')
      .optional(),
    /** Tenants that get their own label in per-tenant metrics; the rest share `other`. */
    METRICS_TENANT_LABEL_LIMIT: z.coerce.number().int().min(0).max(100_000).default(1000),
    /** Name servers custom domains are checked against (`ip` or `ip:port`, comma-separated); unset: the system's. */
    DNS_RESOLVERS: z
      .string()
      .regex(/^[0-9a-fA-F:.,[\] ]*$/, 'must be a comma-separated list of ip or ip:port')
      .optional(),
    /** The edge's public addresses, which apex custom domains point A/AAAA records at (comma-separated). */
    EDGE_ADDRESSES: z
      .string()
      .regex(/^[0-9a-fA-F:., ]*$/, 'must be a comma-separated list of IP addresses')
      .default(''),
    /** How long a verified custom domain that stopped pointing here stays routed before it is unrouted. */
    DOMAIN_GRACE_HOURS: z.coerce
      .number()
      .min(0)
      .max(24 * 90)
      .default(72),
    /** The port the HTTP proof of custom domains is asked on (the edge's plain HTTP port); 0: no HTTP proof, TXT only. */
    DOMAIN_HTTP_PROOF_PORT: z.coerce.number().int().min(0).max(65535).default(80),
    /** Private networks the HTTP proof may be asked in (CIDRs): an edge on an internal address, loopback in tests. */
    DOMAIN_HTTP_PROOF_NETWORKS: z
      .string()
      .regex(/^[0-9a-fA-F:.,/ ]*$/, 'must be a comma-separated list of networks such as 10.0.0.0/8')
      .default(''),
    /** Where the TLS edge listens (`host:port`), to check the certificate it presents for each custom domain. */
    EDGE_TLS_ADDRESS: z
      .string()
      .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be host:port (an IPv6 address in brackets)')
      .optional(),
    /** How long the gateway holds a request to a hibernated tenant before answering "starting". */
    HIBERNATION_WAKE_HOLD_SECONDS: z.coerce.number().min(0).max(120).default(15),
    /** Wakes of hibernated tenants one host runs at once; more wait in line, first come first served. */
    HIBERNATION_MAX_CONCURRENT_WAKES: z.coerce.number().int().min(1).max(64).default(2),
    /** A wake whose Odoo is not healthy after this fails (and its process is stopped again). */
    HIBERNATION_WAKE_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(60),
    TRUST_PROXY: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true'),
    /** JSON array of external identity providers (docs/operations/identity.md). */
    OIDC_ISSUERS: issuersSetting.optional(),
    /** A JSON file holding that array instead (OIDC_ISSUERS wins). */
    OIDC_ISSUERS_FILE: z.string().min(1).optional(),
    /** Operators must use a second factor; unset: on when NODE_ENV=production. */
    REQUIRE_OPERATOR_2FA: z.enum(['true', 'false']).optional(),
    NODE_ENV: z.string().optional(),
    /** Where subscriptions and invoices live: the platform's own database, or a Kill Bill server. */
    BILLING_PROVIDER: z.enum(['builtin', 'killbill']).default('builtin'),
    /** How invoices are paid: `manual` (operators mark them paid), `stripe` or `paystack`. */
    BILLING_GATEWAY: z.enum(['manual', 'stripe', 'paystack']).default('manual'),
    STRIPE_SECRET_KEY: z
      .string()
      .regex(/^(sk|rk)_(test|live)_/, 'must be a Stripe secret key (sk_test_..., sk_live_...)')
      .optional(),
    STRIPE_WEBHOOK_SECRET: z
      .string()
      .regex(/^whsec_/, 'must be the webhook signing secret (whsec_...)')
      .optional(),
    /** Another Stripe API base (stripe-mock in tests). */
    STRIPE_API_URL: z.url().optional(),
    /** Paystack's secret key: it calls the API and signs the webhooks (Paystack has no separate webhook secret). */
    PAYSTACK_SECRET_KEY: z
      .string()
      .regex(/^sk_(test|live)_/, 'must be a Paystack secret key (sk_test_..., sk_live_...)')
      .optional(),
    /** Another Paystack API base (the loopback server in tests). */
    PAYSTACK_API_URL: z.url().optional(),
    /** Kill Bill (BILLING_PROVIDER=killbill): its base URL, e.g. http://killbill:8080. */
    KILLBILL_URL: z.url().optional(),
    /** The Kill Bill user the platform calls as (basic auth). */
    KILLBILL_USERNAME: z.string().min(1).optional(),
    KILLBILL_PASSWORD: z.string().min(1).optional(),
    /** The Kill Bill tenant's API key and secret (X-Killbill-ApiKey / X-Killbill-ApiSecret). */
    KILLBILL_API_KEY: z.string().min(1).optional(),
    KILLBILL_API_SECRET: z.string().min(1).optional(),
    /** The payment plugin of new Kill Bill accounts' default payment method; unset: Kill Bill invoices, nothing charges. */
    KILLBILL_PAYMENT_PLUGIN: z.string().min(1).max(100).optional(),
    /** The seller printed on invoices. */
    BILLING_SELLER_NAME: z.string().trim().min(1).max(200).default('Odoo SaaS'),
  })
  .strip()
  .superRefine((env, context) => {
    if (env.ODOO_POOL_WORKERS_MIN !== undefined && env.ODOO_POOL_WORKERS_MIN > env.ODOO_POOL_WORKERS)
      context.addIssue({
        code: 'custom',
        path: ['ODOO_POOL_WORKERS_MIN'],
        message: `must be at most ODOO_POOL_WORKERS (${env.ODOO_POOL_WORKERS}), the most a pool grows to`,
      });
    const required = { manual: [], stripe: ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET'], paystack: ['PAYSTACK_SECRET_KEY'] } as const;
    for (const variable of required[env.BILLING_GATEWAY])
      if (!env[variable])
        context.addIssue({ code: 'custom', path: [variable], message: `is required with BILLING_GATEWAY=${env.BILLING_GATEWAY}` });
    if (env.BILLING_PROVIDER === 'killbill') {
      for (const variable of ['KILLBILL_URL', 'KILLBILL_USERNAME', 'KILLBILL_PASSWORD', 'KILLBILL_API_KEY', 'KILLBILL_API_SECRET'] as const)
        if (!env[variable]) context.addIssue({ code: 'custom', path: [variable], message: 'is required with BILLING_PROVIDER=killbill' });
      if (env.BILLING_GATEWAY !== 'manual')
        context.addIssue({
          code: 'custom',
          path: ['BILLING_GATEWAY'],
          message: 'must be manual with BILLING_PROVIDER=killbill: Kill Bill collects payments through its own payment plugins',
        });
    }
  });

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedEnv = z.output<typeof configSchema>;

export interface Config {
  dataDir: string;
  databaseUrl: string | undefined;
  host: string;
  port: number;
  baseDomain: string;
  publicUrl: string;
  secretKey: string | undefined;
  previousSecretKeys: string[];
  smtpUrl: string | undefined;
  mailFrom: string;
  logLevel: ParsedEnv['LOG_LEVEL'];
  accessTokenTtlSeconds: number;
  refreshTokenTtlDays: number;
  sessionTtlDays: number;
  loginRateLimitPerMinute: number;
  /** Tenants (staging copies included) one account may create per hour; 0: no limit. Operators are exempt. */
  tenantCreateRateLimitPerHour: number;
  passwordResetTtlMinutes: number;
  bodyLimitBytes: number;
  trustProxy: boolean;
  billingProvider: 'builtin' | 'killbill';
  billingSellerName: string;
  billingGateway: 'manual' | 'stripe' | 'paystack';
  stripe: { secretKey: string; webhookSecret: string; apiUrl: string | undefined } | undefined;
  paystack: { secretKey: string; apiUrl: string | undefined } | undefined;
  /** Kill Bill's URL and credentials (BILLING_PROVIDER=killbill); from the environment only, never logged. */
  killbill:
    | { url: string; username: string; password: string; apiKey: string; apiSecret: string; paymentPlugin: string | undefined }
    | undefined;
  /** Bearer token Prometheus sends for `/metrics`; unset: `/metrics` answers 404. */
  metricsToken: string | undefined;
  /** Internal listener for `/metrics` without a token; unset: none. */
  metricsAddress: { host: string; port: number } | undefined;
  metricsTenantLabelLimit: number;
  /** Tenant traffic on its own listener; unset: the gateway shares the API port. */
  gatewayPort: number | undefined;
  /** Admin URL of the default shared tenant server; the embedded cluster when unset. */
  tenantDatabaseUrl: string | undefined;
  odooBin: string | undefined;
  odooAddonsPath: string[] | undefined;
  /** Odoo installations (odoo-installs/): the default series and where each series comes from. */
  odooInstall: OdooInstallConfig;
  /** Run job workers in this process (false: an API-only replica). */
  runWorkers: boolean;
  /** Pre-made copies of each ready template per shared server (provisioning/spares.ts). */
  spareDatabases: number;
  /** Odoo's db_maxconn per process (runtimes/process/connection-budget.ts). */
  odooDbMaxconn: { pool: number; dedicated: number };
  /** What a pool's workers keep in memory (docs/operations/pools.md). */
  odooPoolMemory: { registryCacheSize: number | undefined; workerRecycleMiB: number | undefined };
  /** A pool's web workers: `min` when idle, up to `max` under load (equal: a fixed count). */
  odooPoolWorkers: { min: number; max: number; scaleDownAfterMs: number };
  /** Templates built on the default server at start when not built yet. */
  templatesAutobuild: string[];
  crashAfterStep: string | undefined;
  /** External identity providers whose tokens are accepted (empty: none). */
  identityIssuers: IssuerConfig[];
  /** Operators log in with a second factor (TOTP); on by default in production mode. */
  requireOperator2fa: boolean;
  crashAt: string | undefined;
  failAt: string | undefined;
  /** MIGRATION_SOURCE_GRACE_HOURS in milliseconds. */
  migrationSourceGraceMs: number;
  backups: BackupConfig;
  /** Name servers for custom-domain checks; empty: the system resolver's. */
  dnsResolvers: string[];
  /** The edge's public IPs, for apex custom domains. */
  edgeAddresses: string[];
  /** Hours a verified domain that stopped pointing here stays routed. */
  domainGraceHours: number;
  /** The port of the custom domains' HTTP proof; 0: TXT proof only. */
  domainHttpProofPort: number;
  /** Private networks (CIDRs) the HTTP proof may be asked in. */
  domainHttpProofNetworks: string;
  /** The TLS edge (`host:port`) whose certificates are checked; unset: not checked. */
  edgeTlsAddress: string | undefined;
  hibernation: { wakeHoldMs: number; maxConcurrentWakes: number; wakeTimeoutMs: number };
  /** The docker runtime; undefined: not enabled (docker plans fail saying so). */
  docker: DockerConfig | undefined;
  /** Private networks webhooks may be sent into (CIDRs); empty: public addresses only (SSRF). */
  webhookAllowedNetworks: string;
  /** Failed webhook attempts in a row after which an endpoint is disabled (and its owner mailed). */
  webhookDisableAfterFailures: number;
  /** First webhook retry delay; doubles up to an hour, for 24 h. */
  webhookRetryBaseSeconds: number;
  /** The Kubernetes runtime's cluster and conventions; undefined: no Kubernetes runtime. */
  kubernetes:
    | {
        kubeconfigPath: string;
        image: string;
        ingressClassName: string;
        ingressNamespace: string;
        ingressUpstream: { host: string; port: number };
      }
    | undefined;
}

export interface OdooInstallConfig {
  defaultSeries: OdooSeries;
  sources: Record<OdooSeries, { url: string; sha256: string | undefined }>;
  pipIndexUrl: string | undefined;
  /** Seconds without a byte after which a source download is abandoned. */
  downloadIdleSeconds: number;
  python: string;
  autoInstall: boolean;
}

export interface DockerConfig {
  /** The image reference of each series, `{series}` and `{major}` filled in. */
  imageTemplate: string;
  instance: string;
  databaseHost: string | undefined;
  healthCheck: string;
}

/** Where backups go and when the daily ones run (backups/). */
export interface BackupConfig {
  storage:
    | { kind: 'local'; directory: string }
    | {
        kind: 's3';
        bucket: string;
        prefix: string;
        endpoint: string | undefined;
        region: string;
        forcePathStyle: boolean;
        accessKeyId: string;
        /** As configured: a sealed `v1.` value is opened with the secret box at start. */
        secretAccessKey: string;
      };
  scheduleHour: number;
  timeZone: string;
  downloadLinkTtlSeconds: number;
  importMaxBytes: number;
}

export type { IssuerConfig };
