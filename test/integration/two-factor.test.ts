import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessTokenSigner, createAuthService } from '../../src/auth/index.js';
import { CODE_ATTEMPTS_PER_WINDOW, currentTotp } from '../../src/identity/index.js';
import { createLogger } from '../../src/logging/index.js';
import { createMailer } from '../../src/notifications/index.js';
import { createSecretBox } from '../../src/secrets/index.js';
import { runCli } from '../helpers/cli.js';
import { GOOD_PASSWORD, registerCustomer, startTestPlatform, type TestPlatform, uniqueEmail } from '../helpers/platform.js';

/**
 * TOTP two-factor authentication against the running platform: codes are computed from the
 * shared secret as an authenticator app would (RFC 6238), one time step at a time.
 */

/** A code for the step after the given one, so a test never has to wait for the clock. */
const codeAt = (secret: string, stepsAhead = 0) => currentTotp(secret, Date.now() + stepsAhead * 30_000);

let test: TestPlatform;
let strict: TestPlatform;

beforeAll(async () => {
  [test, strict] = await Promise.all([startTestPlatform(), startTestPlatform({ REQUIRE_OPERATOR_2FA: 'true' })]);
});
afterAll(async () => {
  await Promise.all([test?.stop(), strict?.stop()]);
});

/** A customer with TOTP on: its secret and its recovery codes. */
async function enrolledCustomer(label: string) {
  const customer = await registerCustomer(test.http, label);
  const started = await test.http.post('/api/v1/me/two-factor', undefined, { token: customer.accessToken });
  expect(started.status).toBe(200);
  const secret = started.body.secret as string;
  const confirmed = await test.http.post('/api/v1/me/two-factor/confirm', { code: codeAt(secret) }, { token: customer.accessToken });
  expect(confirmed.status).toBe(200);
  return { ...customer, secret, recoveryCodes: confirmed.body.recoveryCodes as string[] };
}

async function passwordStep(target: TestPlatform, email: string) {
  const answer = await target.http.post('/api/v1/auth/login', { email, password: GOOD_PASSWORD });
  expect(answer.status).toBe(200);
  return answer.body;
}

async function auditActions(userId: string): Promise<string[]> {
  const rows = await test.platform.database.db.selectFrom('audit_log').select('action').where('actor_user_id', '=', userId).execute();
  return rows.map((r) => r.action);
}

describe('enrolment', () => {
  it('switches TOTP on with a first code and shows ten recovery codes once; the secret is stored encrypted, the codes hashed', async () => {
    const customer = await registerCustomer(test.http, 'enrol');
    const started = await test.http.post('/api/v1/me/two-factor', undefined, { token: customer.accessToken });
    expect(started.body.otpauthUri).toMatch(/^otpauth:\/\/totp\/.*secret=[A-Z2-7]+/);
    const wrong = await test.http.post('/api/v1/me/two-factor/confirm', { code: '000000' }, { token: customer.accessToken });
    expect(wrong.status).toBe(400);
    expect(wrong.body.field).toBe('code');
    expect((await test.http.get('/api/v1/me/two-factor', { token: customer.accessToken })).body.enabled).toBe(false);

    const confirmed = await test.http.post(
      '/api/v1/me/two-factor/confirm',
      { code: codeAt(started.body.secret) },
      { token: customer.accessToken },
    );
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.recoveryCodes).toHaveLength(10);
    expect(new Set(confirmed.body.recoveryCodes).size).toBe(10);
    expect((await test.http.get('/api/v1/me/two-factor', { token: customer.accessToken })).body).toEqual({
      enabled: true,
      recoveryCodesLeft: 10,
    });

    const db = test.platform.database.db;
    const stored = await db
      .selectFrom('totp_enrolments')
      .select('secret_encrypted')
      .where('user_id', '=', customer.userId)
      .executeTakeFirstOrThrow();
    expect(stored.secret_encrypted).toMatch(/^v1\./);
    expect(stored.secret_encrypted).not.toContain(started.body.secret);
    const hashes = await db.selectFrom('recovery_codes').select('code_hash').where('user_id', '=', customer.userId).execute();
    const normalised = confirmed.body.recoveryCodes.map((c: string) => c.replaceAll('-', ''));
    expect(hashes.every((h) => !normalised.includes(h.code_hash) && !confirmed.body.recoveryCodes.includes(h.code_hash))).toBe(true);
    expect(await auditActions(customer.userId)).toContain('identity.2fa_enrolled');
  });
});

