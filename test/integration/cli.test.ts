import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, cliEnvironment, repositoryRoot, runCli } from '../helpers/cli.js';
import { createOperator, GOOD_PASSWORD, startTestPlatform, type TestPlatform, uniqueEmail } from '../helpers/platform.js';
import { freeTestPort } from '../helpers/ports.js';

/**
 * saasctl as a real child process against a real platform (in-process, on the suite's
 * PostgreSQL): the CLI gets the same DATABASE_URL / SECRET_KEY / DATA_DIR a serving platform has.
 */

let test: TestPlatform;
let scratch: string;
let credentialsFile: string;
const operatorEmail = uniqueEmail('cli-operator');

beforeAll(async () => {
  test = await startTestPlatform();
  scratch = mkdtempSync(join(tmpdir(), 'saas-cli-test-'));
  // The managed PostgreSQL runs as the postgres user when we are root: it must reach DATA_DIR.
  chmodSync(scratch, 0o711);
  credentialsFile = join(scratch, 'config', 'credentials.json');
});
afterAll(async () => {
  await test?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** Runs saasctl with the platform's settings and a private credentials file. */
function saasctl(args: string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return runCli(args, {
    input: options.input,
    env: {
      DATABASE_URL: test.database.url,
      SECRET_KEY: test.config.secretKey ?? '',
      DATA_DIR: test.config.dataDir,
      SAASCTL_CONFIG: credentialsFile,
      HOME: scratch,
      ...options.env,
    },
  });
}

function parseJson(result: CliResult): any {
  expect(result.code, `stderr: ${result.stderr}`).toBe(0);
  return JSON.parse(result.stdout);
}

describe('saasctl against a running platform', () => {
  // The steps build on each other (operator, then login, then authenticated commands).
  it('operator create --password-stdin --json creates an operator who can log in', async () => {
    const result = await saasctl(['operator', 'create', '--email', operatorEmail, '--name', 'Ops Person', '--password-stdin', '--json'], {
      input: `${GOOD_PASSWORD}\n`,
      // Even with chatty logs, stdout carries only the JSON document.
      env: { LOG_LEVEL: 'info' },
    });
    const user = parseJson(result);
    expect(user).toMatchObject({ email: operatorEmail, name: 'Ops Person', role: 'operator' });
    expect(result.stdout).not.toContain(GOOD_PASSWORD);

    const row = await test.platform.database.db.selectFrom('users').select(['role', 'email']).where('id', '=', user.id).executeTakeFirst();
    expect(row).toEqual({ role: 'operator', email: operatorEmail });
    const login = await test.http.post('/api/v1/auth/login', { email: operatorEmail, password: GOOD_PASSWORD });
    expect(login.status).toBe(200);
    expect(login.body.user.role).toBe('operator');
    // saasctl starts a whole Node process: ~15 s at load 20 on 2 cores, past the default 30 s twice.
  }, 120_000);

  it('operator create refuses a weak password, says why, and creates nothing', async () => {
    const email = uniqueEmail('cli-weak');
    const result = await saasctl(['operator', 'create', '--email', email, '--name', 'Weak', '--password-stdin'], { input: 'short\n' });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Password must be at least 8 characters/);
    expect(result.stderr).toMatch(/field: password/);
    expect(result.stdout).toBe('');
    const row = await test.platform.database.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
    expect(row).toBeUndefined();
  });

  it('operator create refuses an email that is taken', async () => {
    const result = await saasctl(['operator', 'create', '--email', operatorEmail, '--name', 'Again', '--password-stdin'], {
      input: GOOD_PASSWORD,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/already exists/);
  });

  it('login stores the tokens in a 0600 file', async () => {
    expect(existsSync(credentialsFile)).toBe(false);
    const result = await saasctl(['login', '--email', operatorEmail, '--password-stdin', '--url', test.url, '--json'], {
      input: GOOD_PASSWORD,
    });
    const summary = parseJson(result);
    expect(summary).toMatchObject({ url: test.url, email: operatorEmail, role: 'operator', credentials: credentialsFile });
    expect(statSync(credentialsFile).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(credentialsFile, 'utf8'));
    expect(stored).toMatchObject({ url: test.url, email: operatorEmail });
    expect(stored.refreshToken).toMatch(/^rt_/);
    expect(stored).not.toHaveProperty('password');
    expect(readFileSync(credentialsFile, 'utf8')).not.toContain(GOOD_PASSWORD);
    // The stored access token is a working one.
    const me = await test.http.get('/api/v1/me', { token: stored.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.user.email).toBe(operatorEmail);
  });

  it('whoami --json shows the logged-in operator (URL taken from the stored credentials)', async () => {
    const me = parseJson(await saasctl(['whoami', '--json']));
    expect(me.user).toMatchObject({ email: operatorEmail, role: 'operator' });
    const text = await saasctl(['whoami']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`${operatorEmail} (operator) at ${test.url}`);
  });

  it('whoami refreshes an expired access token and saves the rotated pair', async () => {
    const before = JSON.parse(readFileSync(credentialsFile, 'utf8'));
    writeFileSync(credentialsFile, JSON.stringify({ ...before, accessToken: 'not-a-valid-token' }));
    chmodSync(credentialsFile, 0o600);
    const me = parseJson(await saasctl(['whoami', '--json']));
    expect(me.user.email).toBe(operatorEmail);
    const after = JSON.parse(readFileSync(credentialsFile, 'utf8'));
    expect(after.accessToken).not.toBe('not-a-valid-token');
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect(statSync(credentialsFile).mode & 0o777).toBe(0o600);
  });

  it('plans list --json prints the four default plans', async () => {
    const plans = parseJson(await saasctl(['plans', 'list', '--json']));
    expect(plans.map((p: { code: string }) => p.code).sort()).toEqual(['basic', 'enterprise', 'premium', 'standard']);
    for (const plan of plans) {
      expect(plan.limits.cpu).toBeGreaterThan(0);
      expect(plan.limits.odooUsers).toBeGreaterThan(0);
    }
  });

  it('plans list prints a table', async () => {
    const result = await saasctl(['plans', 'list']);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^CODE\s+NAME\s+CPU/);
    expect(lines).toHaveLength(5);
    const basic = lines.find((line) => line.startsWith('basic '));
    expect(basic).toBeDefined();
    expect(basic).toMatch(/\bfree\b/);
    expect(lines.find((line) => line.startsWith('standard '))).toMatch(/USD 19\.00\/month/);
  });

  it('plans list prices a zero-decimal currency in whole units (JPY has no minor digits)', async () => {
    const operator = await createOperator(test);
    const yen = {
      code: 'cli-yen',
      name: 'Yen',
      limits: { cpu: 1, memoryMiB: 1024, storageGiB: 5, odooUsers: 10 },
      placement: { databaseStrategy: 'shared', processStrategy: 'dedicated', replicas: 1, limitPolicy: 'warn' },
      prices: [{ interval: 'month', amountCents: 1900, currency: 'JPY', perUser: { included: 2, amountCents: 350 } }],
      trialDays: 0,
      sortOrder: 9500,
    };
    const created = await test.http.post('/api/v1/plans', yen, { token: operator.accessToken });
    expect(created.status, created.text).toBe(201);
    const line = (await saasctl(['plans', 'list'])).stdout.split('\n').find((l) => l.startsWith('cli-yen '));
    // 1900 minor units of JPY are 1,900 yen, not 19.
    expect(line).toContain('JPY 1,900/month + JPY 350/user above 2');
    await test.http.post('/api/v1/plans/cli-yen/archive', undefined, { token: operator.accessToken });
  });

  it('doctor --json reports each dependency with its status and what it enables', async () => {
    const fakeOdoo = join(scratch, 'odoo-bin');
    writeFileSync(fakeOdoo, '#!/bin/sh\necho "Odoo Server 17.0"\n', { mode: 0o755 });
    const kubeconfig = join(scratch, 'kubeconfig');
    writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\n');

    const report = parseJson(
      await saasctl(['doctor', '--json'], {
        env: { ODOO_BIN: fakeOdoo, KUBECONFIG: kubeconfig, DOCKER_HOST: 'tcp://127.0.0.1:9', DOCKER_RUNTIME: 'true' },
      }),
    );
    // Logged in as an operator: the running platform's Odoo pools (this one serves none).
    expect(report.pools).toEqual([]);
    const present = report.checks;
    const byName = new Map<string, any>(present.map((check: { name: string }) => [check.name, check]));
    for (const name of ['PostgreSQL server binaries', 'Odoo', 'Docker engine', 'Kubernetes cluster']) {
      const check = byName.get(name);
      expect(check, name).toBeDefined();
      expect(['ok', 'missing', 'warning']).toContain(check.status);
      expect(typeof check.enables).toBe('string');
      expect(check.enables.length).toBeGreaterThan(10);
    }
    expect(byName.get('Odoo')).toMatchObject({ status: 'ok' });
    expect(byName.get('Odoo').found).toContain('Odoo Server 17.0');
    // The kubeconfig is read and the cluster asked: this one names no cluster, and the runtime is off.
    expect(byName.get('Kubernetes cluster')).toMatchObject({ status: 'warning' });
    expect(byName.get('Kubernetes cluster').found).toContain(`KUBECONFIG=${kubeconfig}: the kubeconfig names no current cluster`);
    // The engine is asked: a DOCKER_HOST where nothing answers is missing, saying so.
    expect(byName.get('Docker engine')).toMatchObject({ status: 'missing' });
    expect(byName.get('Docker engine').found).toMatch(/^tcp:\/\/127\.0\.0\.1:9 does not answer/);
    expect(byName.get('Docker engine').fix).toMatch(/docs\/operations\/docker\.md/);
    // The suite runs on a machine with PostgreSQL binaries (it starts its server with them).
    expect(byName.get('PostgreSQL server binaries').status).toBe('ok');

    const absent = parseJson(
      await saasctl(['doctor', '--json'], { env: { ODOO_BIN: join(scratch, 'no-such-odoo'), PATH: '/usr/bin:/bin' } }),
    ).checks;
    const absentByName = new Map<string, any>(absent.map((check: { name: string }) => [check.name, check]));
    expect(absentByName.get('Odoo')).toMatchObject({ status: 'missing' });
    expect(absentByName.get('Odoo').fix).toMatch(/ODOO_BIN/);
    // HOME is the scratch directory: no ~/.kube/config there, and no KUBECONFIG.
    expect(absentByName.get('Kubernetes cluster')).toMatchObject({ status: 'warning' });
    expect(absentByName.get('Kubernetes cluster').found).toMatch(/^no kubeconfig/);
    // Two doctor runs, each probing every dependency: ~15 s each at load 20.
  }, 120_000);

  it('login with a wrong password fails with a readable error and keeps the stored tokens', async () => {
    const before = readFileSync(credentialsFile, 'utf8');
    const result = await saasctl(['login', '--email', operatorEmail, '--password-stdin', '--url', test.url], {
      input: 'Wrong-Password-99',
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/^saasctl: Wrong email or password\./m);
    // Telling someone who is logging in to log in first is no help.
    expect(result.stderr).not.toMatch(/saasctl login` first/);
    expect(result.stderr).not.toMatch(/\bat \S+:\d+:\d+/); // no stack trace
    expect(result.stdout).toBe('');
    expect(readFileSync(credentialsFile, 'utf8')).toBe(before);
  });

  it('an unreachable platform is reported as such', async () => {
    const result = await saasctl(['plans', 'list', '--url', 'http://127.0.0.1:1']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Cannot reach the platform at http:\/\/127\.0\.0\.1:1/);
    expect(result.stdout).toBe('');
  });

  it('without credentials, an authenticated command says to log in', async () => {
    const result = await saasctl(['whoami'], { env: { SAASCTL_CONFIG: join(scratch, 'nobody.json'), SAASCTL_URL: test.url } });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/saasctl login/);
  });
});

describe('saasctl with the managed PostgreSQL (no DATABASE_URL)', () => {
  /** No stored login and no platform settings but those a case passes. */
  const withoutPlatform = { DATABASE_URL: '', SECRET_KEY: '', SAASCTL_CONFIG: join(tmpdir(), 'saasctl-no-login.json') };

  it('operator create initialises the cluster, stops what it started, and serve then finds the operator', async () => {
    const dataDir = join(scratch, 'managed-data');
    const env = { DATA_DIR: dataDir, DATABASE_URL: '', SECRET_KEY: '', LOG_LEVEL: 'info' };
    const email = uniqueEmail('managed-operator');
    const created = await saasctl(['operator', 'create', '--email', email, '--name', 'Managed', '--password-stdin', '--json'], {
      input: GOOD_PASSWORD,
      env,
    });
    // stdout is the JSON document only, even with info logs on (they belong on stderr).
    expect(parseJson(created)).toMatchObject({ email, role: 'operator' });
    expect(existsSync(join(dataDir, 'postgres', 'pgdata', 'PG_VERSION'))).toBe(true);
    expect(existsSync(join(dataDir, 'postgres', 'pgdata', 'postmaster.pid'))).toBe(false);

    const port = await freeTestPort();
    const url = `http://127.0.0.1:${port}`;
    const server = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
      cwd: repositoryRoot,
      env: cliEnvironment({ ...env, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn' }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let serverErrors = '';
    server.stderr.on('data', (chunk: Buffer) => {
      serverErrors += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 45_000;
      for (;;) {
        const ready = await fetch(`${url}/readyz`).then(
          (r) => r.status,
          () => 0,
        );
        if (ready === 200) break;
        if (server.exitCode !== null || Date.now() > deadline) throw new Error(`serve did not become ready: ${serverErrors}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const login = await fetch(`${url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: GOOD_PASSWORD }),
      });
      expect(login.status).toBe(200);
      expect(existsSync(join(dataDir, 'postgres', 'pgdata', 'postmaster.pid'))).toBe(true);

      // Without --url, SAASCTL_URL, a login or PORT, API commands find the platform serving from DATA_DIR.
      expect(JSON.parse(readFileSync(join(dataDir, 'serving.json'), 'utf8'))).toEqual({ url, pid: server.pid });
      const found = await saasctl(['plans', 'list', '--json'], { env: { ...withoutPlatform, DATA_DIR: dataDir } });
      expect(parseJson(found).map((plan: { code: string }) => plan.code)).toContain('basic');
    } finally {
      server.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    // Shutdown stops the embedded PostgreSQL.
    expect(existsSync(join(dataDir, 'postgres', 'pgdata', 'postmaster.pid'))).toBe(false);
    // and removes its record: commands go to localhost:PORT again, as they do past a stale record.
    expect(existsSync(join(dataDir, 'serving.json'))).toBe(false);
    const stopped = await saasctl(['plans', 'list'], { env: { ...withoutPlatform, DATA_DIR: dataDir, PORT: String(port) } });
    expect(stopped.stderr).toContain(`Cannot reach the platform at http://localhost:${port}`);
    writeFileSync(join(dataDir, 'serving.json'), JSON.stringify({ url, pid: 999_999_999 }));
    const stale = await saasctl(['plans', 'list'], { env: { ...withoutPlatform, DATA_DIR: dataDir, PORT: String(port) } });
    expect(stale.stderr).toContain(`Cannot reach the platform at http://localhost:${port}`);
  }, 120_000);
});
