import { createPublicKey, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { type JWK, type JWTPayload, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSigningKey, type SigningKey } from '../helpers/oidc.js';
import { GOOD_PASSWORD, startTestPlatform, type TestPlatform, uniqueEmail } from '../helpers/platform.js';

/**
 * Bearer tokens of external issuers, shaped as Supabase Auth issues them (its claims, ES256 keys
 * served from the project's JWKS endpoint, here a small HTTP server), and from a project still on
 * its legacy HS256 JWT secret. Every way a token can be wrong is refused with 401 and audited.
 */

const LEGACY_SECRET = 'legacy-supabase-jwt-secret-at-least-32-chars';
const LEGACY_PROJECT = 'http://legacy.supabase.invalid';

let jwksServer: Server;
let projectUrl: string;
let published: JWK[] = [];
let current: { kid: string; privateKey: SigningKey; publicJwk: JWK };
let test: TestPlatform;

/** Claims as Supabase Auth puts them in its access tokens. */
function supabaseClaims(email: string, overrides: Record<string, unknown> = {}): JWTPayload {
  return {
    aud: 'authenticated',
    role: 'authenticated',
    email,
    phone: '',
    app_metadata: { provider: 'email', providers: ['email'] },
    user_metadata: { email_verified: true, full_name: 'Supa User' },
    aal: 'aal1',
    amr: [{ method: 'password', timestamp: Math.floor(Date.now() / 1000) }],
    session_id: randomUUID(),
    is_anonymous: false,
    ...overrides,
  };
}

async function supabaseToken(
  payload: JWTPayload,
  options: { issuer?: string; expiresIn?: string | number; notBefore?: string | number; key?: typeof current } = {},
): Promise<string> {
  const key = options.key ?? current;
  const jwt = new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
    .setIssuer(options.issuer ?? `${projectUrl}/auth/v1`)
    .setSubject(String(payload.sub ?? randomUUID()))
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '1h');
  if (options.notBefore !== undefined) jwt.setNotBefore(options.notBefore);
  return jwt.sign(key.privateKey);
}

async function rotateKey(kid: string, keep: boolean): Promise<void> {
  const next = await newSigningKey(kid, 'ES256');
  current = { kid, privateKey: next.privateKey, publicJwk: next.publicJwk };
  published = keep ? [next.publicJwk, ...published] : [next.publicJwk];
}

async function me(token: string) {
  return test.http.get('/api/v1/me', { token });
}

async function refusals(reason: string): Promise<number> {
  const rows = await test.platform.database.db
    .selectFrom('audit_log')
    .select('details')
    .where('action', '=', 'identity.token_refused')
    .execute();
  return rows.filter((r) => (r.details as { reason?: string } | null)?.reason === reason).length;
}