describe('login with a second factor', () => {
  it('answers a challenge instead of tokens, and tokens for the right code; the same code is not accepted twice', async () => {
    const customer = await enrolledCustomer('login2fa');
    const first = await passwordStep(test, customer.email);
    expect(first).toMatchObject({ secondFactor: 'totp', challenge: expect.stringMatching(/^mf_/) });
    expect(first.accessToken).toBeUndefined();

    const wrong = await test.http.post('/api/v1/auth/login/second-factor', { challenge: first.challenge, code: '123456' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.field).toBe('code');
    const code = codeAt(customer.secret, 1);
    const done = await test.http.post('/api/v1/auth/login/second-factor', { challenge: first.challenge, code, setCookie: true });
    expect(done.status).toBe(200);
    expect(done.body.accessToken).toEqual(expect.any(String));
    expect(done.headers.get('set-cookie')).toMatch(/saas_session=ss_/);
    expect((await test.http.get('/api/v1/me', { token: done.body.accessToken })).body.user.email).toBe(customer.email);

    // The challenge is spent, and the code cannot be replayed on a new one.
    expect((await test.http.post('/api/v1/auth/login/second-factor', { challenge: first.challenge, code })).status).toBe(401);
    const second = await passwordStep(test, customer.email);
    const replay = await test.http.post('/api/v1/auth/login/second-factor', { challenge: second.challenge, code });
    expect(replay.status).toBe(401);
    expect(await auditActions(customer.userId)).toEqual(expect.arrayContaining(['identity.2fa_used', 'identity.2fa_failed']));
  });

  it('accepts each recovery code once', async () => {
    const customer = await enrolledCustomer('recovery');
    const [code] = customer.recoveryCodes;
    const first = await passwordStep(test, customer.email);
    // Typed differently from how it was shown (upper case, no dashes): still the same code.
    const used = await test.http.post('/api/v1/auth/login/second-factor', {
      challenge: first.challenge,
      code: code?.toUpperCase().replaceAll('-', ''),
    });
    expect(used.status).toBe(200);
    expect(used.body.accessToken).toEqual(expect.any(String));
    const again = await passwordStep(test, customer.email);
    const reused = await test.http.post('/api/v1/auth/login/second-factor', { challenge: again.challenge, code });
    expect(reused.status).toBe(401);
    expect((await test.http.get('/api/v1/me/two-factor', { token: used.body.accessToken })).body.recoveryCodesLeft).toBe(9);
    expect(await auditActions(customer.userId)).toContain('identity.recovery_code_used');
  });

  it(`limits code attempts to ${CODE_ATTEMPTS_PER_WINDOW} per user in five minutes, right or wrong`, async () => {
    const customer = await enrolledCustomer('ratelimit'); // the confirmation was the first attempt
    const { challenge } = await passwordStep(test, customer.email);
    for (let attempt = 2; attempt <= CODE_ATTEMPTS_PER_WINDOW; attempt++) {
      const wrong = await test.http.post('/api/v1/auth/login/second-factor', { challenge, code: '000000' });
      expect(wrong.status).toBe(401);
    }
    const blocked = await test.http.post('/api/v1/auth/login/second-factor', { challenge, code: codeAt(customer.secret, 1) });
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(blocked.body.detail).toMatch(/Too many code attempts/);
  });
});

describe('API keys and removal need a fresh second factor', () => {
  it('refuses to create an API key without a current code, then creates one with it; keys stay single-factor for scripts', async () => {
    const customer = await enrolledCustomer('apikey');
    const token = (
      await test.http.post('/api/v1/auth/login/second-factor', {
        challenge: (await passwordStep(test, customer.email)).challenge,
        code: customer.recoveryCodes[0],
      })
    ).body.accessToken;
    const without = await test.http.post('/api/v1/api-keys', { name: 'ci' }, { token });
    expect(without.status).toBe(400);
    expect(without.body.field).toBe('code');
    const created = await test.http.post('/api/v1/api-keys', { name: 'ci', code: codeAt(customer.secret, 1) }, { token });
    expect(created.status).toBe(201);
    expect((await test.http.get('/api/v1/me', { token: created.body.key })).body.via).toBe('api_key');
    // A customer without two-factor creates keys as before.
    const plain = await registerCustomer(test.http, 'plainkey');
    expect((await test.http.post('/api/v1/api-keys', { name: 'ci' }, { token: plain.accessToken })).status).toBe(201);
  });

  it('switches TOTP off only with a code, after which a password is enough again', async () => {
    const customer = await enrolledCustomer('remove');
    const login = await test.http.post('/api/v1/auth/login/second-factor', {
      challenge: (await passwordStep(test, customer.email)).challenge,
      code: customer.recoveryCodes[1],
    });
    const token = login.body.accessToken;
    expect((await test.http.post('/api/v1/me/two-factor/remove', { code: '000000' }, { token })).status).toBe(401);
    expect((await test.http.post('/api/v1/me/two-factor/remove', { code: codeAt(customer.secret, 1) }, { token })).status).toBe(204);
    expect((await passwordStep(test, customer.email)).accessToken).toEqual(expect.any(String));
    expect(await auditActions(customer.userId)).toContain('identity.2fa_removed');
  });
});

describe('operators when REQUIRE_OPERATOR_2FA is set', () => {
  async function operatorOn(target: TestPlatform) {
    const logger = createLogger('silent');
    const signer = createAccessTokenSigner(createSecretBox(target.config.secretKey ?? '').deriveKey('access-token'), 900);
    const auth = createAuthService({
      db: target.platform.database.db,
      config: target.config,
      signer,
      mailer: createMailer({ smtpUrl: undefined, from: 'x@example.com', outboxDir: join(target.config.dataDir, 'outbox'), logger }),
      logger,
    });
    const user = await auth.createOperator({ email: uniqueEmail('op2fa'), password: GOOD_PASSWORD, name: 'Operator' });
    return { user, auth };
  }

  it('refuses an operator without two-factor: no tokens from the password, old tokens refused; enrolment during login lets them in', async () => {
    const { user, auth } = await operatorOn(strict);
    const first = await passwordStep(strict, user.email);
    expect(first).toMatchObject({ secondFactor: 'enrol', challenge: expect.stringMatching(/^mf_/) });
    expect(first.accessToken).toBeUndefined();

    // A token issued before the requirement (minted here directly) is refused on every route.
    const { accessToken } = await auth.issueTokens(user.id);
    const refused = await strict.http.get('/api/v1/accounts', { token: accessToken });
    expect(refused.status).toBe(401);
    expect(refused.body.detail).toMatch(/Operators must use two-factor authentication/);

    const enrolment = await strict.http.post('/api/v1/auth/login/enrol', { challenge: first.challenge });
    expect(enrolment.status).toBe(200);
    const done = await strict.http.post('/api/v1/auth/login/second-factor', {
      challenge: first.challenge,
      code: codeAt(enrolment.body.secret),
    });
    expect(done.status).toBe(200);
    expect(done.body.recoveryCodes).toHaveLength(10);
    expect((await strict.http.get('/api/v1/accounts', { token: done.body.accessToken })).status).toBe(200);
    expect((await strict.http.get('/api/v1/accounts', { token: accessToken })).status).toBe(200);

    // They may not switch it off while it is required.
    const off = await strict.http.post(
      '/api/v1/me/two-factor/remove',
      { code: codeAt(enrolment.body.secret, 1) },
      { token: done.body.accessToken },
    );
    expect(off.status).toBe(409);
    // Customers stay free to use a password alone.
    const customer = await registerCustomer(strict.http, 'strictcustomer');
    expect(customer.accessToken).toEqual(expect.any(String));
  });
});

describe('saasctl login', () => {
  it('asks for the code after the password (second line of standard input) and refuses without it', async () => {
    const customer = await enrolledCustomer('cli2fa');
    const dir = mkdtempSync(join(tmpdir(), 'saasctl-2fa-'));
    try {
      const env = { SAASCTL_CONFIG: join(dir, 'credentials.json') };
      const args = ['login', '--email', customer.email, '--password-stdin', '--url', test.url, '--json'];
      const missing = await runCli(args, { env, input: `${GOOD_PASSWORD}\n` });
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toMatch(/two-factor authentication: put the code on the second line/);

      const result = await runCli(args, { env, input: `${GOOD_PASSWORD}\n${codeAt(customer.secret, 1)}\n` });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ email: customer.email, role: 'customer' });
      expect(statSync(env.SAASCTL_CONFIG).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
