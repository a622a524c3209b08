import { z } from 'zod';

const port = z.coerce.number().int().min(1).max(65_535);
const positiveInt = z.coerce.number().int().positive();

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
    RUN_WORKERS: z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true'),
    SPARE_DATABASES: z.coerce.number().int().min(0).max(50).default(2),
    TEMPLATES_AUTOBUILD: z
      .string()
      .regex(/^[a-z0-9_,]*$/, 'must be a comma-separated list of template codes')
      .default('blank'),
    WEBHOOK_ALLOWED_NETWORKS: z
      .string()
      .regex(
        /^\s*([0-9a-fA-F:.]+(\/\d{1,3})?\s*(,\s*[0-9a-fA-F:.]+(\/\d{1,3})?\s*)*)?$/,
        'must be a comma-separated list of networks such as 10.0.0.0/8,fd00::/8',
      )
      .default(''),
    WEBHOOK_DISABLE_AFTER_FAILURES: z.coerce.number().int().min(1).max(10_000).default(30),
    WEBHOOK_RETRY_BASE_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
    /** Test-only fault injection: exit right after this provisioning step. */
    SAAS_TEST_CRASH_AFTER_STEP: z.string().optional(),
    METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters (e.g. `openssl rand -hex 32`)').optional(),
    TRUST_PROXY: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true'),
  })
  .strip();

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
  /** Bearer token Prometheus sends for `/metrics`; unset: `/metrics` answers 404. */
  metricsToken: string | undefined;
  /** Tenant traffic on its own listener; unset: the gateway shares the API port. */
  gatewayPort: number | undefined;
  /** Admin URL of the default shared tenant server; the embedded cluster when unset. */
  tenantDatabaseUrl: string | undefined;
  odooBin: string | undefined;
  odooAddonsPath: string[] | undefined;
  /** Run job workers in this process (false: an API-only replica). */
  runWorkers: boolean;
  /** Pre-made copies of each ready template per shared server (provisioning/spares.ts). */
  spareDatabases: number;
  /** Templates built on the default server at start when not built yet. */
  templatesAutobuild: string[];
  crashAfterStep: string | undefined;
  /** Private networks webhooks may be sent into (CIDRs); empty: public addresses only (SSRF). */
  webhookAllowedNetworks: string;
  /** Failed webhook attempts in a row after which an endpoint is disabled (and its owner mailed). */
  webhookDisableAfterFailures: number;
  /** First webhook retry delay; doubles up to an hour, for 24 h. */
  webhookRetryBaseSeconds: number;
}