beforeAll(async () => {
  jwksServer = createServer((req, res) => {
    if (req.url !== '/auth/v1/.well-known/jwks.json') return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ keys: published }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  const address = jwksServer.address();
  projectUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  await rotateKey('supa-1', false);
  test = await startTestPlatform({
    OIDC_ISSUERS: JSON.stringify([
      {
        name: 'supabase',
        preset: 'supabase',
        projectUrl,
        allowSignUp: true,
        jwksCooldownSeconds: 0,
        operatorRoles: ['platform_operator'],
        operatorEmailDomains: ['ops.example'],
      },
      { name: 'legacy', preset: 'supabase', projectUrl: LEGACY_PROJECT, hs256Secret: LEGACY_SECRET },
    ]),
  });
});

afterAll(async () => {
  await test?.stop();
  await new Promise((resolve) => jwksServer?.close(resolve));
});

describe('Supabase-shaped bearer tokens', () => {
  it('signs up a customer on first use (just-in-time) and finds the same user next time', async () => {
    const email = uniqueEmail('supa');
    const subject = randomUUID();
    const first = await me(await supabaseToken(supabaseClaims(email, { sub: subject })));
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ via: 'external_token', user: { email, name: 'Supa User', role: 'customer', emailVerified: true } });
    expect(first.body.user.accountId).toEqual(expect.any(String));
    const again = await me(await supabaseToken(supabaseClaims(email, { sub: subject })));
    expect(again.body.user.id).toBe(first.body.user.id);
    const links = await test.platform.database.db.selectFrom('user_identities').selectAll().where('subject', '=', subject).execute();
    expect(links).toHaveLength(1);
  });

  it('refuses a token from an issuer it does not know, and audits it', async () => {
    const before = await refusals('unknown_issuer');
    const answer = await me(await supabaseToken(supabaseClaims(uniqueEmail('x')), { issuer: 'https://evil.supabase.co/auth/v1' }));
    expect(answer.status).toBe(401);
    expect(answer.body.detail).toMatch(/issuer this platform does not accept/);
    expect(await refusals('unknown_issuer')).toBe(before + 1);
  });

  it('refuses a wrong audience', async () => {
    const answer = await me(await supabaseToken(supabaseClaims(uniqueEmail('x'), { aud: 'anon' })));
    expect(answer.status).toBe(401);
    expect(await refusals('audience')).toBeGreaterThan(0);
  });

  it('refuses an expired token (beyond the clock tolerance)', async () => {
    const answer = await me(await supabaseToken(supabaseClaims(uniqueEmail('x')), { expiresIn: Math.floor(Date.now() / 1000) - 120 }));
    expect(answer.status).toBe(401);
    expect(answer.body.detail).toMatch(/expired/);
  });

  it('refuses a token that is not valid yet (nbf beyond the clock tolerance)', async () => {
    const answer = await me(await supabaseToken(supabaseClaims(uniqueEmail('x')), { notBefore: Math.floor(Date.now() / 1000) + 600 }));
    expect(answer.status).toBe(401);
    expect(await refusals('not_yet_valid')).toBeGreaterThan(0);
  });

  it('accepts a token a few seconds early or late (within the clock tolerance)', async () => {
    const late = await me(await supabaseToken(supabaseClaims(uniqueEmail('skew')), { expiresIn: Math.floor(Date.now() / 1000) - 5 }));
    expect(late.status).toBe(200);
  });

  it('refuses a key id the project does not publish', async () => {
    const stray = await newSigningKey('not-published', 'ES256');
    const answer = await me(
      await supabaseToken(supabaseClaims(uniqueEmail('x')), {
        key: { kid: 'not-published', privateKey: stray.privateKey, publicJwk: stray.publicJwk },
      }),
    );
    expect(answer.status).toBe(401);
    expect(await refusals('unknown_key')).toBeGreaterThan(0);
  });

  it('picks up a key rotated at the project (new key id fetched again)', async () => {
    const email = uniqueEmail('rotate');
    expect((await me(await supabaseToken(supabaseClaims(email)))).status).toBe(200);
    await rotateKey('supa-2', true);
    const answer = await me(await supabaseToken(supabaseClaims(email)));
    expect(answer.status).toBe(200);
    expect(answer.body.user.email).toBe(email);
  });

  it('refuses alg "none"', async () => {
    const unsigned = new UnsecuredJWT(supabaseClaims(uniqueEmail('x')))
      .setIssuer(`${projectUrl}/auth/v1`)
      .setSubject(randomUUID())
      .setIssuedAt()
      .setExpirationTime('1h')
      .encode();
    const answer = await me(unsigned);
    expect(answer.status).toBe(401);
    expect(answer.body.detail).toMatch(/must be signed with/);
  });

  it('refuses HS256 signed with the public key of an asymmetric issuer (HS/RS confusion)', async () => {
    // The classic attack: the verifier's public key (which anyone can fetch) used as an HMAC secret.
    const publicPem = String(createPublicKey({ key: current.publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }));
    const forged = await new SignJWT(supabaseClaims(uniqueEmail('x')))
      .setProtectedHeader({ alg: 'HS256', kid: current.kid })
      .setIssuer(`${projectUrl}/auth/v1`)
      .setSubject(randomUUID())
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(publicPem));
    const answer = await me(forged);
    expect(answer.status).toBe(401);
    expect(answer.body.detail).toMatch(/must be signed with RS256, ES256/);
  });

  it('accepts HS256 only for a project configured with its JWT secret, and refuses a wrong secret', async () => {
    const email = uniqueEmail('legacy');
    const sign = (secret: string) =>
      new SignJWT(supabaseClaims(email))
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(`${LEGACY_PROJECT}/auth/v1`)
        .setSubject(randomUUID())
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(secret));
    // No sign-up on this issuer: the address must belong to a user already. Make it one.
    const owner = await test.http.post('/api/v1/auth/register', {
      email,
      password: GOOD_PASSWORD,
      name: 'Legacy',
      organization: 'Legacy Ltd',
    });
    expect(owner.status).toBe(201);
    await test.platform.database.db.updateTable('users').set({ email_verified_at: new Date() }).where('email', '=', email).execute();
    const good = await me(await sign(LEGACY_SECRET));
    expect(good.status).toBe(200);
    expect(good.body.user.id).toBe(owner.body.user.id);
    expect((await me(await sign('another-secret-that-is-also-32-characters-long'))).status).toBe(401);
  });
});

