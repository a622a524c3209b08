/**
 * Odoo server configuration files (`odoo-bin -c <file>`), generated from a typed object.
 *
 * Option names are Odoo's own (snake_case, as in the file) so they can be looked up in Odoo's
 * documentation unchanged. Odoo reads the file with Python's RawConfigParser, which shapes the
 * rules below:
 * - a line break in a value would start a new option (or continue the value): refused, so no
 *   value can inject `admin_passwd`, `dbfilter` or `list_db` lines;
 * - surrounding whitespace is stripped by the parser: refused rather than silently changed;
 * - Odoo turns the exact texts True/true/False/false (and None in newer versions) into booleans
 *   or "unset": a password that happened to be "False" would be lost, so such strings are refused;
 * - no `%` interpolation (Raw parser), so `%d`/`%h` in dbfilter are written as they are.
 * The result holds secrets (db_password, admin_passwd): write it with mode 0600.
 */

export type OdooLogLevel =
  | 'info'
  | 'debug_rpc'
  | 'warn'
  | 'test'
  | 'critical'
  | 'runbot'
  | 'debug_sql'
  | 'error'
  | 'debug'
  | 'debug_rpc_answer'
  | 'notset';

export type PostgresSslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

export interface OdooServerOptions {
  // database connection
  db_host?: string;
  db_port?: number;
  db_user?: string;
  db_password?: string;
  db_sslmode?: PostgresSslMode;
  db_maxconn?: number;
  db_template?: string;
  /** One database, or the databases this process may serve (Odoo joins them with commas). */
  db_name?: string | readonly string[];
  /** Regex matched against database names; `%h` = request host, `%d` = its first label. */
  dbfilter?: string;
  list_db?: boolean;
  unaccent?: boolean;
  // HTTP
  http_enable?: boolean;
  http_interface?: string;
  http_port?: number;
  /** Port of the websocket/long-polling worker when `workers` > 0 (Odoo 16+: `/websocket`). */
  gevent_port?: number;
  proxy_mode?: boolean;
  x_sendfile?: boolean;
  // processes and limits
  workers?: number;
  max_cron_threads?: number;
  limit_memory_soft?: number;
  limit_memory_hard?: number;
  limit_time_cpu?: number;
  limit_time_real?: number;
  limit_time_real_cron?: number;
  limit_request?: number;
  /** Databases whose registry each worker keeps (Odoo's LRU; the platform's saas_pool_memory makes it a number). */
  registry_lru_size?: number;
  /** Bytes of resident memory past which a worker is recycled (the platform's saas_pool_memory). */
  saas_worker_recycle_rss?: number;
  // files and modules
  data_dir?: string;
  addons_path?: readonly string[];
  server_wide_modules?: readonly string[];
  /** Master password of Odoo's database manager; also write it as a hash where possible. */
  admin_passwd?: string;
  /** `true` or `'all'`: never load demo data. */
  without_demo?: boolean | 'all';
  // logging
  log_level?: OdooLogLevel;
  logfile?: string;
  log_handler?: readonly string[];
  syslog?: boolean;
  // outgoing mail
  email_from?: string;
  smtp_server?: string;
  smtp_port?: number;
  smtp_ssl?: boolean;
  smtp_user?: string;
  smtp_password?: string;
}

type OptionKind = 'text' | 'texts' | 'text_or_texts' | 'integer' | 'port' | 'boolean' | 'boolean_or_all' | 'enum';

/**
 * Every option this platform writes, with the kind of value it takes, in the order they are
 * written (related options together, as in Odoo's sample file). The kinds are checked at run
 * time too: values often come from data (plans, config) rather than from typed code.
 */
const OPTION_KINDS: Readonly<Record<keyof OdooServerOptions, OptionKind>> = {
  db_host: 'text',
  db_port: 'port',
  db_user: 'text',
  db_password: 'text',
  db_sslmode: 'enum',
  db_maxconn: 'integer',
  db_template: 'text',
  db_name: 'text_or_texts',
  dbfilter: 'text',
  list_db: 'boolean',
  unaccent: 'boolean',
  http_enable: 'boolean',
  http_interface: 'text',
  http_port: 'port',
  gevent_port: 'port',
  proxy_mode: 'boolean',
  x_sendfile: 'boolean',
  workers: 'integer',
  max_cron_threads: 'integer',
  limit_memory_soft: 'integer',
  limit_memory_hard: 'integer',
  limit_time_cpu: 'integer',
  limit_time_real: 'integer',
  limit_time_real_cron: 'integer',
  limit_request: 'integer',
  registry_lru_size: 'integer',
  saas_worker_recycle_rss: 'integer',
  data_dir: 'text',
  addons_path: 'texts',
  server_wide_modules: 'texts',
  admin_passwd: 'text',
  without_demo: 'boolean_or_all',
  log_level: 'enum',
  logfile: 'text',
  log_handler: 'texts',
  syslog: 'boolean',
  email_from: 'text',
  smtp_server: 'text',
  smtp_port: 'port',
  smtp_ssl: 'boolean',
  smtp_user: 'text',
  smtp_password: 'text',
};

