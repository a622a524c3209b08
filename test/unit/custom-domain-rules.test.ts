import { describe, expect, it } from 'vitest';
import { checkCustomDomain, httpProofCouldHelp, judge, toAsciiDomain } from '../../src/domains/index.js';
import { mayIssueCertificate, type TenantRoute } from '../../src/gateway/index.js';

const BASE = 'saas.example.net';

describe('which custom domains a customer may add', () => {
  it.each([
    ['erp.acme.com', 'erp.acme.com'],
    ['  ERP.Acme.COM. ', 'erp.acme.com'],
    ['acme.com', 'acme.com'],
    ['bücher.de', 'xn--bcher-kva.de'],
    ['münchen.bücher.de', 'xn--mnchen-3ya.xn--bcher-kva.de'],
    ['xn--bcher-kva.de', 'xn--bcher-kva.de'],
  ])('accepts %j as %s', (input, stored) => {
    expect(checkCustomDomain(input, BASE)).toEqual({ ok: true, domain: stored });
  });

  it.each([
    [`other.${BASE}`, 'platform'],
    [BASE, 'platform'],
    [`a.b.${BASE.toUpperCase()}`, 'platform'],
    ['shop.localhost', 'reserved'],
    ['my.test', 'reserved'],
    ['x.internal', 'reserved'],
    ['example.com', 'reserved'],
    ['www.example.org', 'reserved'],
    ['10.0.0.1', 'IP address'],
    ['[::1]', 'IP address'],
    ['acme', 'full domain name'],
    ['acme.123', 'not a valid'],
    ['erp.acme.com/path', 'not a valid'],
    ['user@acme.com', 'not a valid'],
    ['-erp.acme.com', 'not a valid'],
    ['erp..acme.com', 'not a valid'],
    [`${'a'.repeat(64)}.com`, 'not a valid'],
    ['', 'not a valid'],
  ])('refuses %j (%s)', (input, words) => {
    const checked = checkCustomDomain(input, BASE);
    expect(checked.ok).toBe(false);
    if (!checked.ok) expect(checked.reason).toContain(words);
  });

  it('normalises the names an edge asks about the same way', () => {
    expect(toAsciiDomain('Bücher.DE.')).toBe('xn--bcher-kva.de');
    expect(toAsciiDomain('a b.com')).toBeUndefined();
  });
});

