import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostRequest } from '../helpers/gateway-client.js';
import { startTestPlatform, type TestPlatform } from '../helpers/platform.js';

/** `/metrics` behind METRICS_TOKEN, and the security headers on every kind of API answer. */
const METRICS_TOKEN = 'metrics-token-for-the-test-0123456789';
let test: TestPlatform;
let withoutToken: TestPlatform;

beforeAll(async () => {
  [test, withoutToken] = await Promise.all([startTestPlatform({ METRICS_TOKEN }), startTestPlatform()]);
});

afterAll(async () => {
  await Promise.all([test?.stop(), withoutToken?.stop()]);
});

describe('/metrics', () => {
  it('answers Prometheus holding METRICS_TOKEN, and only it', async () => {
    const scraped = await test.http.get('/metrics', { token: METRICS_TOKEN });
    expect(scraped.status).toBe(200);
    expect(scraped.text).toContain('saas_http_requests_total');
    for (const token of [undefined, 'wrong-token', METRICS_TOKEN.slice(0, -1), `${METRICS_TOKEN}x`]) {
      const refused = await test.http.get('/metrics', { token });
      expect(refused.status, String(token)).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      expect(refused.body).toMatchObject({ status: 401, field: 'authorization' });
      expect(refused.text).not.toContain('saas_');
    }
    // A session cookie is no metrics token either.
    const withSession = await test.http.get('/metrics', { headers: { cookie: 'saas_session=whatever' } });
    expect(withSession.status).toBe(401);
  });

  it('is off (404) when no METRICS_TOKEN is configured', async () => {
    const response = await withoutToken.http.get('/metrics', { token: 'anything-at-all-here' });
    expect(response.status).toBe(404);
    expect(response.text).not.toContain('saas_');
  });
});

describe('security headers', () => {
  function expectHardened(headers: Headers, what: string): void {
    expect(headers.get('x-content-type-options'), what).toBe('nosniff');
    expect(headers.get('x-frame-options'), what).toBe('DENY');
    expect(headers.get('referrer-policy'), what).toBeTruthy();
    expect(headers.get('content-security-policy'), what).toContain("frame-ancestors 'none'");
  }

  it('come with JSON and every problem+json, whichever stage refused the request', async () => {
    const answers = {
      json: await test.http.get('/api/v1/plans'),
      health: await test.http.get('/healthz'),
      notFound: await test.http.get('/api/v1/no-such-thing'),
      unauthenticated: await test.http.get('/api/v1/me'),
      badToken: await test.http.get('/api/v1/me', { token: 'not-a-token' }),
      unsupportedMediaType: await test.http.post('/api/v1/auth/login', undefined, { raw: 'x', headers: { 'content-type': 'text/plain' } }),
      tooLarge: await test.http.post('/api/v1/auth/login', undefined, { raw: JSON.stringify({ email: 'x'.repeat(100_000) }) }),
      badUrl: await test.http.get('/api/v1/tenants/%E0%A4%A'),
      metricsRefused: await test.http.get('/metrics'),
    };
    expect(Object.fromEntries(Object.entries(answers).map(([what, response]) => [what, response.status]))).toEqual({
      json: 200,
      health: 200,
      notFound: 404,
      unauthenticated: 401,
      badToken: 401,
      unsupportedMediaType: 415,
      tooLarge: 413,
      badUrl: 400,
      metricsRefused: 401,
    });
    for (const [what, response] of Object.entries(answers)) {
      expectHardened(response.headers, what);
      expect(response.headers.get('content-security-policy'), what).toContain("default-src 'none'");
    }
  });

  it('give the API reference a policy it can run under, not framable', async () => {
    const page = await test.http.get('/api/v1/docs/');
    expect(page.status).toBe(200);
    expectHardened(page.headers, 'docs');
    const policy = page.headers.get('content-security-policy') ?? '';
    // swagger-ui loads its own files and sets inline style attributes; no inline script.
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(policy).toContain("style-src 'self' 'unsafe-inline'");
    const script = await test.http.get('/api/v1/docs/static/swagger-initializer.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('keep the dashboard page policy and give gateway pages nosniff', async () => {
    const dashboard = await test.http.get('/');
    expectHardened(dashboard.headers, 'dashboard');
    expect(dashboard.headers.get('content-security-policy')).toContain("script-src 'self'");
    const port = Number(new URL(test.url).port);
    const page = await hostRequest(port, `nobody.${test.config.baseDomain}:${port}`, 'GET', '/');
    expect(page.status).toBe(404);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
  });
});