const ENUM_VALUES: Readonly<Record<string, readonly string[]>> = {
  log_level: ['info', 'debug_rpc', 'warn', 'test', 'critical', 'runbot', 'debug_sql', 'error', 'debug', 'debug_rpc_answer', 'notset'],
  db_sslmode: ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'],
};

export class InvalidOdooConfigError extends Error {
  readonly option: string;
  constructor(option: string, problem: string) {
    super(`Odoo config option ${option}: ${problem}`);
    this.name = 'InvalidOdooConfigError';
    this.option = option;
  }
}

/** Texts Odoo's config loader turns into booleans or "unset" instead of keeping them as text. */
const TEXTS_ODOO_REINTERPRETS = new Set(['true', 'false', 'none']);

function checkText(option: string, text: string): string {
  if (/[\r\n\v\f\u0085\u2028\u2029]/.test(text) || text.includes('\0')) {
    throw new InvalidOdooConfigError(option, 'must not contain line breaks or NUL characters');
  }
  if (text.length === 0) throw new InvalidOdooConfigError(option, 'must not be empty (leave the option out instead)');
  if (text.trim() !== text) {
    throw new InvalidOdooConfigError(option, 'must not start or end with whitespace (Odoo would strip it)');
  }
  if (TEXTS_ODOO_REINTERPRETS.has(text.toLowerCase())) {
    throw new InvalidOdooConfigError(option, `the text "${text}" would be read by Odoo as a boolean or as unset`);
  }
  return text;
}

function formatTexts(option: string, value: unknown): string {
  if (!Array.isArray(value)) throw new InvalidOdooConfigError(option, 'must be a list of strings');
  if (value.length === 0) throw new InvalidOdooConfigError(option, 'must list at least one entry');
  return value
    .map((entry: unknown) => {
      if (typeof entry !== 'string') throw new InvalidOdooConfigError(option, 'entries must be strings');
      if (entry.includes(',')) throw new InvalidOdooConfigError(option, `entry "${entry}" must not contain a comma`);
      return checkText(option, entry);
    })
    .join(',');
}

function formatValue(option: string, kind: OptionKind, value: unknown): string {
  switch (kind) {
    case 'boolean':
      if (typeof value !== 'boolean') throw new InvalidOdooConfigError(option, 'must be true or false');
      return value ? 'True' : 'False';
    case 'boolean_or_all':
      if (value === 'all') return 'all';
      if (typeof value !== 'boolean') throw new InvalidOdooConfigError(option, 'must be true, false or "all"');
      return value ? 'True' : 'False';
    case 'integer':
    case 'port': {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
        throw new InvalidOdooConfigError(option, `must be a non-negative integer, got ${JSON.stringify(value)}`);
      }
      if (kind === 'port' && (value < 1 || value > 65_535)) {
        throw new InvalidOdooConfigError(option, `must be a TCP port (1-65535), got ${value}`);
      }
      return String(value);
    }
    case 'enum': {
      const allowed = ENUM_VALUES[option] ?? [];
      if (typeof value !== 'string' || !allowed.includes(value)) {
        throw new InvalidOdooConfigError(option, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
      }
      return value;
    }
    case 'text':
      if (typeof value !== 'string') throw new InvalidOdooConfigError(option, 'must be a string');
      return checkText(option, value);
    case 'texts':
      return formatTexts(option, value);
    case 'text_or_texts':
      return typeof value === 'string' ? checkText(option, value) : formatTexts(option, value);
  }
}

/**
 * Render an `[options]` config file. Options left undefined are not written, so Odoo's own
 * defaults apply. Unknown keys are refused (a typo would otherwise be silently ignored by Odoo).
 */
export function renderOdooConfig(options: OdooServerOptions): string {
  for (const key of Object.keys(options)) {
    if (!Object.hasOwn(OPTION_KINDS, key)) throw new InvalidOdooConfigError(key, 'is not an option this platform writes');
  }
  const lines = ['[options]'];
  for (const [option, kind] of Object.entries(OPTION_KINDS)) {
    const value = options[option as keyof OdooServerOptions];
    if (value === undefined) continue;
    lines.push(`${option} = ${formatValue(option, kind, value)}`);
  }
  return `${lines.join('\n')}\n`;
}
