/**
 * The pages the gateway answers with when it does not proxy. Pure and self-contained (no
 * external assets: they are shown precisely when something is not serving).
 *
 * Status codes, chosen so that clients, monitors and crawlers do the right thing:
 * - preparing (provisioning, starting, running without an upstream yet): 503 + Retry-After 5,
 *   and the page refreshes itself;
 * - starting (a hibernated tenant waking longer than the gateway holds a request): 503 +
 *   Retry-After 3, refreshing; wake_failed (its wake failed): 503 + Retry-After 60;
 * - stopped (stopping, stopped): 503 + Retry-After 60: temporary, the owner can start it;
 * - maintenance (restoring a backup): 503 + Retry-After 30, and the page refreshes itself;
 * - suspended: 403 without Retry-After. Suspension is a decision (billing, abuse), not an outage:
 *   a 4xx keeps it out of the platform's 5xx error rate and tells clients retrying will not help;
 * - unavailable (scheduled for deletion, terminated, pending payment): 404; not 410 because a
 *   terminated tenant can still be reactivated;
 * - error: 503 + Retry-After 60 (the platform failed; an operator is needed);
 * - not_found (unknown host, deleted tenant): 404 with one fixed body that names no host, so
 *   probing names tells nothing about which tenants exist or existed;
 * - forbidden (database manager paths): 403; bad_request (malformed request target): 400;
 * - bad_path (a path whose route depends on how a server reads it, see request-target.ts): 400;
 * - bad_gateway (Odoo unreachable): 502 + Retry-After 5; gateway_timeout (Odoo silent too long): 504.
 * Every page is `Cache-Control: no-store`: routes change live, a cached 404 would outlive them.
 */

export type StatusPageKind =
  | 'preparing'
  | 'starting'
  | 'wake_failed'
  | 'stopped'
  | 'maintenance'
  | 'suspended'
  | 'unavailable'
  | 'error'
  | 'not_found'
  | 'forbidden'
  | 'bad_request'
  | 'bad_path'
  | 'bad_gateway'
  | 'gateway_timeout';

export interface StatusPage {
  status: number;
  headers: Record<string, string>;
  body: string;
}

interface PageSpec {
  status: number;
  retryAfterSeconds?: number;
  /** Seconds after which the browser reloads the page by itself. */
  refreshSeconds?: number;
  title: string;
  /** `{host}` is replaced by the escaped host name, or by "This site" when none is given. */
  message: string;
  /** Pages that must look the same for every host never mention it. */
  namesHost: boolean;
}

const PAGES: Record<StatusPageKind, PageSpec> = {
  preparing: {
    status: 503,
    retryAfterSeconds: 5,
    refreshSeconds: 5,
    title: 'Your Odoo is being prepared',
    message: '{host} is being prepared. This page reloads by itself as soon as it is ready.',
    namesHost: true,
  },
  starting: {
    status: 503,
    retryAfterSeconds: 3,
    refreshSeconds: 3,
    title: 'Your Odoo is starting',
    message: '{host} was asleep after a quiet spell and is starting now. This page reloads by itself in a moment.',
    namesHost: true,
  },
  wake_failed: {
    status: 503,
    retryAfterSeconds: 60,
    refreshSeconds: 60,
    title: 'This Odoo could not be started',
    message:
      '{host} was asleep after a quiet spell and could not be started. The operators have been told; this page tries again in a minute.',
    namesHost: true,
  },
  stopped: {
    status: 503,
    retryAfterSeconds: 60,
    title: 'This Odoo is stopped',
    message: '{host} is stopped. Its owner can start it again from the dashboard.',
    namesHost: true,
  },
  maintenance: {
    status: 503,
    retryAfterSeconds: 30,
    refreshSeconds: 15,
    title: 'This Odoo is under maintenance',
    message: '{host} is being restored from a backup. This page reloads by itself as soon as it is back.',
    namesHost: true,
  },
  suspended: {
    status: 403,
    title: 'This Odoo is suspended',
    message: '{host} is suspended. Its owner can contact the provider to restore access.',
    namesHost: true,
  },
  unavailable: {
    status: 404,
    title: 'This Odoo is not available',
    message: '{host} is not available.',
    namesHost: true,
  },
  error: {
    status: 503,
    retryAfterSeconds: 60,
    title: 'This Odoo is having a problem',
    message: '{host} cannot be served right now. The operators have been told; please try again later.',
    namesHost: true,
  },
  not_found: {
    status: 404,
    title: 'No such site',
    message: 'There is no site at this address. Check the address and try again.',
    namesHost: false,
  },
  forbidden: {
    status: 403,
    title: 'Not available here',
    message: 'This page is not available at this address.',
    namesHost: false,
  },
  bad_request: {
    status: 400,
    title: 'Bad request',
    message: 'The request could not be understood.',
    namesHost: false,
  },
  bad_path: {
    status: 400,
    title: 'Bad request',
    message:
      'The address of this request is written in a way this site does not accept (backslashes, encoded or doubled slashes, ' +
      'dot segments, or unusual characters). Please use the plain address.',
    namesHost: false,
  },
  bad_gateway: {
    status: 502,
    retryAfterSeconds: 5,
    refreshSeconds: 10,
    title: 'Odoo is not answering',
    message: '{host} did not answer. It may be restarting; this page tries again by itself.',
    namesHost: true,
  },
  gateway_timeout: {
    status: 504,
    title: 'Odoo took too long',
    message: '{host} took too long to answer. Please try again.',
    namesHost: true,
  },
};

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

const STYLE =
  'body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f5f5f7;color:#1d1d1f}' +
  'main{max-width:32rem;margin:18vh auto;padding:2rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px rgba(0,0,0,.08)}' +
  'h1{font-size:1.4rem;margin:0 0 .75rem}p{line-height:1.5;margin:0}';

export interface StatusPageOptions {
  /** The host the visitor asked for; shown (escaped) on pages about that site. */
  host?: string;
}

export function renderStatusPage(kind: StatusPageKind, options: StatusPageOptions = {}): StatusPage {
  const spec = PAGES[kind];
  const host = spec.namesHost && options.host ? escapeHtml(options.host) : 'This site';
  const message = spec.message.replace('{host}', host);
  const refresh = spec.refreshSeconds === undefined ? '' : `<meta http-equiv="refresh" content="${spec.refreshSeconds}">`;
  const body =
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">' +
    `${refresh}<title>${escapeHtml(spec.title)}</title><style>${STYLE}</style></head>` +
    `<body><main><h1>${escapeHtml(spec.title)}</h1><p>${message}</p></main></body></html>\n`;
  const headers: Record<string, string> = {
    'content-type': 'text/html; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
  };
  if (spec.retryAfterSeconds !== undefined) headers['retry-after'] = String(spec.retryAfterSeconds);
  return { status: spec.status, headers, body };
}

/**
 * The page for a tenant that is not proxied, by lifecycle state. `deleted` looks exactly like a
 * host that never existed; states this gateway does not know yet are not proxied either.
 */
export function pageForTenantState(state: string): StatusPageKind {
  switch (state) {
    case 'provisioning':
    case 'starting':
    case 'running':
      return 'preparing';
    case 'stopping':
    case 'stopped':
      return 'stopped';
    case 'restoring':
    case 'migrating':
      return 'maintenance';
    case 'suspended':
      return 'suspended';
    case 'error':
      return 'error';
    case 'deleted':
      return 'not_found';
    default:
      return 'unavailable';
  }
}