describe('judging what DNS answered', () => {
  const expected = { token: 'odoo-saas-verify=t0k', tenantHost: `acme.${BASE}`, edgeAddresses: ['192.0.2.10', '2001:db8::10'] };
  const seen = { txt: ['odoo-saas-verify=t0k'], cname: [`acme.${BASE}`], addresses: [], lookupError: undefined };

  it('verifies a proven domain with a CNAME to the tenant (trailing dot and case aside)', () => {
    expect(judge(seen, expected, 'erp.acme.com')).toEqual({ kind: 'verified' });
    expect(judge({ ...seen, cname: [`ACME.${BASE}.`] }, expected, 'erp.acme.com')).toEqual({ kind: 'verified' });
  });

  it('verifies an apex whose addresses are all the edge', () => {
    expect(judge({ ...seen, cname: [], addresses: ['192.0.2.10', '2001:db8::10'] }, expected, 'acme.com')).toEqual({ kind: 'verified' });
  });

  it('refuses an apex that also points elsewhere, and says what it found', () => {
    const verdict = judge({ ...seen, cname: [], addresses: ['192.0.2.10', '198.51.100.7'] }, expected, 'acme.com');
    expect(verdict.kind).toBe('not_verified');
    if (verdict.kind === 'not_verified') expect(verdict.problems[0]).toContain('198.51.100.7');
  });

  it('needs the proof: a CNAME to us alone (set by whoever controls the name) is not enough', () => {
    const verdict = judge({ ...seen, txt: ['odoo-saas-verify=other'] }, expected, 'erp.acme.com');
    expect(verdict).toEqual({
      kind: 'not_verified',
      problems: [expect.stringContaining('_odoo-saas-verify.erp.acme.com with the value odoo-saas-verify=t0k')],
    });
  });

  it('needs the pointing: a CNAME to another tenant is refused', () => {
    const verdict = judge({ ...seen, cname: [`other.${BASE}`] }, expected, 'erp.acme.com');
    expect(verdict).toEqual({ kind: 'not_verified', problems: [expect.stringContaining(`it is a CNAME to other.${BASE}`)] });
  });

  it('takes the HTTP proof instead of the TXT record: with a CNAME to this tenant, or with no CNAME and no rival claim', () => {
    const noTxt = { ...seen, txt: [] };
    const reached = { reached: true, contested: false };
    expect(judge(noTxt, expected, 'erp.acme.com', reached)).toEqual({ kind: 'verified' });
    // A CDN answers with its own addresses: reaching us stands for the pointing too.
    const proxied = { ...noTxt, cname: [], addresses: ['198.51.100.7'] };
    expect(judge(proxied, expected, 'acme.com', reached)).toEqual({ kind: 'verified' });
    expect(judge(proxied, expected, 'acme.com', { ...reached, contested: true })).toEqual({
      kind: 'not_verified',
      problems: [expect.stringContaining('Another instance claims this domain too')],
    });
    // A CNAME to another tenant names that tenant, whatever the proof says.
    expect(judge({ ...noTxt, cname: [`other.${BASE}`] }, expected, 'erp.acme.com', reached).kind).toBe('not_verified');
    // Not reached: as without the proof.
    expect(judge(proxied, expected, 'acme.com', { reached: false, contested: false })).toEqual({
      kind: 'not_verified',
      problems: [expect.stringContaining('Set a TXT record'), expect.stringContaining('it points at 198.51.100.7')],
    });
  });

  it('asks for the HTTP proof only where it could decide', () => {
    const noTxt = { ...seen, txt: [] };
    expect(httpProofCouldHelp(noTxt, expected)).toBe(true);
    expect(httpProofCouldHelp({ ...noTxt, cname: [], addresses: ['198.51.100.7'] }, expected)).toBe(true);
    expect(httpProofCouldHelp(seen, expected)).toBe(false);
    expect(httpProofCouldHelp({ ...noTxt, cname: [`other.${BASE}`] }, expected)).toBe(false);
    expect(httpProofCouldHelp({ ...noTxt, cname: [], addresses: [] }, expected)).toBe(false);
    expect(httpProofCouldHelp({ ...noTxt, lookupError: 'DNS lookup failed (ETIMEOUT)' }, expected)).toBe(false);
  });

  it('concludes nothing when DNS did not answer', () => {
    expect(judge({ ...seen, lookupError: 'DNS lookup failed (ETIMEOUT)' }, expected, 'erp.acme.com')).toEqual({
      kind: 'inconclusive',
      error: 'DNS lookup failed (ETIMEOUT)',
    });
  });
});

describe('which names the TLS edge may get a certificate for', () => {
  const routes = new Map<string, TenantRoute>([
    ['acme', { tenantId: '1', tenantName: 'acme', databaseName: 't_acme', state: 'stopped', upstream: undefined }],
    ['gone', { tenantId: '2', tenantName: 'gone', databaseName: 't_gone', state: 'deleted', upstream: undefined }],
  ]);
  const options = {
    baseDomain: BASE,
    resolveRoute: (name: string) => routes.get(name),
    resolveCustomDomain: (host: string) => (host === 'erp.acme.com' ? 'acme' : undefined),
    platformHosts: [BASE, `app.${BASE}`, 'console.operator.net'],
  };

  it.each([`acme.${BASE}`, `ACME.${BASE}.`, 'erp.acme.com', BASE, `app.${BASE}`, 'console.operator.net'])('allows %s', (name) => {
    expect(mayIssueCertificate(name, options)).toBe(true);
  });

  it.each([
    `gone.${BASE}`,
    `nobody.${BASE}`,
    `a.acme.${BASE}`,
    'shop.acme.com',
    'localhost',
    '127.0.0.1',
    '[::1]',
    `acme.${BASE}:443`,
    '',
    'a b',
  ])('refuses %j', (name) => {
    expect(mayIssueCertificate(name, options)).toBe(false);
  });
});
