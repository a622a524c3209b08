import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { odooEnvironment, renderOdooConfig } from '../../src/odoo/index.js';
import type { TenantServeSpec } from '../../src/runtimes/index.js';
import {
  dedicatedConfig,
  exactDatabaseFilter,
  linkPlatformAddons,
  PLATFORM_ADDONS,
  PLATFORM_ADDONS_DIR,
  type PoolProcessSettings,
  planMemoryLimits,
  poolCronConfig,
  poolWebConfig,
} from '../../src/runtimes/process/index.js';
import { POOL_DBFILTER } from '../../src/tenants/index.js';

const MIB = 1024 * 1024;

function poolSettings(overrides: Partial<PoolProcessSettings> = {}): PoolProcessSettings {
  return {
    credentials: { host: '127.0.0.1', port: 5433, user: 'p_pool_3f2a9c1e_1', password: 'pool-secret' },
    dbfilter: POOL_DBFILTER,
    httpInterface: '127.0.0.1',
    httpPort: 20001,
    geventPort: 20002,
    workers: 2,
    limitMemorySoftBytes: 2048 * MIB,
    limitMemoryHardBytes: 2560 * MIB,
    adminPassword: 'f'.repeat(48),
    cronInWebProcess: false,
    cronWorkers: 2,
    dbMaxconn: 16,
    files: { dataDir: '/srv/odoo-data', logFile: '/srv/runtime/pool-3f2a9c1e-1/odoo.log', addonsPath: ['/opt/addons'] },
    ...overrides,
  };
}

const SPEC: TenantServeSpec = {
  tenantId: 'a6f1c2d4-0000-4000-8000-000000000001',
  tenantName: 'acme',
  hostName: 'acme.example.com',
  databaseName: 't_acme',
  processStrategy: 'dedicated',
  databaseServerId: 'server-1',
  tenantRole: { host: '10.0.0.5', port: 5432, user: 'r_acme', password: 'tenant-secret' },
  limits: { cpu: 1, memoryMiB: 1024 },
  replicas: 1,
};

describe('pool web process configuration', () => {
  const config = poolWebConfig(poolSettings());

  it('serves the databases the request host selects, never lists them, behind the proxy', () => {
    expect(config.dbfilter).toBe(POOL_DBFILTER);
    expect(config.list_db).toBe(false);
    expect(config.proxy_mode).toBe(true);
    expect(config.db_name).toBeUndefined();
  });

  it("connects with the pool's own role", () => {
    expect(config).toMatchObject({ db_host: '127.0.0.1', db_port: 5433, db_user: 'p_pool_3f2a9c1e_1', db_password: 'pool-secret' });
  });

  it('runs workers with a websocket port of its own, and leaves cron to the cron process', () => {
    expect(config).toMatchObject({ workers: 2, http_port: 20001, gevent_port: 20002, http_interface: '127.0.0.1', max_cron_threads: 0 });
  });

  it("sets Odoo's memory limits in bytes, a private master password and the shared data_dir", () => {
    expect(config.limit_memory_soft).toBe(2048 * MIB);
    expect(config.limit_memory_hard).toBe(2560 * MIB);
    expect(config.admin_passwd).toBe('f'.repeat(48));
    expect(config.data_dir).toBe('/srv/odoo-data');
    expect(config.logfile).toBe('/srv/runtime/pool-3f2a9c1e-1/odoo.log');
    expect(config.addons_path).toEqual(['/opt/addons']);
  });

  it("loads the platform's RPC guard server-wide and keeps the operator's addons path as given", () => {
    expect(config.server_wide_modules).toEqual(['base', 'web', 'saas_rpc_guard', 'saas_pool_memory']);
    expect(config.addons_path).toEqual(['/opt/addons']);
    expect(renderOdooConfig(config)).toContain('server_wide_modules = base,web,saas_rpc_guard,saas_pool_memory\n');
  });

  it("leaves Odoo's own registry sizing and recycling alone unless asked", () => {
    expect(config.registry_lru_size).toBeUndefined();
    expect(renderOdooConfig(config)).not.toMatch(/registry_lru_size|saas_worker_recycle_rss/);
  });

  it('bounds the registries each worker keeps and recycles a worker past a resident size, in web and cron alike', () => {
    const bounded = poolSettings({ registryCacheSize: 20, workerRecycleBytes: 700 * MIB });
    for (const written of [poolWebConfig(bounded), poolCronConfig(bounded, 20003)]) {
      const text = renderOdooConfig(written);
      expect(text).toContain('registry_lru_size = 20\n');
      expect(text).toContain(`saas_worker_recycle_rss = ${700 * MIB}\n`);
    }
  });

  it('renders to a file Odoo reads', () => {
    const text = renderOdooConfig(config);
    expect(text).toContain('dbfilter = ^t_%d$\n');
    expect(text).toContain('list_db = False\n');
    expect(text).toContain('proxy_mode = True\n');
    expect(text).toContain('max_cron_threads = 0\n');
  });

  it('runs cron in the web process when there is no cron process', () => {
    expect(poolWebConfig(poolSettings({ cronInWebProcess: true })).max_cron_threads).toBe(1);
  });

  it('in threaded mode writes no gevent port (the websocket is on the HTTP port)', () => {
    const threaded = poolWebConfig(poolSettings({ workers: 0, geventPort: undefined }));
    expect(threaded.workers).toBe(0);
    expect(renderOdooConfig(threaded)).not.toContain('gevent_port');
  });

  it('refuses workers without a gevent port (Odoo would take 8072 and clash)', () => {
    expect(() => poolWebConfig(poolSettings({ geventPort: undefined }))).toThrow(/gevent port/);
  });
});

