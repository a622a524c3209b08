import { describe, expect, it } from 'vitest';
import {
  decide,
  escapeHtml,
  pageForTenantState,
  renderStatusPage,
  type StatusPageKind,
  type TenantRoute,
} from '../../src/gateway/index.js';
import { TENANT_STATES } from '../../src/tenants/lifecycle.js';

const KINDS: StatusPageKind[] = [
  'preparing',
  'stopped',
  'maintenance',
  'suspended',
  'unavailable',
  'error',
  'not_found',
  'forbidden',
  'bad_request',
  'bad_path',
  'bad_gateway',
  'gateway_timeout',
  'starting',
  'wake_failed',
];

describe('renderStatusPage', () => {
  it('uses the documented status codes and Retry-After', () => {
    const expected: Record<StatusPageKind, [number, string | undefined]> = {
      preparing: [503, '5'],
      starting: [503, '3'],
      wake_failed: [503, '60'],
      stopped: [503, '60'],
      maintenance: [503, '30'],
      suspended: [403, undefined],
      unavailable: [404, undefined],
      error: [503, '60'],
      not_found: [404, undefined],
      forbidden: [403, undefined],
      bad_request: [400, undefined],
      bad_path: [400, undefined],
      bad_gateway: [502, '5'],
      gateway_timeout: [504, undefined],
    };
    for (const kind of KINDS) {
      const page = renderStatusPage(kind, { host: 'acme.example.com' });
      expect([page.status, page.headers['retry-after']], kind).toEqual(expected[kind]);
    }
  });

  it('is a complete HTML page without external assets and is never cached', () => {
    for (const kind of KINDS) {
      const page = renderStatusPage(kind, { host: 'acme.example.com' });
      expect(page.body.startsWith('<!doctype html>')).toBe(true);
      expect(page.body).not.toMatch(/(?:src|href)=/);
      expect(page.body).not.toMatch(/https?:/);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['cache-control']).toBe('no-store');
      expect(page.headers['content-length']).toBe(String(Buffer.byteLength(page.body)));
      expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    }
  });

  it('refreshes itself while a tenant is being prepared or unreachable', () => {
    expect(renderStatusPage('preparing').body).toContain('http-equiv="refresh"');
    expect(renderStatusPage('preparing').body).toContain('being prepared');
    expect(renderStatusPage('bad_gateway').body).toContain('http-equiv="refresh"');
    expect(renderStatusPage('stopped').body).not.toContain('http-equiv="refresh"');
  });

  it('names the host on pages about that site, escaped', () => {
    expect(renderStatusPage('stopped', { host: 'acme.example.com' }).body).toContain('acme.example.com is stopped');
    const hostile = renderStatusPage('suspended', { host: '<script>alert("x")</script>&' }).body;
    expect(hostile).not.toContain('<script>');
    expect(hostile).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;');
  });

  it('shows the same "no such site" page whatever the host, so probing reveals nothing', () => {
    const a = renderStatusPage('not_found', { host: 'acme.example.com' });
    const b = renderStatusPage('not_found', { host: 'deleted-tenant.example.com' });
    const c = renderStatusPage('not_found');
    expect(a).toEqual(b);
    expect(a).toEqual(c);
    expect(a.body).not.toContain('acme');
    expect(a.body).toContain('No such site');
  });
});

describe('escapeHtml', () => {
  it('escapes the five HTML-significant characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });
});

describe('pageForTenantState', () => {
  it('maps every lifecycle state to a page', () => {
    const expected: Record<string, StatusPageKind> = {
      pending_payment: 'unavailable',
      provisioning: 'preparing',
      starting: 'preparing',
      running: 'preparing',
      stopping: 'stopped',
      stopped: 'stopped',
      restoring: 'maintenance',
      migrating: 'maintenance',
      suspended: 'suspended',
      scheduled_for_deletion: 'unavailable',
      terminated: 'unavailable',
      deleted: 'not_found',
      error: 'error',
    };
    for (const state of TENANT_STATES) expect(pageForTenantState(state), state).toBe(expected[state]);
  });

  it('does not proxy states it does not know (fails closed)', () => {
    expect(pageForTenantState('hibernating')).toBe('unavailable');
  });
});

describe('decide', () => {
  const upstream = { host: '127.0.0.1', port: 8069 };
  const route = (state: string, withUpstream = true): TenantRoute => ({
    tenantId: 'id-1',
    tenantName: 'acme',
    databaseName: 't_acme',
    state,
    upstream: withUpstream ? upstream : undefined,
  });

  it('proxies a running tenant with an upstream', () => {
    const r = route('running');
    expect(decide({ kind: 'tenant', tenantName: 'acme' }, () => r)).toEqual({ action: 'proxy', route: r, upstream });
  });

  it('shows the state page for other states, attributed to the tenant', () => {
    expect(decide({ kind: 'tenant', tenantName: 'acme' }, () => route('stopped'))).toMatchObject({
      action: 'page',
      page: 'stopped',
      route: { tenantName: 'acme' },
    });
    expect(decide({ kind: 'tenant', tenantName: 'acme' }, () => route('suspended'))).toMatchObject({ page: 'suspended' });
    expect(decide({ kind: 'tenant', tenantName: 'acme' }, () => route('provisioning', false))).toMatchObject({ page: 'preparing' });
    expect(decide({ kind: 'tenant', tenantName: 'acme' }, () => route('running', false))).toMatchObject({ page: 'preparing' });
    // A stale upstream on a stopped tenant is not used.
    expect(decide({ kind: 'tenant', tenantName: 'acme' }, () => route('stopped', true))).toMatchObject({ action: 'page', page: 'stopped' });
  });

  it('treats unknown hosts, unknown tenants and deleted tenants alike, without attribution', () => {
    expect(decide({ kind: 'unknown' }, () => route('running'))).toEqual({ action: 'page', page: 'not_found' });
    expect(decide({ kind: 'platform' }, () => route('running'))).toEqual({ action: 'page', page: 'not_found' });
    expect(decide({ kind: 'tenant', tenantName: 'nope' }, () => undefined)).toEqual({ action: 'page', page: 'not_found' });
    expect(decide({ kind: 'tenant', tenantName: 'acme' }, () => route('deleted'))).toEqual({ action: 'page', page: 'not_found' });
  });

  it('asks the resolver for the tenant name of the host', () => {
    const asked: string[] = [];
    decide({ kind: 'tenant', tenantName: 'acme' }, (name) => {
      asked.push(name);
      return undefined;
    });
    expect(asked).toEqual(['acme']);
  });
});
