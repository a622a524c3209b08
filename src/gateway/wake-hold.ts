/**
 * Holding a request to a hibernated tenant while it wakes: the request waits up to a bound for the
 * wake (shared by every request that arrives meanwhile); past the bound, browsers get the
 * "starting" page that reloads itself, RPC clients a 503 with Retry-After they can act on. The
 * wake goes on in the background either way.
 */
import type { IncomingMessage } from 'node:http';
import type { Upstream } from '../runtimes/index.js';
import { renderStatusPage, type StatusPage, type StatusPageKind } from './status-pages.js';
import type { TenantRoute } from './types.js';

export type WakeResult = { kind: 'awake'; upstream: Upstream } | { kind: 'not_hibernated' } | { kind: 'failed'; reason: string };

/** Wakes the tenant of a `running` route without an upstream, if it is hibernated. */
export type TenantWaker = (route: TenantRoute) => Promise<WakeResult>;

export const DEFAULT_WAKE_HOLD_MS = 15_000;

/** The wake's result, or `still_waking` once `holdMs` passed first. */
export async function holdForWake(wake: TenantWaker, route: TenantRoute, holdMs: number): Promise<WakeResult | { kind: 'still_waking' }> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<{ kind: 'still_waking' }>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'still_waking' }), holdMs);
  });
  try {
    return await Promise.race([wake(route), bound]);
  } finally {
    clearTimeout(timer);
  }
}

/** A browser asks for a page (`Accept: text/html`); anything else is a program that reads status codes. */
function isBrowser(req: IncomingMessage): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && /\btext\/html\b/.test(req.headers.accept ?? '');
}

/** What a request gets when its tenant is still waking (`starting`) or failed to (`wake_failed`). */
export function wakePage(kind: 'starting' | 'wake_failed', req: IncomingMessage, host: string): StatusPage {
  const page = renderStatusPage(kind, { host });
  if (isBrowser(req)) return page;
  const body = `${JSON.stringify({
    error: kind === 'starting' ? 'tenant_starting' : 'tenant_wake_failed',
    message:
      kind === 'starting'
        ? 'This Odoo is starting after a quiet spell; retry after the Retry-After seconds.'
        : 'This Odoo could not be started; the operators have been told. Retry later.',
  })}\n`;
  return {
    status: page.status,
    headers: {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'retry-after': page.headers['retry-after'] ?? '5',
    },
    body,
  };
}

export type Rerouted =
  | { kind: 'upstream'; upstream: Upstream }
  | { kind: 'page'; page: StatusPageKind }
  | { kind: 'starting' | 'wake_failed' };

/**
 * Where a request goes whose upstream refused the connection (nothing reached Odoo, so it can be
 * sent again): the route is read again (a hibernation or a move may have just stopped that Odoo
 * while this replica's route table still had it), a hibernated tenant is woken; else the 502 page.
 */
export async function rerouteRefused(
  deps: { confirm: (route: TenantRoute) => Promise<TenantRoute | undefined>; wake: TenantWaker | undefined; holdMs: number },
  route: TenantRoute,
  refused: Upstream,
): Promise<Rerouted> {
  const fresh = await deps.confirm(route).catch(() => undefined);
  if (fresh?.state !== 'running') return { kind: 'page', page: 'bad_gateway' };
  if (fresh.upstream && (fresh.upstream.host !== refused.host || fresh.upstream.port !== refused.port))
    return { kind: 'upstream', upstream: fresh.upstream };
  if (!fresh.upstream && deps.wake) {
    const woken = await holdForWake(deps.wake, fresh, deps.holdMs);
    if (woken.kind === 'awake') return { kind: 'upstream', upstream: woken.upstream };
    if (woken.kind !== 'not_hibernated') return { kind: woken.kind === 'failed' ? 'wake_failed' : 'starting' };
  }
  return { kind: 'page', page: 'bad_gateway' };
}
