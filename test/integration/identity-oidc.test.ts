import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CookieJar,
  DASHBOARD_CLIENT,
  dashboardClientAt,
  idTokenFrom,
  newSigningKey,
  startOidcProvider,
  type TestProvider,
  testIssuerSetting,
  visit,
  walkSignIn,
} from '../helpers/oidc.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';
import { freeTestPort } from '../helpers/ports.js';

/**
 * A real OpenID provider (oidc-provider on loopback) in front of the platform: "Sign in with"
 * through the authorization code flow with PKCE ends in the dashboard's session cookie, and the
 * provider's ID tokens work as bearer tokens, also after the provider rotated its signing key.
 */

const CLIENT = DASHBOARD_CLIENT;
const ACCOUNTS = {
  grace: { email: 'grace@idp.example', email_verified: true, name: 'Grace Hopper' },
  mallory: { email: 'mallory@idp.example', email_verified: false, name: 'Mallory' },
};

let provider: TestProvider;
let test: TestPlatform;
let platformUrl: string;
let callbackUrl: string;
let firstKey: Awaited<ReturnType<typeof newSigningKey>>['jwk'];

beforeAll(async () => {
  const platformPort = await freeTestPort();
  platformUrl = `http://127.0.0.1:${platformPort}`;
  callbackUrl = `${platformUrl}/api/v1/auth/oidc/idp/callback`;
  firstKey = (await newSigningKey('key-1')).jwk;
  provider = await startOidcProvider({
    port: await freeTestPort(),
    keys: [firstKey],
    clients: [dashboardClientAt(platformUrl)],
    accounts: ACCOUNTS,
  });
  test = await startTestPlatform(
    {
      PUBLIC_URL: platformUrl,
      // Tests rotate the key at once; production keeps the default cool-down between JWKS fetches.
      OIDC_ISSUERS: testIssuerSetting(provider, { jwksCooldownSeconds: 0 }),
    },
    { port: platformPort },
  );
});

afterAll(async () => {
  await test?.stop();
  await provider?.stop();
});

describe('sign in with an OpenID provider (authorization code flow with PKCE)', () => {
  it('lists the provider for the dashboard', async () => {
    const providers = await test.http.get('/api/v1/auth/providers');
    expect(providers.status).toBe(200);
    expect(providers.body).toEqual([{ name: 'idp', displayName: 'Test IdP', startUrl: '/api/v1/auth/oidc/idp/start' }]);
  });

  it('sends the browser to the provider with S256 PKCE, and back with the same session cookie as a password login', async () => {
    const jar = new CookieJar();
    const start = await visit(jar, `${platformUrl}/api/v1/auth/oidc/idp/start?next=/instances`);
    expect(start.status).toBe(302);
    const authorize = new URL(start.headers.get('location') ?? '');
    expect(authorize.origin).toBe(provider.issuer);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorize.searchParams.get('redirect_uri')).toBe(callbackUrl);

    const landed = await walkSignIn(
      jar,
      authorize.toString(),
      'grace',
      (url) => url.startsWith(`${platformUrl}/`) && !url.includes('/api/v1/'),
    );
    expect(new URL(landed).pathname).toBe('/signed-in');
    expect(new URL(landed).searchParams.get('next')).toBe('/instances');
    const session = jar.get(platformUrl, 'saas_session');
    expect(session).toMatch(/^ss_/);
    const me = await test.http.get('/api/v1/me', { headers: { cookie: `saas_session=${session}` } });
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ email: 'grace@idp.example', name: 'Grace Hopper', role: 'customer', emailVerified: true });
    expect(me.body.via).toBe('session');

    const identities = await test.http.get('/api/v1/me/identities', { headers: { cookie: `saas_session=${session}` } });
    expect(identities.body).toEqual([expect.objectContaining({ issuer: 'idp', email: 'grace@idp.example' })]);
    const audit = await test.platform.database.db
      .selectFrom('audit_log')
      .select(['action', 'actor_label'])
      .where('action', 'in', ['identity.signed_up', 'identity.linked'])
      .where('actor_label', '=', 'grace@idp.example')
      .execute();
    expect(audit.map((a) => a.action).sort()).toEqual(['identity.linked', 'identity.signed_up']);
  });

  it('refuses a callback whose state was not started in this browser', async () => {
    const jar = new CookieJar();
    const start = await visit(jar, `${platformUrl}/api/v1/auth/oidc/idp/start`);
    const authorize = start.headers.get('location') ?? '';
    // Another browser (no flow cookie) brings the answer back: a login CSRF attempt.
    const back = await walkSignIn(jar, authorize, 'grace', (url) => url.startsWith(callbackUrl));
    const forged = await visit(new CookieJar(), back);
    expect(forged.status).toBe(302);
    const location = new URL(forged.headers.get('location') ?? '', platformUrl);
    expect(location.pathname).toBe('/login');
    expect(location.searchParams.get('signInError')).toMatch(/not started from this browser/);
    expect(forged.headers.getSetCookie().some((c) => c.startsWith('saas_session='))).toBe(false);
  });

  it('does not link or create a user for an address the provider did not verify', async () => {
    const jar = new CookieJar();
    const landed = await walkSignIn(jar, `${platformUrl}/api/v1/auth/oidc/idp/start`, 'mallory', (url) =>
      url.startsWith(`${platformUrl}/login`),
    );
    expect(new URL(landed).searchParams.get('signInError')).toMatch(/did not confirm an email address/);
    const users = await test.platform.database.db.selectFrom('users').select('id').where('email', '=', 'mallory@idp.example').execute();
    expect(users).toEqual([]);
  });

  it("accepts the provider's ID tokens as bearer tokens, and picks up a key rotated at the provider", async () => {
    const client = { ...CLIENT, redirectUri: callbackUrl };
    const before = await idTokenFrom(provider, client, 'grace');
    expect(decodeProtectedHeader(before).kid).toBe('key-1');
    const first = await test.http.get('/api/v1/me', { token: before });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ via: 'external_token', user: { email: 'grace@idp.example' } });

    // The provider rotates: a new signing key first, the old one still published for its tokens.
    const second = await newSigningKey('key-2');
    await provider.restart([second.jwk, firstKey]);
    const after = await idTokenFrom(provider, client, 'grace');
    expect(decodeProtectedHeader(after).kid).toBe('key-2');
    const rotated = await test.http.get('/api/v1/me', { token: after });
    expect(rotated.status).toBe(200);
    expect(rotated.body.user.email).toBe('grace@idp.example');
    expect((await test.http.get('/api/v1/me', { token: before })).status).toBe(200);
  });
});
