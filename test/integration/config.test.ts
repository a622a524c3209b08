import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, resolveSecretKey } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors/index.js';
import { runCli } from '../helpers/cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'saas-config-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The ConfigError loadConfig throws for `env` (fails the test when it does not throw one). */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig refuses bad values and names the variable', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['PORT', 'abc', /number/i],
    ['PORT', '70000', /65535|too big|less than or equal/i],
    ['PORT', '80.5', /int/i],
    ['DATABASE_URL', 'mysql://x', /postgres:\/\//],
    ['BASE_DOMAIN', 'not a domain!', /domain name/],
    ['SECRET_KEY', 'too-short', /at least 32 characters/],
    ['SMTP_URL', 'http://x', /smtp:\/\//],
    ['LOG_LEVEL', 'loud', /fatal|error|warn|info|debug/],
    ['TRUST_PROXY', 'yes', /true|false/],
  ];
  for (const [variable, value, reason] of cases) {
    it(`${variable}=${JSON.stringify(value)}`, () => {
      const error = configError({ [variable]: value });
      expect(error.variables).toEqual([variable]);
      const line = error.message.split('\n').find((l) => l.trim().startsWith(`${variable}:`));
      expect(line, error.message).toBeDefined();
      expect(line).toMatch(reason);
    });
  }

  it('ODOO_POOL_WORKERS_MIN above ODOO_POOL_WORKERS', () => {
    const error = configError({ ODOO_POOL_WORKERS: '2', ODOO_POOL_WORKERS_MIN: '3' });
    expect(error.variables).toEqual(['ODOO_POOL_WORKERS_MIN']);
    expect(error.message).toMatch(/ODOO_POOL_WORKERS_MIN: must be at most ODOO_POOL_WORKERS \(2\)/);
  });

  it('pool workers: a fixed 2 by default, a range when the minimum is set', () => {
    expect(loadConfig({}).odooPoolWorkers).toEqual({ min: 2, max: 2, scaleDownAfterMs: 120_000 });
    expect(loadConfig({ ODOO_POOL_WORKERS: '4', ODOO_POOL_WORKERS_MIN: '1', ODOO_POOL_SCALE_DOWN_AFTER_S: '30' }).odooPoolWorkers).toEqual({
      min: 1,
      max: 4,
      scaleDownAfterMs: 30_000,
    });
  });

  it('names every bad variable at once', () => {
    const error = configError({ PORT: 'abc', LOG_LEVEL: 'loud', SMTP_URL: 'http://x', SECRET_KEY: 'short' });
    expect([...error.variables].sort()).toEqual(['LOG_LEVEL', 'PORT', 'SECRET_KEY', 'SMTP_URL']);
    for (const variable of error.variables) expect(error.message).toContain(`${variable}:`);
  });

  it('CONFIG_FILE pointing at a missing file', () => {
    const missing = join(scratch, 'does-not-exist.json');
    const error = configError({ CONFIG_FILE: missing });
    expect(error.variables).toEqual(['CONFIG_FILE']);
    expect(error.message).toContain('CONFIG_FILE');
    expect(error.message).toContain(missing);
  });

  it('CONFIG_FILE pointing at invalid JSON', () => {
    const file = join(scratch, 'broken.json');
    writeFileSync(file, '{ "PORT": 9000, ');
    const error = configError({ CONFIG_FILE: file });
    expect(error.variables).toEqual(['CONFIG_FILE']);
    expect(error.message).toMatch(/CONFIG_FILE: .*broken\.json is not a JSON object/);
  });

  it('CONFIG_FILE holding JSON that is not an object', () => {
    const file = join(scratch, 'array.json');
    writeFileSync(file, '[1, 2]');
    expect(configError({ CONFIG_FILE: file }).variables).toEqual(['CONFIG_FILE']);
  });

  it('a bad value inside CONFIG_FILE is named by its variable', () => {
    const file = join(scratch, 'bad-port.json');
    writeFileSync(file, JSON.stringify({ PORT: 'abc' }));
    expect(configError({ CONFIG_FILE: file }).variables).toEqual(['PORT']);
  });
});

