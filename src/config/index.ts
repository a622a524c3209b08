import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors/index.js';
import { type BackupConfig, type Config, configSchema, type ParsedEnv } from './schema.js';

export type { BackupConfig, Config, DockerConfig, IssuerConfig, OdooInstallConfig, OdooSeries } from './schema.js';
export { ODOO_SERIES } from './schema.js';

/**
 * Builds the one config object from environment variables, optionally layered over a JSON file
 * named by CONFIG_FILE (environment wins). Invalid values stop start-up with a ConfigError that
 * names each offending variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const fromFile = env.CONFIG_FILE ? readConfigFile(env.CONFIG_FILE) : {};
  const merged: Record<string, unknown> = { ...fromFile };
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') merged[key] = value;
  }
  if (merged.OIDC_ISSUERS === undefined && typeof merged.OIDC_ISSUERS_FILE === 'string') {
    merged.OIDC_ISSUERS = readSettingFile(merged.OIDC_ISSUERS_FILE, 'OIDC_ISSUERS_FILE');
  }
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    // Nested settings (an issuer of OIDC_ISSUERS) say where inside: "OIDC_ISSUERS: 0.audience: ...".
    const problems = parsed.error.issues.map((issue) => ({
      variable: String(issue.path[0]),
      message: issue.path.length > 1 ? `${issue.path.slice(1).join('.')}: ${issue.message}` : issue.message,
    }));
    const text = problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n');
    throw new ConfigError(
      `Invalid configuration:\n${text}`,
      problems.map((p) => p.variable),
    );
  }
  const e = parsed.data;
  return {
    dataDir: resolve(e.DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    host: e.HOST,
    port: e.PORT,
    baseDomain: e.BASE_DOMAIN.toLowerCase(),
    publicUrl: e.PUBLIC_URL ?? `http://app.${e.BASE_DOMAIN.toLowerCase()}:${e.PORT}`,
    secretKey: e.SECRET_KEY,
    previousSecretKeys: (e.SECRET_KEY_PREVIOUS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    logLevel: e.LOG_LEVEL,
    accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlDays: e.REFRESH_TOKEN_TTL_DAYS,
    sessionTtlDays: e.SESSION_TTL_DAYS,
    loginRateLimitPerMinute: e.LOGIN_RATE_LIMIT_PER_MINUTE,
    tenantCreateRateLimitPerHour: e.TENANT_CREATE_RATE_LIMIT_PER_HOUR,
    passwordResetTtlMinutes: e.PASSWORD_RESET_TTL_MINUTES,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    trustProxy: e.TRUST_PROXY,
    billingProvider: e.BILLING_PROVIDER,
    billingSellerName: e.BILLING_SELLER_NAME,
    billingGateway: e.BILLING_GATEWAY,
    stripe:
      e.STRIPE_SECRET_KEY && e.STRIPE_WEBHOOK_SECRET
        ? { secretKey: e.STRIPE_SECRET_KEY, webhookSecret: e.STRIPE_WEBHOOK_SECRET, apiUrl: e.STRIPE_API_URL }
        : undefined,
    paystack: e.PAYSTACK_SECRET_KEY ? { secretKey: e.PAYSTACK_SECRET_KEY, apiUrl: e.PAYSTACK_API_URL } : undefined,
    killbill:
      e.BILLING_PROVIDER === 'killbill' &&
      e.KILLBILL_URL &&
      e.KILLBILL_USERNAME &&
      e.KILLBILL_PASSWORD &&
      e.KILLBILL_API_KEY &&
      e.KILLBILL_API_SECRET
        ? {
            url: e.KILLBILL_URL,
            username: e.KILLBILL_USERNAME,
            password: e.KILLBILL_PASSWORD,
            apiKey: e.KILLBILL_API_KEY,
            apiSecret: e.KILLBILL_API_SECRET,
            paymentPlugin: e.KILLBILL_PAYMENT_PLUGIN,
          }
        : undefined,
    metricsToken: e.METRICS_TOKEN,
    metricsAddress: e.METRICS_ADDRESS
      ? {
          host: e.METRICS_ADDRESS.slice(0, e.METRICS_ADDRESS.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1'),
          port: Number(e.METRICS_ADDRESS.slice(e.METRICS_ADDRESS.lastIndexOf(':') + 1)),
        }
      : undefined,
    metricsTenantLabelLimit: e.METRICS_TENANT_LABEL_LIMIT,
    gatewayPort: e.GATEWAY_PORT,
    tenantDatabaseUrl: e.TENANT_DATABASE_URL,
    odooBin: e.ODOO_BIN,
    odooAddonsPath: e.ODOO_ADDONS_PATH
      ? e.ODOO_ADDONS_PATH.split(',')
          .map((p) => p.trim())
          .filter(Boolean)
      : undefined,
    odooInstall: {
      defaultSeries: e.ODOO_SERIES,
      sources: {
        '16.0': { url: e.ODOO_SOURCE_URL_16 ?? nightlyArchive('16.0'), sha256: e.ODOO_SOURCE_SHA256_16 },
        '17.0': { url: e.ODOO_SOURCE_URL_17 ?? nightlyArchive('17.0'), sha256: e.ODOO_SOURCE_SHA256_17 },
        '18.0': { url: e.ODOO_SOURCE_URL_18 ?? nightlyArchive('18.0'), sha256: e.ODOO_SOURCE_SHA256_18 },
      },
      pipIndexUrl: e.ODOO_PIP_INDEX_URL,
      downloadIdleSeconds: e.ODOO_DOWNLOAD_IDLE_SECONDS,
      python: e.ODOO_PYTHON,
      autoInstall: e.ODOO_AUTO_INSTALL,
    },
    runWorkers: e.RUN_WORKERS,
    spareDatabases: e.SPARE_DATABASES,
    odooDbMaxconn: { pool: e.ODOO_POOL_DB_MAXCONN, dedicated: e.ODOO_DEDICATED_DB_MAXCONN },
    odooPoolMemory: {
      registryCacheSize: e.ODOO_POOL_REGISTRY_CACHE,
      workerRecycleMiB: e.ODOO_POOL_WORKER_RECYCLE_MIB === 0 ? undefined : e.ODOO_POOL_WORKER_RECYCLE_MIB,
    },
    odooPoolWorkers: {
      min: e.ODOO_POOL_WORKERS_MIN ?? e.ODOO_POOL_WORKERS,
      max: e.ODOO_POOL_WORKERS,
      scaleDownAfterMs: e.ODOO_POOL_SCALE_DOWN_AFTER_S * 1000,
    },
    templatesAutobuild: e.TEMPLATES_AUTOBUILD.split(',').filter(Boolean),
    crashAfterStep: e.SAAS_TEST_CRASH_AFTER_STEP,
    identityIssuers: e.OIDC_ISSUERS ?? [],
    requireOperator2fa: e.REQUIRE_OPERATOR_2FA ? e.REQUIRE_OPERATOR_2FA === 'true' : e.NODE_ENV === 'production',
    crashAt: e.SAAS_TEST_CRASH_AT,
    failAt: e.SAAS_TEST_FAIL_AT,
    migrationSourceGraceMs: e.MIGRATION_SOURCE_GRACE_HOURS * 3_600_000,
    backups: backupConfig(e, resolve(e.DATA_DIR)),
    dnsResolvers: commaList(e.DNS_RESOLVERS ?? ''),
    edgeAddresses: commaList(e.EDGE_ADDRESSES),
    domainGraceHours: e.DOMAIN_GRACE_HOURS,
    edgeTlsAddress: e.EDGE_TLS_ADDRESS,
    domainHttpProofPort: e.DOMAIN_HTTP_PROOF_PORT,
    domainHttpProofNetworks: e.DOMAIN_HTTP_PROOF_NETWORKS,
    hibernation: {
      wakeHoldMs: e.HIBERNATION_WAKE_HOLD_SECONDS * 1000,
      maxConcurrentWakes: e.HIBERNATION_MAX_CONCURRENT_WAKES,
      wakeTimeoutMs: e.HIBERNATION_WAKE_TIMEOUT_SECONDS * 1000,
    },
    docker: e.DOCKER_RUNTIME
      ? {
          imageTemplate: e.DOCKER_ODOO_IMAGE,
          instance: e.DOCKER_INSTANCE,
          databaseHost: e.DOCKER_DATABASE_HOST,
          healthCheck: e.DOCKER_HEALTH_CHECK,
        }
      : undefined,
    webhookAllowedNetworks: e.WEBHOOK_ALLOWED_NETWORKS,
    webhookDisableAfterFailures: e.WEBHOOK_DISABLE_AFTER_FAILURES,
    webhookRetryBaseSeconds: e.WEBHOOK_RETRY_BASE_SECONDS,
    kubernetes: e.KUBERNETES_KUBECONFIG
      ? {
          kubeconfigPath: e.KUBERNETES_KUBECONFIG,
          image: e.KUBERNETES_ODOO_IMAGE,
          ingressClassName: e.KUBERNETES_INGRESS_CLASS,
          ingressNamespace: e.KUBERNETES_INGRESS_NAMESPACE,
          ingressUpstream: {
            host: e.KUBERNETES_INGRESS_UPSTREAM.slice(0, e.KUBERNETES_INGRESS_UPSTREAM.lastIndexOf(':')),
            port: Number(e.KUBERNETES_INGRESS_UPSTREAM.slice(e.KUBERNETES_INGRESS_UPSTREAM.lastIndexOf(':') + 1)),
          },
        }
      : undefined,
  };
}

function backupConfig(e: ParsedEnv, dataDir: string): BackupConfig {
  const common = {
    scheduleHour: e.BACKUP_SCHEDULE_HOUR,
    timeZone: e.BACKUP_TIME_ZONE,
    downloadLinkTtlSeconds: e.BACKUP_DOWNLOAD_LINK_TTL_SECONDS,
    importMaxBytes: e.BACKUP_IMPORT_MAX_BYTES,
  };
  if (e.BACKUP_STORAGE === 'local')
    return { ...common, storage: { kind: 'local', directory: resolve(e.BACKUP_LOCAL_DIR ?? join(dataDir, 'backups')) } };
  const missing = (['BACKUP_S3_BUCKET', 'BACKUP_S3_ACCESS_KEY_ID', 'BACKUP_S3_SECRET_ACCESS_KEY'] as const).filter((name) => !e[name]);
  if (missing.length > 0) {
    throw new ConfigError(`Invalid configuration:\n${missing.map((name) => `  ${name}: required when BACKUP_STORAGE is s3`).join('\n')}`, [
      ...missing,
    ]);
  }
  return {
    ...common,
    storage: {
      kind: 's3',
      bucket: e.BACKUP_S3_BUCKET as string,
      prefix: e.BACKUP_S3_PREFIX,
      endpoint: e.BACKUP_S3_ENDPOINT,
      region: e.BACKUP_S3_REGION,
      forcePathStyle: e.BACKUP_S3_FORCE_PATH_STYLE,
      accessKeyId: e.BACKUP_S3_ACCESS_KEY_ID as string,
      secretAccessKey: e.BACKUP_S3_SECRET_ACCESS_KEY as string,
    },
  };
}

function readSettingFile(path: string, variable: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${variable}: cannot read ${path}: ${(error as Error).message}`, [variable]);
  }
}

/** Odoo's own nightly Community source archive of a series (nightly.odoo.com). */
function nightlyArchive(series: string): string {
  return `https://nightly.odoo.com/${series}/nightly/src/odoo_${series}.latest.tar.gz`;
}

function commaList(value: string): string[] {
  return value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`CONFIG_FILE: cannot read ${path}: ${(error as Error).message}`, ['CONFIG_FILE']);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('expected a JSON object');
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  } catch (error) {
    throw new ConfigError(`CONFIG_FILE: ${path} is not a JSON object of settings: ${(error as Error).message}`, ['CONFIG_FILE']);
  }
}

/**
 * SECRET_KEY when set; otherwise the key persisted in DATA_DIR (generated on first run, mode 0600),
 * so encrypted values and tokens survive restarts without any set-up.
 */
export function resolveSecretKey(config: Config): string {
  if (config.secretKey) return config.secretKey;
  mkdirSync(config.dataDir, { recursive: true });
  const file = join(config.dataDir, 'secret.key');
  if (!existsSync(file)) {
    writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600, flag: 'wx' });
  }
  chmodSync(file, 0o600);
  return readFileSync(file, 'utf8').trim();
}
