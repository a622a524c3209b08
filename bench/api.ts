/**
 * HTTP API benchmark: starts the whole platform (its own DATA_DIR and managed PostgreSQL, as
 * `saasctl serve` would), registers a user, then loads `GET /api/v1/plans` and
 * `POST /api/v1/auth/login` with 50 concurrent connections for BENCH_SECONDS (default 10) each,
 * and prints requests/s, p50/p95/p99 latency and error counts. Not part of the test suite.
 *
 *   .tools/node/node_modules/node/bin/node --import tsx bench/api.ts
 *
 * Environment: BENCH_SECONDS, BENCH_CONNECTIONS (default 50), LOG_LEVEL (default warn),
 * BENCH_DATA_DIR (keep the data there instead of a temporary directory removed at the end).
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon, { type RequestSpec } from 'autocannon';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { loadConfig } from '../src/config/index.js';
import { startPlatform } from '../src/main.js';
import { freePort } from '../src/system/index.js';

const seconds = positiveNumber('BENCH_SECONDS', 10);
const connections = positiveNumber('BENCH_CONNECTIONS', 50);
const password = 'Bench-Password-42';
const email = `bench-${Date.now().toString(36)}@example.com`;

function positiveNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

interface Scenario {
  name: string;
  path: string;
  method: 'GET' | 'POST';
  body?: unknown;
  headers?: Record<string, string>;
  /** Bodies to send in turn instead of `body` (e.g. one login per user). */
  bodies?: unknown[];
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}

function rotatingBody(bodies: string[]): RequestSpec {
  let next = 0;
  return {
    setupRequest: (request) => {
      const body = bodies[next++ % bodies.length];
      return { ...request, headers: { ...request.headers, 'content-type': 'application/json' }, body };
    },
  };
}

async function runScenario(baseUrl: string, scenario: Scenario) {
  // Exact percentiles from every response time (autocannon's own summary has no p95).
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const instance = autocannon({
    url: `${baseUrl}${scenario.path}`,
    method: scenario.method,
    connections,
    duration: seconds,
    timeout: 30,
    ...(scenario.headers === undefined ? {} : { headers: scenario.headers }),
    ...(scenario.body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(scenario.body) }),
    ...(scenario.bodies === undefined ? {} : { requests: [rotatingBody(scenario.bodies.map((body) => JSON.stringify(body)))] }),
  });
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    latencies.push(responseTime);
    statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1);
  });
  const result = await instance;
  latencies.sort((a, b) => a - b);
  const ok = [...statuses].filter(([code]) => code >= 200 && code < 300).reduce((sum, [, count]) => sum + count, 0);
  return {
    name: scenario.name,
    requests: latencies.length,
    requestsPerSecond: latencies.length / result.duration,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    max: latencies.at(-1) ?? Number.NaN,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statuses: Object.fromEntries([...statuses].sort(([a], [b]) => a - b)),
  };
}

function print(summary: Awaited<ReturnType<typeof runScenario>>): void {
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  console.log(
    [
      `${summary.name}`,
      `  requests: ${summary.requests} in ${seconds} s = ${summary.requestsPerSecond.toFixed(0)} req/s`,
      `  latency:  p50 ${ms(summary.p50)}  p95 ${ms(summary.p95)}  p99 ${ms(summary.p99)}  max ${ms(summary.max)}`,
      `  outcome:  ${summary.ok} 2xx, ${summary.non2xx} non-2xx, ${summary.errors} errors (${summary.timeouts} timeouts); by status ${JSON.stringify(summary.statuses)}`,
    ].join('\n'),
  );
}

/**
 * autocannon drops its connections at the end while the server may still work on requests it
 * accepted (logins queue for the scrypt thread pool). A few more logins, one after the other,
 * queue behind that backlog (the thread pool and the connection pool are FIFO), so the next
 * scenario, or the shutdown, does not overlap with it. (Shutting down while handlers of
 * abandoned requests still run makes them fail on the closed database pool.)
 */
