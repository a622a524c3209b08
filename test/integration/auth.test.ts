import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOD_PASSWORD, registerCustomer, startTestPlatform, type TestPlatform, uniqueEmail } from '../helpers/platform.js';
import { startTestSmtpServer } from '../helpers/smtp.js';

let smtp: Awaited<ReturnType<typeof startTestSmtpServer>>;
let test: TestPlatform;

beforeAll(async () => {
  smtp = await startTestSmtpServer();
  test = await startTestPlatform({ SMTP_URL: smtp.url, PUBLIC_URL: 'http://app.example.test' });
});
afterAll(async () => {
  await test?.stop();
  await smtp?.close();
});

describe('register and login', () => {
  it('registers a customer with its account and logs in with the chosen password', async () => {
    const email = uniqueEmail('reg');
    const registered = await test.http.post('/api/v1/auth/register', { email, password: GOOD_PASSWORD, name: 'Ada', organization: 'Acme' });
    expect(registered.status).toBe(201);
    expect(registered.body.user).toMatchObject({ email, name: 'Ada', role: 'customer', emailVerified: false });
    expect(registered.body.account.name).toBe('Acme');
    expect(JSON.stringify(registered.body)).not.toContain(GOOD_PASSWORD);

    const login = await test.http.post('/api/v1/auth/login', { email, password: GOOD_PASSWORD });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
    expect(login.body.refreshToken).toMatch(/^rt_/);

    const me = await test.http.get('/api/v1/me', { token: login.body.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ email, accountId: registered.body.account.id, role: 'customer' });
  });

  it('treats the email case-insensitively and refuses a second registration', async () => {
    const email = uniqueEmail('dup');
    await test.http.post('/api/v1/auth/register', { email, password: GOOD_PASSWORD, name: 'A', organization: 'B' });
    const again = await test.http.post('/api/v1/auth/register', {
      email: email.toUpperCase(),
      password: GOOD_PASSWORD,
      name: 'A',
      organization: 'B',
    });
    expect(again.status).toBe(409);
    expect(again.body.field).toBe('email');
    const login = await test.http.post('/api/v1/auth/login', { email: email.toUpperCase(), password: GOOD_PASSWORD });
    expect(login.status).toBe(200);
  });

  it('answers a wrong password and an unknown email the same way', async () => {
    const customer = await registerCustomer(test.http, 'wrongpw');
    const wrong = await test.http.post('/api/v1/auth/login', { email: customer.email, password: 'Not-The-Password-1' });
    const unknown = await test.http.post('/api/v1/auth/login', { email: uniqueEmail('ghost'), password: 'Not-The-Password-1' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.detail).toBe(unknown.body.detail);
    expect(wrong.headers.get('content-type')).toContain('application/problem+json');
  });
});

describe('password policy', () => {
  const cases: Array<[string, RegExp]> = [
    ['Short1!', /at least 8/],
    ['alllowercase1', /upper-case/],
    ['ALLUPPERCASE1', /lower-case/],
    ['NoDigitsOrSymbols', /digit or a symbol/],
  ];
  for (const [password, message] of cases) {
    it(`refuses ${JSON.stringify(password)}`, async () => {
      const response = await test.http.post('/api/v1/auth/register', {
        email: uniqueEmail('policy'),
        password,
        name: 'A',
        organization: 'B',
      });
      expect(response.status).toBe(400);
      expect(response.body.field).toBe('password');
      expect(response.body.detail).toMatch(message);
    });
  }

  it('refuses the email address as password and creates nothing', async () => {
    const email = `Xy1${uniqueEmail('mail')}`;
    const response = await test.http.post('/api/v1/auth/register', { email, password: email, name: 'A', organization: 'B' });
    expect(response.status).toBe(400);
    expect(response.body.detail).toMatch(/email address/);
    const login = await test.http.post('/api/v1/auth/login', { email, password: email });
    expect(login.status).toBe(401);
  });

  it('accepts a long passphrase with unicode', async () => {
    const response = await test.http.post('/api/v1/auth/register', {
      email: uniqueEmail('unicode'),
      password: 'Ünïcode passphrase — 長いパスワード',
      name: 'Zoë',
      organization: 'Café Ltd',
    });
    expect(response.status).toBe(201);
  });
});

describe('refresh token rotation', () => {
  it('rotates: the new refresh token works, the old one does not', async () => {
    const customer = await registerCustomer(test.http, 'rotate');
    const first = await test.http.post('/api/v1/auth/refresh', { refreshToken: customer.refreshToken });
    expect(first.status).toBe(200);
    expect(first.body.refreshToken).not.toBe(customer.refreshToken);
    const me = await test.http.get('/api/v1/me', { token: first.body.accessToken });
    expect(me.status).toBe(200);
    const second = await test.http.post('/api/v1/auth/refresh', { refreshToken: first.body.refreshToken });
    expect(second.status).toBe(200);
  });

  it('revokes the whole family when a rotated token is presented again', async () => {
    const customer = await registerCustomer(test.http, 'reuse');
    const rotated = await test.http.post('/api/v1/auth/refresh', { refreshToken: customer.refreshToken });
    expect(rotated.status).toBe(200);
    // An attacker replays the stolen, already rotated token...
    const replay = await test.http.post('/api/v1/auth/refresh', { refreshToken: customer.refreshToken });
    expect(replay.status).toBe(401);
    expect(replay.body.detail).toMatch(/already used/);
    // ...and the legitimate newest token of that family is dead too.
    const legit = await test.http.post('/api/v1/auth/refresh', { refreshToken: rotated.body.refreshToken });
    expect(legit.status).toBe(401);
  });

  it('does not touch other logins of the same user', async () => {
    const customer = await registerCustomer(test.http, 'families');
    const otherLogin = await test.http.post('/api/v1/auth/login', { email: customer.email, password: GOOD_PASSWORD });
    await test.http.post('/api/v1/auth/refresh', { refreshToken: customer.refreshToken });
    await test.http.post('/api/v1/auth/refresh', { refreshToken: customer.refreshToken }); // reuse: kills family 1
    const other = await test.http.post('/api/v1/auth/refresh', { refreshToken: otherLogin.body.refreshToken });
    expect(other.status).toBe(200);
  });

  it('refuses an unknown refresh token', async () => {
    const response = await test.http.post('/api/v1/auth/refresh', { refreshToken: 'rt_definitely-not-a-real-token' });
    expect(response.status).toBe(401);
  });
});

describe('logout and session cookie', () => {
  it('logout revokes the refresh token', async () => {
    const customer = await registerCustomer(test.http, 'logout');
    const logout = await test.http.post('/api/v1/auth/logout', { refreshToken: customer.refreshToken });
    expect(logout.status).toBe(204);
    const refresh = await test.http.post('/api/v1/auth/refresh', { refreshToken: customer.refreshToken });
    expect(refresh.status).toBe(401);
  });

  it('sets an HttpOnly session cookie that authenticates the dashboard until logout', async () => {
    const customer = await registerCustomer(test.http, 'cookie');
    const login = await test.http.post('/api/v1/auth/login', { email: customer.email, password: GOOD_PASSWORD, setCookie: true });
    const setCookie = login.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/saas_session=ss_/);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    const cookie = setCookie.split(';')[0] ?? '';
    const me = await test.http.get('/api/v1/me', { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(me.body.via).toBe('session');

    const crossSite = await test.http.post('/api/v1/api-keys', { name: 'x' }, { headers: { cookie, origin: 'https://evil.example' } });
    expect(crossSite.status).toBe(403);

    const logout = await test.http.post('/api/v1/auth/logout', undefined, { headers: { cookie } });
    expect(logout.status).toBe(204);
    const after = await test.http.get('/api/v1/me', { headers: { cookie } });
    expect(after.status).toBe(401);
  });
});

describe('password reset through a real SMTP server', () => {
  it('mails a link whose token sets a new password once and ends old sessions', async () => {
    const customer = await registerCustomer(test.http, 'reset');
    const asked = await test.http.post('/api/v1/auth/password-reset/request', { email: customer.email });
    expect(asked.status).toBe(202);
    const mail = await smtp.waitForMail(customer.email, /reset your password/i);
    const token = /token=([^\s&]+)/.exec(mail.text)?.[1];
    expect(token).toBeDefined();
    expect(mail.text).toContain('http://app.example.test/reset-password?token=');

    const weak = await test.http.post('/api/v1/auth/password-reset/confirm', { token: decodeURIComponent(token ?? ''), password: 'weak' });
    expect(weak.status).toBe(400);

    const newPassword = 'Brand-New-Secret-7';
    const confirmed = await test.http.post('/api/v1/auth/password-reset/confirm', {
      token: decodeURIComponent(token ?? ''),
      password: newPassword,
    });
    expect(confirmed.status).toBe(204);

    const reused = await test.http.post('/api/v1/auth/password-reset/confirm', {
      token: decodeURIComponent(token ?? ''),
      password: 'Another-Secret-8',
    });
    expect(reused.status).toBe(400);
    expect(reused.body.field).toBe('token');

    expect((await test.http.post('/api/v1/auth/login', { email: customer.email, password: GOOD_PASSWORD })).status).toBe(401);
    expect((await test.http.post('/api/v1/auth/login', { email: customer.email, password: newPassword })).status).toBe(200);
    expect((await test.http.post('/api/v1/auth/refresh', { refreshToken: customer.refreshToken })).status).toBe(401);
    expect((await test.http.get('/api/v1/me', { token: customer.accessToken })).status).toBe(401);
  });

  it('answers 202 for an unknown email and sends nothing', async () => {
    const ghost = uniqueEmail('nobody');
    const response = await test.http.post('/api/v1/auth/password-reset/request', { email: ghost });
    expect(response.status).toBe(202);
    await expect(smtp.waitForMail(ghost, /./, 500)).rejects.toThrow(/no mail/);
  });

  it('verifies the email address with the link from the welcome mail', async () => {
    const customer = await registerCustomer(test.http, 'verify');
    const mail = await smtp.waitForMail(customer.email, /confirm your email/i);
    const token = decodeURIComponent(/token=([^\s&]+)/.exec(mail.text)?.[1] ?? '');
    expect((await test.http.post('/api/v1/auth/verify-email', { token })).status).toBe(204);
    const me = await test.http.get('/api/v1/me', { token: customer.accessToken });
    expect(me.body.user.emailVerified).toBe(true);
  });
});

describe('API keys', () => {
  it('creates a key shown once, authenticates with it, lists it without the secret, and revokes it', async () => {
    const customer = await registerCustomer(test.http, 'apikey');
    const created = await test.http.post('/api/v1/api-keys', { name: 'deploy script' }, { token: customer.accessToken });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    expect(key).toMatch(/^sk_/);

    const me = await test.http.get('/api/v1/me', { token: key });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ via: 'api_key', user: { email: customer.email } });

    const list = await test.http.get('/api/v1/api-keys', { token: customer.accessToken });
    expect(list.body).toHaveLength(1);
    expect(list.text).not.toContain(key);
    expect(list.body[0]).toMatchObject({ name: 'deploy script', prefix: key.slice(0, 10) });
    expect(list.body[0].lastUsedAt).not.toBeNull();

    const stored = await test.platform.database.db
      .selectFrom('api_keys')
      .select('key_hash')
      .where('id', '=', created.body.id)
      .executeTakeFirstOrThrow();
    expect(stored.key_hash).not.toContain(key.slice(3));

    const revoked = await test.http.delete(`/api/v1/api-keys/${created.body.id}`, { token: customer.accessToken });
    expect(revoked.status).toBe(204);
    expect((await test.http.get('/api/v1/me', { token: key })).status).toBe(401);
  });

  it("cannot revoke another user's key", async () => {
    const owner = await registerCustomer(test.http, 'keyowner');
    const other = await registerCustomer(test.http, 'keythief');
    const created = await test.http.post('/api/v1/api-keys', { name: 'mine' }, { token: owner.accessToken });
    const attempt = await test.http.delete(`/api/v1/api-keys/${created.body.id}`, { token: other.accessToken });
    expect(attempt.status).toBe(404);
    expect((await test.http.get('/api/v1/me', { token: created.body.key })).status).toBe(200);
  });
});