describe('pool cron process configuration', () => {
  const config = poolCronConfig(poolSettings(), 20003);

  it('has no HTTP service and runs prefork cron workers over the databases its role owns (no db_name)', () => {
    // Prefork (workers > 0): Odoo's cron workers walk list_dbs; a threaded cron thread would
    // only run the databases already loaded in the process, and a cron process loads none.
    expect(config).toMatchObject({ http_enable: false, max_cron_threads: 2, workers: 1, dbfilter: POOL_DBFILTER, list_db: false });
    expect(config.db_name).toBeUndefined();
    expect(config.db_user).toBe('p_pool_3f2a9c1e_1');
    expect(config.gevent_port).toBeUndefined();
  });

  it('bounds the connections of each of its processes (db_maxconn)', () => {
    expect(config.db_maxconn).toBe(16);
    expect(poolWebConfig(poolSettings()).db_maxconn).toBe(16);
    expect(() => poolWebConfig(poolSettings({ dbMaxconn: 1 }))).toThrow(/db_maxconn/);
  });

  it('refuses a cron process without cron workers', () => {
    expect(() => poolCronConfig(poolSettings({ cronWorkers: 0 }), 20003)).toThrow(/cronWorkers/);
  });

  it('still names a port of its own, so it cannot clash on the default port', () => {
    expect(config.http_port).toBe(20003);
  });

  it('loads the same server-wide modules as the web process', () => {
    expect(config.server_wide_modules).toEqual(['base', 'web', 'saas_rpc_guard', 'saas_pool_memory']);
  });
});

describe('dedicated process configuration', () => {
  const config = dedicatedConfig({
    spec: SPEC,
    httpInterface: '127.0.0.1',
    httpPort: 20010,
    workers: 0,
    dbMaxconn: 16,
    adminPassword: 'a'.repeat(48),
    files: { dataDir: '/srv/odoo-data', logFile: '/srv/runtime/tenant-acme/odoo.log' },
  });

  it("serves exactly the tenant's database with the tenant's own role", () => {
    expect(config).toMatchObject({ db_name: 't_acme', dbfilter: '^t_acme$', list_db: false, proxy_mode: true });
    expect(config).toMatchObject({ db_host: '10.0.0.5', db_port: 5432, db_user: 'r_acme', db_password: 'tenant-secret' });
  });

  it("takes Odoo's memory limits from the plan (hard = plan, soft = 80 %) and runs its own cron", () => {
    expect(config.limit_memory_hard).toBe(1024 * MIB);
    expect(config.limit_memory_soft).toBe(Math.floor(1024 * MIB * 0.8));
    expect(config.max_cron_threads).toBe(1);
    expect(config.workers).toBe(0);
  });

  it("loads the platform's RPC guard server-wide and leaves Odoo's default addons path alone", () => {
    expect(config.server_wide_modules).toEqual(['base', 'web', 'saas_rpc_guard', 'saas_pool_memory']);
    // Writing addons_path would replace Odoo's default (a source checkout's addons/ directory).
    expect(config.addons_path).toBeUndefined();
  });

  it('escapes regex characters of the database name', () => {
    expect(exactDatabaseFilter('t_my-shop')).toBe('^t_my\\-shop$');
    expect(exactDatabaseFilter('a.b')).toBe('^a\\.b$');
    expect(new RegExp(exactDatabaseFilter('t_my-shop')).test('t_my-shop')).toBe(true);
    expect(new RegExp(exactDatabaseFilter('a.b')).test('axb')).toBe(false);
  });

  it('refuses a plan without memory', () => {
    expect(() => planMemoryLimits(0)).toThrow(RangeError);
    expect(planMemoryLimits(512)).toEqual({ hard: 512 * MIB, soft: Math.floor(512 * MIB * 0.8) });
  });
});

