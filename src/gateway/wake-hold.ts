/**
 * Holding a request to a hibernated tenant while it wakes: the request waits up to a bound for the
 * wake (shared by every request that arrives meanwhile); past the bound, browsers get the
 * "starting" page that reloads itself, RPC clients a 503 with Retry-After they can act on. The
 * wake goes on in the background either way.
 */
import type { IncomingMessage } from 'node:http';
import type { Upstream } from '../runtimes/index.js';
import { renderStatusPage, type StatusPage } from './status-pages.js';
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
