import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemDeviations } from '../helpers/openapi.js';
import { GOOD_PASSWORD, startTestPlatform, type TestPlatform, uniqueEmail } from '../helpers/platform.js';

/**
 * Login rate limiting with the default setting (5 attempts a minute per IP and email). The platform
 * does not trust proxy headers by default, so every request here comes from 127.0.0.1 and the
 * buckets differ by email only.
 */

let test: TestPlatform;

beforeAll(async () => {
  // The helper raises the limit for other suites; an empty value is "unset" for loadConfig.
  test = await startTestPlatform({ LOGIN_RATE_LIMIT_PER_MINUTE: '' });
});
afterAll(async () => {
  await test?.stop();
});

async function register(label: string): Promise<string> {
  const email = uniqueEmail(label);
  const response = await test.http.post('/api/v1/auth/register', { email, password: GOOD_PASSWORD, name: 'Rate', organization: 'Limited' });
  if (response.status !== 201) throw new Error(`register failed: ${response.status} ${response.text}`);
  return email;
}

const login = (email: string, password: string, headers?: Record<string, string>) =>
  test.http.post('/api/v1/auth/login', { email, password }, { headers });

describe('login rate limit (default 5 per minute per IP and email)', () => {
  it('uses the default of 5 when LOGIN_RATE_LIMIT_PER_MINUTE is unset', () => {
    expect(test.config.loginRateLimitPerMinute).toBe(5);
  });

  it('lets 5 attempts reach the credential check, then answers 429 with Retry-After, even to the right password', async () => {
    const email = await register('limited');
    for (let attempt = 1; attempt <= 5; attempt++) {
      const response = await login(email, 'Wrong-Password-1');
      expect(response.status, `attempt ${attempt}`).toBe(401);
      expect(response.body.detail).toBe('Wrong email or password.');
    }
    const limited = await login(email, 'Wrong-Password-1');
    expect(limited.status).toBe(429);
    expect(problemDeviations(limited)).toEqual([]);
    expect(limited.body.type).toBe('/problems/rate_limited');
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // The body says when to retry, in agreement with the header.
    expect(limited.body.detail).toMatch(new RegExp(`try again in ${retryAfter} s`));

    const right = await login(email, GOOD_PASSWORD);
    expect(right.status).toBe(429);
    expect(right.body.accessToken).toBeUndefined();
    // The same email in another case is the same bucket.
    expect((await login(email.toUpperCase(), GOOD_PASSWORD)).status).toBe(429);
  });

  it('does not limit another email from the same IP', async () => {
    const limitedEmail = await register('noisy');
    for (let attempt = 0; attempt < 6; attempt++) await login(limitedEmail, 'Wrong-Password-1');
    expect((await login(limitedEmail, GOOD_PASSWORD)).status).toBe(429);

    const otherEmail = await register('quiet');
    expect((await login(otherEmail, 'Wrong-Password-1')).status).toBe(401);
    const ok = await login(otherEmail, GOOD_PASSWORD);
    expect(ok.status).toBe(200);
    expect(ok.body.accessToken).toEqual(expect.any(String));
  });

  it('ignores X-Forwarded-For (proxies are not trusted by default), so spoofed addresses share the bucket', async () => {
    const email = await register('spoof');
    for (let attempt = 0; attempt < 5; attempt++) {
      const response = await login(email, 'Wrong-Password-1', { 'x-forwarded-for': `203.0.113.${attempt}` });
      expect(response.status).toBe(401);
    }
    const spoofed = await login(email, GOOD_PASSWORD, { 'x-forwarded-for': '198.51.100.77' });
    expect(spoofed.status).toBe(429);
  });

  it('counts concurrent attempts exactly: 5 get through, the rest are refused', async () => {
    const email = await register('burst');
    const responses = await Promise.all(Array.from({ length: 12 }, () => login(email, 'Wrong-Password-1')));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
  });

  it('lets the user in again once the window has passed', async () => {
    const email = await register('later');
    for (let attempt = 0; attempt < 5; attempt++) await login(email, 'Wrong-Password-1');
    expect((await login(email, GOOD_PASSWORD)).status).toBe(429);
    // Age the recorded attempts past the one-minute window instead of waiting for it.
    const aged = await test.platform.database.db
      .updateTable('rate_limit_hits')
      .set({ hit_at: sql`now() - interval '61 seconds'` })
      .where('bucket', 'like', `%:${email.toLowerCase()}`)
      .executeTakeFirst();
    expect(Number(aged.numUpdatedRows)).toBe(5);
    expect((await login(email, GOOD_PASSWORD)).status).toBe(200);
  });
});