async function drain(baseUrl: string): Promise<void> {
  const response = await fetch(`${baseUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (response.status !== 200) throw new Error(`login after the scenario failed: ${response.status} ${await response.text()}`);
}

/**
 * An external identity provider's keys (one ES256 key, served as a JWKS on loopback) and a token
 * it signed: the bearer-token scenario measures verification against the cached key set.
 */
async function startExternalIssuer() {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' }] });
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(jwks));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const issuer = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    setting: JSON.stringify([{ name: 'bench', issuer, jwksUrl: `${issuer}/jwks`, audience: 'bench', allowSignUp: true, trustEmail: true }]),
    token: (subject: string) =>
      new SignJWT({ email: `${subject}@external.example`, name: 'External Bench' })
        .setProtectedHeader({ alg: 'ES256', kid: 'bench' })
        .setIssuer(issuer)
        .setAudience('bench')
        .setSubject(subject)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(privateKey),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

async function main(): Promise<void> {
  const external = await startExternalIssuer();
  const keepData = Boolean(process.env.BENCH_DATA_DIR);
  const dataDir = process.env.BENCH_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'saas-bench-'));
  // As root, the managed PostgreSQL runs as the postgres user and must reach DATA_DIR.
  if (!keepData) chmodSync(dataDir, 0o711);
  const port = await freePort();
  const config = loadConfig({
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    // The real limit (5 logins per minute per IP and email) would refuse nearly every request below.
    LOGIN_RATE_LIMIT_PER_MINUTE: '1000000000',
    OIDC_ISSUERS: external.setting,
  });
  console.log(`Starting the platform (managed PostgreSQL in ${dataDir}) ...`);
  const started = Date.now();
  const platform = await startPlatform(config);
  const baseUrl = platform.url ?? `http://127.0.0.1:${port}`;
  try {
    console.log(`Platform ready at ${baseUrl} in ${Date.now() - started} ms`);
    console.log(
      `Node ${process.version}, ${cpus().length} CPU(s) (${cpus()[0]?.model ?? 'unknown'}), ${connections} connections, ${seconds} s per scenario`,
    );
    console.log(
      `NOTE: login rate limit raised to ${config.loginRateLimitPerMinute}/min for this benchmark ` +
        '(the default 5/min per IP+email would answer 429 to nearly every login).',
    );

    const registered = await fetch(`${baseUrl}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password, name: 'Bench User', organization: 'Bench Org' }),
    });
    if (registered.status !== 201) throw new Error(`registration failed: ${registered.status} ${await registered.text()}`);
    await drain(baseUrl); // also checks that the login works before measuring it

    // Reference point: one login at a time, no contention.
    const single: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      await drain(baseUrl);
      single.push(performance.now() - t0);
    }
    single.sort((a, b) => a - b);
    console.log(`Unloaded login (20 sequential): p50 ${percentile(single, 50).toFixed(1)} ms, max ${(single.at(-1) ?? 0).toFixed(1)} ms`);

    // Logins of one user all share one rate-limit bucket (IP + email), whose check is serialised
    // in PostgreSQL; many users logging in at once is the other realistic case.
    const others = await Promise.all(
      Array.from({ length: connections }, async (_, i) => {
        const other = `bench-${i}-${Date.now().toString(36)}@example.com`;
        const response = await fetch(`${baseUrl}/api/v1/auth/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: other, password, name: `Bench ${i}`, organization: `Bench Org ${i}` }),
        });
        if (response.status !== 201) throw new Error(`registration failed: ${response.status} ${await response.text()}`);
        return { email: other, password };
      }),
    );

    const login = await fetch(`${baseUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const externalToken = await external.token(`bench-${Date.now().toString(36)}`);
    // The first use signs the external user up; the scenario measures the steady state.
    const first = await fetch(`${baseUrl}/api/v1/me`, { headers: { authorization: `Bearer ${externalToken}` } });
    if (first.status !== 200) throw new Error(`external token refused: ${first.status} ${await first.text()}`);

    const scenarios: Scenario[] = [
      { name: 'GET /api/v1/plans', path: '/api/v1/plans', method: 'GET' },
      {
        name: 'GET /api/v1/me (platform access token, HS256)',
        path: '/api/v1/me',
        method: 'GET',
        headers: { authorization: `Bearer ${accessToken}` },
      },
      {
        name: 'GET /api/v1/me (external issuer token, ES256, cached JWKS)',
        path: '/api/v1/me',
        method: 'GET',
        headers: { authorization: `Bearer ${externalToken}` },
      },
      { name: 'POST /api/v1/auth/login (one user)', path: '/api/v1/auth/login', method: 'POST', body: { email, password } },
      { name: `POST /api/v1/auth/login (${others.length} users in turn)`, path: '/api/v1/auth/login', method: 'POST', bodies: others },
    ];
    const failures: string[] = [];
    for (const scenario of scenarios) {
      const summary = await runScenario(baseUrl, scenario);
      print(summary);
      if (summary.ok === 0 || summary.non2xx > 0 || summary.errors > 0) failures.push(scenario.name);
      for (let i = 0; i < 3; i++) await drain(baseUrl);
    }
    if (failures.length > 0) {
      console.log(`WARNING: errors or non-2xx answers in: ${failures.join(', ')} (the figures above include them)`);
      process.exitCode = 1;
    }
  } finally {
    await platform.stop();
    await external.close();
    if (!keepData) rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