describe('loadConfig values', () => {
  it('has defaults', () => {
    const config = loadConfig({});
    expect(config.dataDir).toBe(resolve('data'));
    expect(config.dataDir.startsWith('/')).toBe(true);
    expect(config).toMatchObject({
      port: 8080,
      baseDomain: 'lvh.me',
      databaseUrl: undefined,
      secretKey: undefined,
      logLevel: 'info',
      loginRateLimitPerMinute: 5,
      publicUrl: 'http://app.lvh.me:8080',
      trustProxy: false,
    });
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '', BASE_DOMAIN: '' })).toMatchObject({
      port: 8080,
      databaseUrl: undefined,
      baseDomain: 'lvh.me',
    });
  });

  it('reads the environment', () => {
    const config = loadConfig({
      DATA_DIR: 'relative/dir',
      PORT: '9090',
      BASE_DOMAIN: 'SaaS.Example.COM',
      DATABASE_URL: 'postgresql://u:p@db:5432/x',
      SECRET_KEY_PREVIOUS: ' old-key-1 , ,old-key-2',
      TRUST_PROXY: 'true',
    });
    expect(config).toMatchObject({
      dataDir: resolve('relative/dir'),
      port: 9090,
      baseDomain: 'saas.example.com',
      databaseUrl: 'postgresql://u:p@db:5432/x',
      previousSecretKeys: ['old-key-1', 'old-key-2'],
      trustProxy: true,
    });
  });

  it('layers the environment over CONFIG_FILE', () => {
    const file = join(scratch, 'settings.json');
    writeFileSync(file, JSON.stringify({ PORT: 9000, BASE_DOMAIN: 'file.example', LOG_LEVEL: 'debug', LOGIN_RATE_LIMIT_PER_MINUTE: 7 }));
    const fromFile = loadConfig({ CONFIG_FILE: file });
    expect(fromFile).toMatchObject({ port: 9000, baseDomain: 'file.example', logLevel: 'debug', loginRateLimitPerMinute: 7 });
    const overridden = loadConfig({ CONFIG_FILE: file, PORT: '9100', LOG_LEVEL: 'warn' });
    expect(overridden).toMatchObject({ port: 9100, baseDomain: 'file.example', logLevel: 'warn', loginRateLimitPerMinute: 7 });
  });
});

describe('resolveSecretKey', () => {
  it('generates a key file with mode 0600 on first call and returns the same key afterwards', () => {
    const dataDir = join(scratch, 'fresh-data');
    const config = loadConfig({ DATA_DIR: dataDir });
    const keyFile = join(dataDir, 'secret.key');
    expect(existsSync(keyFile)).toBe(false);

    const first = resolveSecretKey(config);
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyFile, 'utf8').trim()).toBe(first);

    expect(resolveSecretKey(config)).toBe(first);
    expect(resolveSecretKey(loadConfig({ DATA_DIR: dataDir }))).toBe(first);
    // Another data directory gets another key.
    expect(resolveSecretKey(loadConfig({ DATA_DIR: join(scratch, 'other-data') }))).not.toBe(first);
  });

  it('uses SECRET_KEY when set and writes no file', () => {
    const dataDir = join(scratch, 'explicit-key-data');
    const key = 'an-explicit-secret-key-of-at-least-32-chars';
    expect(resolveSecretKey(loadConfig({ DATA_DIR: dataDir, SECRET_KEY: key }))).toBe(key);
    expect(existsSync(join(dataDir, 'secret.key'))).toBe(false);
  });
});

describe('saasctl serve with an invalid configuration', () => {
  it('exits non-zero naming the variable, before starting anything', async () => {
    const dataDir = join(scratch, 'serve-data');
    const result = await runCli(['serve'], { env: { PORT: 'abc', DATA_DIR: dataDir } });
    expect(result.code).not.toBe(0);
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/Invalid configuration:\n\s+PORT: /);
    expect(result.stdout).toBe('');
    // Nothing was initialised: no PostgreSQL cluster, no key.
    expect(existsSync(dataDir)).toBe(false);
  });

  it('names every bad variable, including one from CONFIG_FILE', async () => {
    const file = join(scratch, 'serve-settings.json');
    writeFileSync(file, JSON.stringify({ BASE_DOMAIN: 'not a domain!' }));
    const result = await runCli(['serve'], { env: { CONFIG_FILE: file, LOG_LEVEL: 'loud', DATA_DIR: join(scratch, 'serve-data-2') } });
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/BASE_DOMAIN: must be a domain name/);
    expect(result.stderr).toMatch(/LOG_LEVEL: /);
  });
});