describe('audit log', () => {
  it("does not take the bearer token or session sent with a public call for that call's actor", async () => {
    const bystander = await registerCustomer(test.http, 'bystander');
    const session = await test.http.post('/api/v1/auth/login', { email: bystander.email, password: GOOD_PASSWORD, setCookie: true });
    const cookie = (session.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const viaBearer = await test.http.post(
      '/api/v1/auth/register',
      { email: uniqueEmail('newcomer'), password: GOOD_PASSWORD, name: 'New', organization: 'New Ltd' },
      { token: bystander.accessToken },
    );
    const viaSession = await test.http.post(
      '/api/v1/auth/register',
      { email: uniqueEmail('newcomer'), password: GOOD_PASSWORD, name: 'New', organization: 'New Ltd' },
      { headers: { cookie } },
    );
    expect([viaBearer.status, viaSession.status]).toEqual([201, 201]);
    const rows = await test.platform.database.db
      .selectFrom('audit_log')
      .select(['actor_type', 'actor_user_id', 'account_id', 'target_id'])
      .where('target_id', 'in', [viaBearer.body.user.id, viaSession.body.user.id])
      .orderBy('at')
      .execute();
    expect(rows).toEqual([
      { actor_type: 'anonymous', actor_user_id: null, account_id: viaBearer.body.account.id, target_id: viaBearer.body.user.id },
      { actor_type: 'anonymous', actor_user_id: null, account_id: viaSession.body.account.id, target_id: viaSession.body.user.id },
    ]);
    // A token that is not valid does not make a public call fail either: it is not even read.
    const viaBadToken = await test.http.post('/api/v1/auth/password-reset/request', { email: bystander.email }, { token: 'not-a-token' });
    expect(viaBadToken.status).toBe(202);
  });

  it('records state-changing calls with actor, action, target and outcome', async () => {
    const customer = await registerCustomer(test.http, 'audit');
    const created = await test.http.post('/api/v1/api-keys', { name: 'audited' }, { token: customer.accessToken });
    await test.http.post('/api/v1/api-keys', { name: '' }, { token: customer.accessToken });
    const entries = await test.http.get('/api/v1/audit-log', { token: customer.accessToken });
    expect(entries.status).toBe(200);
    const actions = entries.body.map(
      (e: { action: string; outcome: string; targetId: string | null }) => `${e.action} ${e.outcome} ${e.targetId}`,
    );
    expect(actions).toContain(`POST /api/v1/api-keys success ${created.body.id}`);
    expect(actions).toContain('POST /api/v1/api-keys failure null');
    const success = entries.body.find((e: { targetId: string }) => e.targetId === created.body.id);
    expect(success).toMatchObject({ actorUserId: customer.userId, actorType: 'user', statusCode: 201, accountId: customer.accountId });
    expect(new Date(success.at).getTime()).toBeGreaterThan(Date.now() - 60_000);
    // A customer sees only their own account's entries.
    expect(entries.body.every((e: { accountId: string }) => e.accountId === customer.accountId)).toBe(true);
  });
});