describe('linking to existing users', () => {
  it('links only by a verified email on both sides', async () => {
    const email = uniqueEmail('existing');
    const registered = await test.http.post('/api/v1/auth/register', {
      email,
      password: GOOD_PASSWORD,
      name: 'Existing',
      organization: 'Existing Ltd',
    });
    const userId = registered.body.user.id as string;
    const subject = randomUUID();

    // The provider does not vouch for the address: no link, no new user.
    const unverified = await me(await supabaseToken(supabaseClaims(email, { sub: subject, user_metadata: { email_verified: false } })));
    expect(unverified.status).toBe(403);
    expect(unverified.body.detail).toMatch(/did not confirm an email address/);

    // The platform user never confirmed the address: someone else may have registered it.
    const platformUnverified = await me(await supabaseToken(supabaseClaims(email, { sub: subject })));
    expect(platformUnverified.status).toBe(403);
    expect(platformUnverified.body.detail).toMatch(/has not confirmed it yet/);
    expect(await test.platform.database.db.selectFrom('user_identities').select('id').where('subject', '=', subject).execute()).toEqual([]);

    await test.platform.database.db.updateTable('users').set({ email_verified_at: new Date() }).where('id', '=', userId).execute();
    const linked = await me(await supabaseToken(supabaseClaims(email, { sub: subject })));
    expect(linked.status).toBe(200);
    expect(linked.body.user.id).toBe(userId);
    const audit = await test.platform.database.db
      .selectFrom('audit_log')
      .select(['action', 'details'])
      .where('actor_user_id', '=', userId)
      .where('action', '=', 'identity.linked')
      .execute();
    expect(audit).toHaveLength(1);

    // Unlinking (with the user's own password login) ends that way in; it is audited.
    const login = await test.http.post('/api/v1/auth/login', { email, password: GOOD_PASSWORD });
    const [identity] = (await test.http.get('/api/v1/me/identities', { token: login.body.accessToken })).body;
    expect(identity.issuer).toBe('supabase');
    expect((await test.http.delete(`/api/v1/me/identities/${identity.id}`, { token: login.body.accessToken })).status).toBe(204);
    expect((await test.http.get('/api/v1/me/identities', { token: login.body.accessToken })).body).toEqual([]);
    const unlinked = await test.platform.database.db
      .selectFrom('audit_log')
      .select('action')
      .where('actor_user_id', '=', userId)
      .where('action', '=', 'identity.unlinked')
      .execute();
    expect(unlinked).toHaveLength(1);
  });

  it('grants operator rights only for the operator role within an operator domain', async () => {
    const outsider = await me(
      await supabaseToken(supabaseClaims(uniqueEmail('outsider'), { app_metadata: { provider: 'email', role: 'platform_operator' } })),
    );
    expect(outsider.status).toBe(200);
    expect(outsider.body.user.role).toBe('customer');
    const opsEmail = `ops-${Date.now().toString(36)}@ops.example`;
    const sub = randomUUID();
    const insider = await me(
      await supabaseToken(supabaseClaims(opsEmail, { sub, app_metadata: { provider: 'email', role: 'platform_operator' } })),
    );
    expect(insider.status).toBe(200);
    expect(insider.body.user.role).toBe('operator');
    // The same person after the role was taken away at the provider: refused at once.
    const revoked = await me(await supabaseToken(supabaseClaims(opsEmail, { sub })));
    expect(revoked.status).toBe(403);
    expect(revoked.body.detail).toMatch(/only with an operator role/);
  });
});
