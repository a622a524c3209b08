/**
 * What a customer may add as a custom domain. Pure: the API refuses bad names with the reason
 * given here, and the ask endpoint normalises the names Caddy asks about the same way.
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** Names that never resolve publicly (RFC 6761, RFC 6762, RFC 7686, RFC 9476) or name the machine. */
const RESERVED_SUFFIXES = ['localhost', 'local', 'invalid', 'test', 'example', 'onion', 'internal', 'home.arpa', 'alt', 'arpa'];
/** Second-level names reserved for documentation (RFC 2606). */
const RESERVED_NAMES = ['example.com', 'example.net', 'example.org'];

export type DomainNameCheck = { ok: true; domain: string } | { ok: false; reason: string };

/**
 * Lower-case ASCII without the trailing dot; an IDN (`bücher.de`) becomes punycode
 * (`xn--bcher-kva.de`), the form DNS and TLS certificates use. Undefined when it is no host name.
 */
export function toAsciiDomain(input: string): string | undefined {
  let value = input.trim();
  if (value.endsWith('.')) value = value.slice(0, -1);
  if (value === '' || value.length > 253 || /[\s/:@?#\\[\]]/.test(value)) return undefined;
  const ascii = domainToASCII(value);
  if (ascii === '' || ascii.length > 253) return undefined;
  const labels = ascii.split('.');
  if (!labels.every((label) => LABEL.test(label))) return undefined;
  return ascii;
}

/** Checks a custom domain a customer asks for; `baseDomain` is the platform's own (its tenants' subdomains). */
export function checkCustomDomain(input: string, baseDomain: string): DomainNameCheck {
  if (isIP(input.trim().replace(/^\[|\]$/g, '')) !== 0) return { ok: false, reason: 'must be a domain name, not an IP address' };
  const domain = toAsciiDomain(input);
  if (!domain)
    return { ok: false, reason: 'is not a valid domain name (letters, digits and hyphens in dot-separated labels, e.g. erp.example.com)' };
  const labels = domain.split('.');
  if (labels.length < 2) return { ok: false, reason: 'must be a full domain name such as erp.acme.com' };
  const base = baseDomain.toLowerCase().replace(/\.$/, '');
  if (domain === base || domain.endsWith(`.${base}`))
    return { ok: false, reason: `is under ${base}, the platform's own domain: tenants get their <name>.${base} address already` };
  if (
    RESERVED_SUFFIXES.some((suffix) => domain === suffix || domain.endsWith(`.${suffix}`)) ||
    RESERVED_NAMES.some((n) => domain === n || domain.endsWith(`.${n}`))
  )
    return { ok: false, reason: 'is a reserved name that cannot point at the platform on the public internet' };
  return { ok: true, domain };
}

/** The TXT record whose value proves control of `domain`. */
export function verificationRecordName(domain: string): string {
  return `_odoo-saas-verify.${domain}`;
}
