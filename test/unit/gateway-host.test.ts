import { describe, expect, it } from 'vitest';
import { classifyHost, parseHostHeader } from '../../src/gateway/index.js';

const options = { baseDomain: 'example.com' };
const classify = (host: string | undefined) => classifyHost(host, options);

describe('classifyHost', () => {
  it('sends localhost, IP literals, the bare base domain and app.<base> to the platform', () => {
    for (const host of [
      'localhost',
      'localhost:8080',
      'LOCALHOST',
      '127.0.0.1',
      '127.0.0.1:3000',
      '10.1.2.3',
      '[::1]',
      '[::1]:8080',
      '[2001:db8::1]:443',
      '::1',
      'example.com',
      'example.com:8080',
      'EXAMPLE.COM.',
      'app.example.com',
      'APP.Example.Com:443',
      'app.example.com.',
    ]) {
      expect(classify(host), host).toEqual({ kind: 'platform' });
    }
  });

  it('treats a request without a Host header as one for the machine, i.e. the platform', () => {
    expect(classify(undefined)).toEqual({ kind: 'platform' });
    expect(classify('')).toEqual({ kind: 'platform' });
    expect(classify('   ')).toEqual({ kind: 'platform' });
  });

  it('recognises exactly one label in front of the base domain as a tenant', () => {
    expect(classify('acme.example.com')).toEqual({ kind: 'tenant', tenantName: 'acme' });
    expect(classify('acme.example.com:8080')).toEqual({ kind: 'tenant', tenantName: 'acme' });
    expect(classify('ACME.Example.COM')).toEqual({ kind: 'tenant', tenantName: 'acme' });
    expect(classify('acme.example.com.')).toEqual({ kind: 'tenant', tenantName: 'acme' });
    expect(classify('acme.example.com.:80')).toEqual({ kind: 'tenant', tenantName: 'acme' });
    expect(classify('my-shop-2.example.com')).toEqual({ kind: 'tenant', tenantName: 'my-shop-2' });
    expect(classify(' acme.example.com ')).toEqual({ kind: 'tenant', tenantName: 'acme' });
  });

  it('does not resolve reserved or unknown names: the resolver decides whether a tenant exists', () => {
    expect(classify('www.example.com')).toEqual({ kind: 'tenant', tenantName: 'www' });
    expect(classify('api.example.com')).toEqual({ kind: 'tenant', tenantName: 'api' });
  });

  it('classifies other domains, nested labels and malformed headers as unknown', () => {
    for (const host of [
      'other.com',
      'acme.other.com',
      'example.com.evil.net',
      'acmeexample.com',
      'a.b.example.com',
      'app.acme.example.com',
      '.example.com',
      '-acme.example.com',
      'acme-.example.com',
      'ac_me.example.com',
      'acme.example.com:port',
      'acme.example.com:123456',
      'acme.example.com:',
      'user@acme.example.com',
      'acme.example.com/path',
      'acme example.com',
      'acmé.example.com',
      '[::1',
      '[not-an-ip]',
      '[::1]x',
      `${'a'.repeat(64)}.example.com`,
    ]) {
      expect(classify(host), host).toEqual({ kind: 'unknown' });
    }
  });

  it('accepts a 63-character label', () => {
    const label = 'a'.repeat(63);
    expect(classify(`${label}.example.com`)).toEqual({ kind: 'tenant', tenantName: label });
  });

  it('normalises the configured base domain', () => {
    expect(classifyHost('acme.example.com', { baseDomain: 'Example.COM.' })).toEqual({ kind: 'tenant', tenantName: 'acme' });
  });

  it('works with localhost as base domain (development)', () => {
    const local = { baseDomain: 'localhost' };
    expect(classifyHost('localhost:8080', local)).toEqual({ kind: 'platform' });
    expect(classifyHost('acme.localhost:8080', local)).toEqual({ kind: 'tenant', tenantName: 'acme' });
    expect(classifyHost('app.localhost', local)).toEqual({ kind: 'platform' });
  });

  it('lets the caller name further platform labels', () => {
    const withWww = { baseDomain: 'example.com', platformLabels: ['app', 'www'] };
    expect(classifyHost('www.example.com', withWww)).toEqual({ kind: 'platform' });
    expect(classifyHost('app.example.com', withWww)).toEqual({ kind: 'platform' });
  });

  it('asks the custom-domain resolver only for hosts outside the base domain', () => {
    const asked: string[] = [];
    const withCustom = {
      baseDomain: 'example.com',
      resolveCustomDomain: (host: string) => {
        asked.push(host);
        return host === 'erp.acme.com' ? 'acme' : host === 'bad.acme.com' ? 'Not A Label!' : undefined;
      },
    };
    expect(classifyHost('ERP.acme.com.:443', withCustom)).toEqual({ kind: 'tenant', tenantName: 'acme' });
    expect(classifyHost('shop.other.org', withCustom)).toEqual({ kind: 'unknown' });
    expect(classifyHost('bad.acme.com', withCustom)).toEqual({ kind: 'unknown' });
    expect(classifyHost('beta.example.com', withCustom)).toEqual({ kind: 'tenant', tenantName: 'beta' });
    expect(classifyHost('localhost', withCustom)).toEqual({ kind: 'platform' });
    expect(asked).toEqual(['erp.acme.com', 'shop.other.org', 'bad.acme.com']);
  });
});

describe('parseHostHeader', () => {
  it('splits name and port and recognises IP literals', () => {
    expect(parseHostHeader('Acme.Example.com:8080')).toEqual({ hostname: 'acme.example.com', port: '8080', isIpLiteral: false });
    expect(parseHostHeader('[::1]:8080')).toEqual({ hostname: '::1', port: '8080', isIpLiteral: true });
    expect(parseHostHeader('192.168.0.1')).toEqual({ hostname: '192.168.0.1', port: undefined, isIpLiteral: true });
    expect(parseHostHeader('acme.example.com.')).toEqual({ hostname: 'acme.example.com', port: undefined, isIpLiteral: false });
  });

  it('refuses what is not a host', () => {
    for (const header of ['', ':80', 'a b', 'a/b', 'x:y', '[]', '[::1]:', '[::1]:x'])
      expect(parseHostHeader(header), header).toBeUndefined();
  });
});
