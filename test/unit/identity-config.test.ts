import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors/index.js';
import { mapClaims } from '../../src/identity/index.js';

const base = { DATA_DIR: '/tmp/identity-config-test' };

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ ...base, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('REQUIRE_OPERATOR_2FA', () => {
  it('is on by default in production mode only, and can be set either way', () => {
    expect(loadConfig({ ...base }).requireOperator2fa).toBe(false);
    expect(loadConfig({ ...base, NODE_ENV: 'production' }).requireOperator2fa).toBe(true);
    expect(loadConfig({ ...base, NODE_ENV: 'production', REQUIRE_OPERATOR_2FA: 'false' }).requireOperator2fa).toBe(false);
    expect(loadConfig({ ...base, REQUIRE_OPERATOR_2FA: 'true' }).requireOperator2fa).toBe(true);
    expect(configError({ REQUIRE_OPERATOR_2FA: 'yes' }).variables).toEqual(['REQUIRE_OPERATOR_2FA']);
  });
});

describe('OIDC_ISSUERS', () => {
  it('fills the Supabase preset from the project URL (JWKS endpoint, audience, claims)', () => {
    const [issuer] = loadConfig({
      ...base,
      OIDC_ISSUERS: JSON.stringify([{ name: 'supabase', preset: 'supabase', projectUrl: 'https://abcd.supabase.co/' }]),
    }).identityIssuers;
    expect(issuer).toMatchObject({
      name: 'supabase',
      displayName: 'Supabase',
      issuer: 'https://abcd.supabase.co/auth/v1',
      jwksUrl: 'https://abcd.supabase.co/auth/v1/.well-known/jwks.json',
      audience: ['authenticated'],
      algorithms: ['RS256', 'ES256', 'PS256', 'EdDSA'],
      claims: { email: 'email', emailVerified: 'user_metadata.email_verified', name: 'user_metadata.full_name', role: 'app_metadata.role' },
      allowSignUp: false,
    });
  });

  it('accepts HS256 only, and nothing else, for a project configured with its JWT secret', () => {
    const [issuer] = loadConfig({
      ...base,
      OIDC_ISSUERS: JSON.stringify([
        { name: 'legacy', preset: 'supabase', projectUrl: 'https://old.supabase.co', hs256Secret: 'x'.repeat(40) },
      ]),
    }).identityIssuers;
    expect(issuer?.algorithms).toEqual(['HS256']);
    expect(issuer?.jwksUrl).toBeUndefined();
  });

  it('names the issuer and the field of every mistake', () => {
    const shape = configError({
      OIDC_ISSUERS: JSON.stringify([{ name: 'Bad Name', issuer: 'https://x.example', audience: 'a', unknown: true }]),
    });
    expect(shape.variables).toEqual(['OIDC_ISSUERS', 'OIDC_ISSUERS']);
    expect(shape.message).toMatch(/OIDC_ISSUERS: 0\.name: must be lower-case/);
    expect(shape.message).toMatch(/OIDC_ISSUERS: 0: Unrecognized key: "unknown"/);
    // Once each issuer has its shape, what depends on what: still by issuer and field.
    const meaning = configError({
      OIDC_ISSUERS: JSON.stringify([
        { name: 'corp', issuer: 'https://login.corp.example' },
        { name: 'corp', preset: 'supabase' },
      ]),
    });
    expect(meaning.message).toMatch(/OIDC_ISSUERS: 0\.audience: is required/);
    expect(meaning.message).toMatch(/OIDC_ISSUERS: 1\.name: issuer name "corp" is used twice/);
    expect(meaning.message).toMatch(/OIDC_ISSUERS: 1\.projectUrl: is required with preset "supabase"/);
    expect(configError({ OIDC_ISSUERS: 'not json' }).message).toMatch(/must be a JSON array of issuers/);
  });

  it('reads the list from OIDC_ISSUERS_FILE, naming the file when it cannot', () => {
    expect(configError({ OIDC_ISSUERS_FILE: '/nonexistent/issuers.json' }).variables).toEqual(['OIDC_ISSUERS_FILE']);
  });
});

describe('claim mapping', () => {
  const [supabase] = loadConfig({
    ...base,
    OIDC_ISSUERS: JSON.stringify([
      {
        name: 'supabase',
        preset: 'supabase',
        projectUrl: 'https://abcd.supabase.co',
        operatorRoles: ['platform_operator'],
        operatorEmailDomains: ['ops.example'],
      },
    ]),
  }).identityIssuers;
  if (!supabase) throw new Error('no issuer');

  it('reads email, verification and name through dotted paths', () => {
    const identity = mapClaims(supabase, {
      sub: 'u1',
      email: 'Ada@Example.com',
      user_metadata: { email_verified: true, full_name: 'Ada' },
    });
    expect(identity).toMatchObject({
      issuer: 'supabase',
      subject: 'u1',
      email: 'ada@example.com',
      emailVerified: true,
      name: 'Ada',
      operator: false,
    });
  });

  it('grants operator only with the role, a verified address and an operator domain', () => {
    const claims = (email: string, verified: boolean) => ({
      sub: 'u2',
      email,
      user_metadata: { email_verified: verified },
      app_metadata: { role: 'platform_operator' },
    });
    expect(mapClaims(supabase, claims('a@ops.example', true)).operator).toBe(true);
    expect(mapClaims(supabase, claims('a@ops.example', false)).operator).toBe(false);
    expect(mapClaims(supabase, claims('a@evil.example', true)).operator).toBe(false);
    expect(mapClaims(supabase, { ...claims('a@ops.example', true), app_metadata: { role: 'user' } }).operator).toBe(false);
  });

  it('sees a second factor in Supabase aal2 or in amr', () => {
    expect(mapClaims(supabase, { sub: 'u', aal: 'aal2' }).multiFactor).toBe(true);
    expect(mapClaims(supabase, { sub: 'u', amr: ['pwd', 'otp'] }).multiFactor).toBe(true);
    expect(mapClaims(supabase, { sub: 'u', amr: [{ method: 'totp', timestamp: 1 }] }).multiFactor).toBe(true);
    expect(mapClaims(supabase, { sub: 'u', aal: 'aal1', amr: [{ method: 'password' }] }).multiFactor).toBe(false);
  });
});
