/**
 * Tenant subdomains (`acme` in `acme.example.com`) and the PostgreSQL names derived from them.
 *
 * Input is normalised before it is checked: surrounding whitespace is trimmed and letters are
 * lower-cased, because DNS names are case-insensitive and a customer typing "Acme" means "acme".
 * Everything else that is not a valid label is refused with a reason that says what to change.
 */
export const SUBDOMAIN_MIN_LENGTH = 3;
/**
 * A DNS label may have 63 characters, but the tenant's database is named `t_<subdomain>` and
 * PostgreSQL identifiers end at 63 bytes, so subdomains stop at 61 (see `tenantPostgresNames`).
 */
export const SUBDOMAIN_MAX_LENGTH = 61;

/**
 * Names that must never belong to a customer: the platform's own hosts, mail and DNS
 * conventions (certificate authorities accept admin@/postmaster@... as proof of ownership,
 * and mail clients probe autoconfig/autodiscover), and names that would be confusing for
 * PostgreSQL or Odoo.
 */
export const RESERVED_SUBDOMAINS: ReadonlySet<string> = new Set([
  // the platform
  'app',
  'api',
  'www',
  'admin',
  'administrator',
  'dashboard',
  'console',
  'portal',
  'gateway',
  'status',
  'docs',
  'help',
  'support',
  'billing',
  'auth',
  'login',
  'logout',
  'signup',
  'register',
  'sso',
  'oauth',
  'account',
  'accounts',
  'static',
  'assets',
  'cdn',
  'media',
  'files',
  'download',
  'downloads',
  'upload',
  'uploads',
  'metrics',
  'health',
  'internal',
  'system',
  'platform',
  'saas',
  'odoo',
  'web',
  'websocket',
  'longpolling',
  'webhook',
  'webhooks',
  'grafana',
  'prometheus',
  'traefik',
  'caddy',
  'kubernetes',
  'k8s',
  // mail and DNS
  'mail',
  'email',
  'webmail',
  'smtp',
  'imap',
  'pop',
  'pop3',
  'mx',
  'ns',
  'ns1',
  'ns2',
  'ns3',
  'ns4',
  'dns',
  'autoconfig',
  'autodiscover',
  'wpad',
  'isatap',
  'postmaster',
  'hostmaster',
  'webmaster',
  'abuse',
  'security',
  'noreply',
  'no-reply',
  // other network services
  'ftp',
  'sftp',
  'ssh',
  'vpn',
  'git',
  'localhost',
  'local',
  'broadcasthost',
  // databases and generic words
  'root',
  'postgres',
  'postgresql',
  'pg',
  'db',
  'database',
  'null',
  'undefined',
  'test',
  'demo',
  'dev',
  'staging',
  'example',
]);

/** Prefixes of template database names: a tenant must never look like a template. */
export const RESERVED_SUBDOMAIN_PREFIXES: readonly string[] = ['template', 'tpl-'];

export type SubdomainCheck = { ok: true; subdomain: string } | { ok: false; reason: string };

/** Trim and lower-case: the one normalisation applied before validation. */
export function normaliseSubdomain(input: string): string {
  return input.trim().toLowerCase();
}

/** Validate a requested subdomain; on success returns it normalised. */
export function validateSubdomain(input: string): SubdomainCheck {
  const subdomain = normaliseSubdomain(input);
  if (subdomain.length === 0) return { ok: false, reason: 'The subdomain is empty.' };
  if (subdomain.length < SUBDOMAIN_MIN_LENGTH) {
    return { ok: false, reason: `The subdomain must be at least ${SUBDOMAIN_MIN_LENGTH} characters long.` };
  }
  if (subdomain.length > SUBDOMAIN_MAX_LENGTH) {
    return { ok: false, reason: `The subdomain must be at most ${SUBDOMAIN_MAX_LENGTH} characters long.` };
  }
  const invalid = subdomain.match(/[^a-z0-9-]/);
  if (invalid) {
    const shown = JSON.stringify(invalid[0]);
    return {
      ok: false,
      reason: `The subdomain contains ${shown}; use only letters a-z, digits 0-9 and hyphens.`,
    };
  }
  if (subdomain.startsWith('-') || subdomain.endsWith('-')) {
    return { ok: false, reason: 'The subdomain must not start or end with a hyphen.' };
  }
  // "xn--" labels are punycode (internationalised names that can imitate other names); no
  // customer needs "--" elsewhere, and one simple rule is easier to explain than the IDNA one.
  if (subdomain.includes('--')) {
    return { ok: false, reason: 'The subdomain must not contain two hyphens in a row.' };
  }
  if (RESERVED_SUBDOMAINS.has(subdomain)) {
    return { ok: false, reason: `The subdomain "${subdomain}" is reserved.` };
  }
  const prefix = RESERVED_SUBDOMAIN_PREFIXES.find((p) => subdomain.startsWith(p));
  if (prefix) {
    return { ok: false, reason: `Subdomains starting with "${prefix}" are reserved.` };
  }
  return { ok: true, subdomain };
}

/**
 * Prefixes of the PostgreSQL names derived from a subdomain. They keep tenant databases and
 * roles apart from anything else on a shared server (the platform's database, templates,
 * `postgres`) and from each other in logs and grants.
 */
export const TENANT_DATABASE_PREFIX = 't_';
export const TENANT_ROLE_PREFIX = 'r_';

/**
 * The `dbfilter` a multi-database Odoo pool runs with: Odoo replaces `%d` with the first label
 * of the request's host, so `acme.example.com` selects exactly the database `t_acme`. This is
 * why database names keep the subdomain verbatim (hyphens included) instead of rewriting it:
 * a regex substitution cannot turn `my-shop` into `my_shop`.
 */
export const POOL_DBFILTER = `^${TENANT_DATABASE_PREFIX}%d$`;

/** `r_acme` -> `t_acme`: both names derive from the subdomain (tenantPostgresNames below). */
export function tenantDatabaseOfRole(roleName: string): string {
  if (!roleName.startsWith(TENANT_ROLE_PREFIX)) throw new Error(`Not a tenant role: ${roleName}`);
  return `${TENANT_DATABASE_PREFIX}${roleName.slice(TENANT_ROLE_PREFIX.length)}`;
}

export interface TenantPostgresNames {
  /** The tenant's Odoo database (also its filestore directory name). */
  databaseName: string;
  /** The login role that owns the database and can reach only it. */
  roleName: string;
}

/**
 * The database and role names of the tenant with this subdomain: `t_<subdomain>` and
 * `r_<subdomain>`. With subdomains capped at 61 characters both fit PostgreSQL's 63-byte
 * identifiers without truncation or hashing, which would break the pool's dbfilter. They
 * contain only [a-z0-9_-], so they are valid Odoo database names too (Odoo accepts
 * `^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`); SQL still always quotes them.
 */
export function tenantPostgresNames(subdomain: string): TenantPostgresNames {
  const checked = validateSubdomain(subdomain);
  if (!checked.ok) throw new Error(`Cannot derive database names from an invalid subdomain: ${checked.reason}`);
  return {
    databaseName: `${TENANT_DATABASE_PREFIX}${checked.subdomain}`,
    roleName: `${TENANT_ROLE_PREFIX}${checked.subdomain}`,
  };
}
