import { describe, expect, it } from 'vitest';
import { POOL_DBFILTER, tenantPostgresNames, validateSubdomain } from '../../src/tenants/index.js';

function reasonFor(input: string): string {
  const result = validateSubdomain(input);
  if (result.ok) throw new Error(`expected "${input}" to be refused`);
  return result.reason;
}

describe('validateSubdomain', () => {
  it('accepts ordinary DNS labels', () => {
    for (const name of ['acme', 'my-shop', 'a1b', '123', 'x'.repeat(61), 'shop-2024', 'tem', 'tpl']) {
      expect(validateSubdomain(name)).toEqual({ ok: true, subdomain: name });
    }
  });

  it('lower-cases and trims the input instead of refusing it', () => {
    expect(validateSubdomain('  Acme-Shop ')).toEqual({ ok: true, subdomain: 'acme-shop' });
  });

  it('refuses bad lengths with the limit in the reason', () => {
    expect(reasonFor('')).toBe('The subdomain is empty.');
    expect(reasonFor('   ')).toBe('The subdomain is empty.');
    expect(reasonFor('ab')).toBe('The subdomain must be at least 3 characters long.');
    expect(reasonFor('x'.repeat(62))).toBe('The subdomain must be at most 61 characters long.');
  });

  it('refuses characters outside a-z 0-9 - and names the first one', () => {
    expect(reasonFor('my_shop')).toBe('The subdomain contains "_"; use only letters a-z, digits 0-9 and hyphens.');
    expect(reasonFor('acme.example')).toContain('"."');
    expect(reasonFor('my shop')).toContain('" "');
    expect(reasonFor('café')).toContain('"é"');
    expect(reasonFor("a'; drop")).toContain(`"'"`);
    expect(reasonFor('line\nbreak')).toContain('"\\n"');
  });

  it('refuses hyphens at the ends and doubled hyphens (punycode look-alikes)', () => {
    expect(reasonFor('-acme')).toBe('The subdomain must not start or end with a hyphen.');
    expect(reasonFor('acme-')).toBe('The subdomain must not start or end with a hyphen.');
    expect(reasonFor('xn--80ak6aa92e')).toBe('The subdomain must not contain two hyphens in a row.');
  });

  it('refuses reserved names, also when typed in capitals', () => {
    for (const name of [
      'app',
      'api',
      'www',
      'admin',
      'mail',
      'smtp',
      'imap',
      'pop',
      'ftp',
      'static',
      'assets',
      'cdn',
      'status',
      'docs',
      'help',
      'support',
      'billing',
      'dashboard',
      'console',
      'gateway',
      'ns1',
      'ns2',
      'localhost',
      'root',
      'postgres',
      'API',
      'Www',
    ]) {
      expect(reasonFor(name)).toBe(`The subdomain "${name.toLowerCase()}" is reserved.`);
    }
  });

  it('refuses anything that looks like a template database', () => {
    expect(reasonFor('template')).toBe('Subdomains starting with "template" are reserved.');
    expect(reasonFor('template1')).toBe('Subdomains starting with "template" are reserved.');
    expect(reasonFor('templates-shop')).toBe('Subdomains starting with "template" are reserved.');
    expect(reasonFor('tpl-blank')).toBe('Subdomains starting with "tpl-" are reserved.');
  });
});

describe('tenantPostgresNames', () => {
  it('prefixes the subdomain, keeping hyphens', () => {
    expect(tenantPostgresNames('acme')).toEqual({ databaseName: 't_acme', roleName: 'r_acme' });
    expect(tenantPostgresNames('my-shop')).toEqual({ databaseName: 't_my-shop', roleName: 'r_my-shop' });
    expect(tenantPostgresNames('Acme')).toEqual({ databaseName: 't_acme', roleName: 'r_acme' });
  });

  it('stays within 63 bytes for the longest subdomain', () => {
    const names = tenantPostgresNames('a'.repeat(61));
    expect(Buffer.byteLength(names.databaseName)).toBe(63);
    expect(Buffer.byteLength(names.roleName)).toBe(63);
  });

  it('produces valid Odoo database names', () => {
    for (const subdomain of ['acme', 'my-shop', '123', 'z'.repeat(61)]) {
      expect(tenantPostgresNames(subdomain).databaseName).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);
    }
  });

  it('refuses to derive names from an invalid subdomain', () => {
    expect(() => tenantPostgresNames('a"b')).toThrow(/invalid subdomain/);
    expect(() => tenantPostgresNames('postgres')).toThrow(/reserved/);
  });

  it("lets the pool's dbfilter select exactly the tenant's database, as Odoo substitutes it", () => {
    // Odoo: dbfilter.replace('%d', re.escape(first label of host)), then re.match (anchored at start).
    const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
    const selects = (host: string, database: string) =>
      new RegExp(POOL_DBFILTER.replace('%d', escapeRegex(host.split('.')[0] ?? '')), 'y').test(database);
    expect(selects('my-shop.example.com', tenantPostgresNames('my-shop').databaseName)).toBe(true);
    expect(selects('my-shop.example.com', tenantPostgresNames('my-shop-2').databaseName)).toBe(false);
    expect(selects('my.example.com', tenantPostgresNames('my-shop').databaseName)).toBe(false);
    expect(selects('acme.example.com', 'acme')).toBe(false);
  });
});