describe('environment of Odoo processes', () => {
  it("passes PATH, locale and Python settings on, and none of the platform's secrets", () => {
    const env = odooEnvironment(
      {
        PATH: '/usr/bin',
        LANG: 'C.UTF-8',
        LC_ALL: 'C.UTF-8',
        PYTHONPATH: '/opt/odoo',
        DATABASE_URL: 'postgres://x:y@h/db',
        JWT_SECRET: 's',
      },
      { NODE: '/usr/local/bin/node' },
    );
    expect(env).toEqual({ PATH: '/usr/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', PYTHONPATH: '/opt/odoo', NODE: '/usr/local/bin/node' });
  });
});

describe("the platform's Odoo addons", () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'platform-addons-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it.each(PLATFORM_ADDONS)('%s ships at the package root as an Odoo module loaded server-wide, never installed by itself', (addon) => {
    expect(PLATFORM_ADDONS_DIR).toBe(`${resolve('odoo-addons')}/`);
    const manifest = readFileSync(join(PLATFORM_ADDONS_DIR, addon, '__manifest__.py'), 'utf8');
    expect(manifest).toMatch(/'installable': True/);
    expect(manifest).toMatch(/'auto_install': False/);
    expect(manifest).toMatch(/'license': 'LGPL-3'/);
  });

  it('the RPC guard wraps dispatch_rpc and the pool memory module the worker limit check', () => {
    expect(readFileSync(join(PLATFORM_ADDONS_DIR, 'saas_pool_memory', '__init__.py'), 'utf8')).toContain('server.Worker.check_limits = ');
    expect(readFileSync(join(PLATFORM_ADDONS_DIR, 'saas_rpc_guard', '__init__.py'), 'utf8')).toContain('http.dispatch_rpc = guarded');
  });

  it('are linked into <data_dir>/addons/<series>, which Odoo always imports from, idempotently', async () => {
    const dataDir = tempDir();
    const target = await linkPlatformAddons(dataDir, '16.0');
    expect(target).toBe(join(dataDir, 'addons', '16.0'));
    expect(readlinkSync(join(target, 'saas_rpc_guard'))).toBe(join(PLATFORM_ADDONS_DIR, 'saas_rpc_guard'));
    expect(existsSync(join(target, 'saas_rpc_guard', '__init__.py'))).toBe(true);
    await linkPlatformAddons(dataDir, '16.0');
    expect(readlinkSync(join(target, 'saas_rpc_guard'))).toBe(join(PLATFORM_ADDONS_DIR, 'saas_rpc_guard'));
  });

  it('take over the read-only directory Odoo makes, and replace a link to an older install', async () => {
    const dataDir = tempDir();
    const target = join(dataDir, 'addons', '17.0');
    mkdirSync(target, { recursive: true });
    symlinkSync(tempDir(), join(target, 'saas_rpc_guard'));
    chmodSync(target, 0o500);
    await linkPlatformAddons(dataDir, '17.0');
    expect(statSync(target).mode & 0o777).toBe(0o700);
    expect(readlinkSync(join(target, 'saas_rpc_guard'))).toBe(join(PLATFORM_ADDONS_DIR, 'saas_rpc_guard'));
  });

  it('refuse a series that is not one, and an install without the addon (Odoo would start without it)', async () => {
    const dataDir = tempDir();
    await expect(linkPlatformAddons(dataDir, '../../etc')).rejects.toThrow(/series/);
    await expect(linkPlatformAddons(dataDir, '16.0', tempDir())).rejects.toThrow(/saas_rpc_guard is missing/);
    expect(existsSync(join(dataDir, 'addons', '16.0', 'saas_rpc_guard'))).toBe(false);
  });
});
