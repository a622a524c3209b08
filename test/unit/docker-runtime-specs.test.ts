import { describe, expect, it } from 'vitest';
import {
  capToHost,
  containerDatabaseHost,
  type DockerSettings,
  dedicatedContainerSpec,
  dedicatedFingerprint,
  dedicatedNames,
  dedicatedOdooConfig,
  demuxLogLines,
  imageOf,
  isLoopbackHost,
  networkSpec,
  poolContainerSpec,
  poolFingerprint,
  poolLimits,
  poolNames,
  poolNetworkSpec,
  poolOdooConfig,
  resourceLimits,
  singleFileTar,
  volumeSpec,
} from '../../src/runtimes/docker/index.js';
import type { TenantServeSpec } from '../../src/runtimes/index.js';

const settings: DockerSettings = {
  instance: 'saas',
  imageFor: (series) => imageOf('odoo:{major}', series),
  defaultSeries: '17.0',
  healthCheck: ['CMD-SHELL', 'curl -fsS http://127.0.0.1:8069/web/health'],
  odooUser: { uid: 101, gid: 101 },
  odooDataDir: '/srv/saas/odoo/',
  platformAddonsDir: '/opt/saas/odoo-addons',
  publishAddress: '127.0.0.1',
  restartPolicy: 'unless-stopped',
  pidsLimit: 1024,
};

const spec: TenantServeSpec = {
  tenantId: '7f0c',
  tenantName: 'acme',
  hostName: 'acme.example.com',
  databaseName: 't_acme',
  processStrategy: 'dedicated',
  databaseServerId: 's-1',
  tenantRole: { host: '127.0.0.1', port: 5433, user: 'r_acme', password: 'pw-secret-123' },
  limits: { cpu: 1.5, memoryMiB: 2048 },
  replicas: 1,
  odooSeries: '16.0',
};

describe('docker runtime specs', () => {
  const names = dedicatedNames(settings, spec.tenantName);
  const container = dedicatedContainerSpec(settings, names, spec, 'fp', 41000);

  it('names every object after the platform instance and the tenant', () => {
    expect(names).toEqual({ container: 'saas-saas-t-acme', network: 'saas-saas-t-acme', volume: 'saas-saas-t-acme-filestore' });
    expect(dedicatedNames({ instance: 'Prod_1' }, 'a.b').container).toBe('saas-prod_1-t-a.b');
  });

  it("picks the series' image: the official odoo:<major> by default, any template otherwise", () => {
    expect(container.Image).toBe('odoo:16');
    expect(imageOf('registry.example.com/odoo:{series}-custom', '18.0')).toBe('registry.example.com/odoo:18.0-custom');
    expect(imageOf('odoo:{major}', 'saas~17.2')).toBe('odoo:17');
  });

  it("applies the plan's limits: CPU as a CFS quota, memory without swap", () => {
    expect(resourceLimits({ cpu: 1.5, memoryMiB: 2048 })).toEqual({ NanoCpus: 1.5e9, Memory: 2048 * 1048576, MemorySwap: 2048 * 1048576 });
    expect(container.HostConfig).toMatchObject({ NanoCpus: 1.5e9, Memory: 2048 * 1048576, MemorySwap: 2048 * 1048576, PidsLimit: 1024 });
    expect(() => resourceLimits({ cpu: 0, memoryMiB: 512 })).toThrow(/cpu/);
    expect(() => resourceLimits({ cpu: 1, memoryMiB: 2 })).toThrow(/memoryMiB/);
  });

  it('runs Odoo under an init, restarts it, checks its health, publishes it on loopback only, on its own network', () => {
    expect(container.HostConfig?.Init).toBe(true);
    expect(container.HostConfig?.RestartPolicy).toEqual({ Name: 'unless-stopped' });
    expect(container.Healthcheck?.Test).toEqual(settings.healthCheck);
    expect(container.HostConfig?.PortBindings).toEqual({ '8069/tcp': [{ HostIp: '127.0.0.1', HostPort: '41000' }] });
    expect(container.HostConfig?.NetworkMode).toBe(names.network);
    expect(container.HostConfig?.CapDrop).toEqual(['ALL']);
    expect(container.User).toBe('101:101');
  });

  it('keeps the database password off the command line, the environment and the labels', () => {
    expect(container.Entrypoint).toEqual(['odoo']);
    expect(container.Cmd).toEqual(['-c', '/etc/odoo/saas.conf']);
    expect(JSON.stringify(container)).not.toContain(spec.tenantRole.password);
    expect(dedicatedFingerprint(settings, spec)).not.toContain(spec.tenantRole.password);
  });

  it('labels the container for discovery after a platform restart', () => {
    expect(container.Labels).toMatchObject({
      'io.odoo-saas.managed': 'true',
      'io.odoo-saas.instance': 'saas',
      'io.odoo-saas.tenant': '7f0c',
      'io.odoo-saas.tenant-name': 'acme',
      'io.odoo-saas.fingerprint': 'fp',
    });
    expect(networkSpec(settings, names, spec).Labels).toMatchObject({ 'io.odoo-saas.tenant': '7f0c' });
  });

  it('binds the filestore volume to the host filestore, and mounts the platform addons read-only', () => {
    expect(volumeSpec(settings, names, spec).DriverOpts).toEqual({ type: 'none', o: 'bind', device: '/srv/saas/odoo/filestore/t_acme' });
    expect(container.HostConfig?.Mounts).toEqual([
      { Type: 'volume', Source: names.volume, Target: '/var/lib/odoo/filestore/t_acme' },
      { Type: 'bind', Source: '/opt/saas/odoo-addons/saas_rpc_guard', Target: '/var/lib/odoo/addons/16.0/saas_rpc_guard', ReadOnly: true },
      {
        Type: 'bind',
        Source: '/opt/saas/odoo-addons/saas_pool_memory',
        Target: '/var/lib/odoo/addons/16.0/saas_pool_memory',
        ReadOnly: true,
      },
    ]);
  });

  it('replaces the container when what it is made from changes, not when the limits do', () => {
    const base = dedicatedFingerprint(settings, spec);
    expect(dedicatedFingerprint(settings, { ...spec, limits: { cpu: 4, memoryMiB: 4096 } })).toBe(base);
    expect(dedicatedFingerprint(settings, { ...spec, tenantRole: { ...spec.tenantRole, password: 'other' } })).not.toBe(base);
    expect(dedicatedFingerprint(settings, { ...spec, odooSeries: '17.0' })).not.toBe(base);
  });

  it('reaches a loopback database through the network gateway, other hosts as they are', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('10.0.0.5')).toBe(false);
    expect(containerDatabaseHost({}, spec.tenantRole, '172.20.0.1')).toBe('172.20.0.1');
    expect(containerDatabaseHost({ databaseHost: 'db.internal' }, spec.tenantRole, '172.20.0.1')).toBe('db.internal');
    expect(containerDatabaseHost({}, { ...spec.tenantRole, host: 'pg.example.com' }, '172.20.0.1')).toBe('pg.example.com');
  });

  it("configures Odoo for the tenant's database only, on all the container's interfaces", () => {
    const config = dedicatedOdooConfig(spec, '172.20.0.1', 'admin-pw');
    expect(config).toMatchObject({
      db_host: '172.20.0.1',
      db_port: 5433,
      db_user: 'r_acme',
      db_name: 't_acme',
      dbfilter: '^t_acme$',
      list_db: false,
      http_interface: '0.0.0.0',
      http_port: 8069,
      proxy_mode: true,
      admin_passwd: 'admin-pw',
      data_dir: '/var/lib/odoo',
    });
    expect(config.logfile).toBeUndefined();
  });

  it('splits the Engine API log stream into lines', () => {
    const frame = (stream: number, text: string) => {
      const body = Buffer.from(text);
      const header = Buffer.alloc(8);
      header[0] = stream;
      header.writeUInt32BE(body.length, 4);
      return Buffer.concat([header, body]);
    };
    const buffer = Buffer.concat([frame(1, 'one\ntw'), frame(2, 'o\nthree\n'), frame(1, 'cut')]);
    expect(demuxLogLines(buffer)).toEqual(['one', 'two', 'three', 'cut']);
    expect(demuxLogLines(buffer.subarray(0, buffer.length - 1))).toEqual(['one', 'two', 'three']);
  });

  it('makes a one-file tar archive owned by the Odoo user', () => {
    const tar = singleFileTar('saas.conf', '[options]\n', { uid: 101, gid: 101 });
    expect(tar.length % 512).toBe(0);
    expect(tar.subarray(0, 9).toString()).toBe('saas.conf');
    expect(tar.subarray(100, 107).toString()).toBe('0000600');
    expect(tar.subarray(108, 115).toString()).toBe('0000145');
    expect(tar.subarray(512, 522).toString()).toBe('[options]\n');
    // The header checksum is what tar checks first.
    const header = Buffer.from(tar.subarray(0, 512));
    const stored = Number.parseInt(header.subarray(148, 154).toString(), 8);
    header.fill(' ', 148, 156);
    expect(header.reduce((sum, byte) => sum + byte, 0)).toBe(stored);
  });
});

describe('docker runtime pool specs', () => {
  const pool = { name: 'dpool-s1-1', databaseServerId: 's-1', series: '17.0' };
  const names = poolNames(settings, pool.name);
  const odoo = { dbfilter: '^t_%d$', workers: 2, cronWorkers: 2, dbMaxconn: 16 };
  const credentials = { host: '172.20.0.1', port: 5433, user: 'pool_dpool_s1_1', password: 'pool-secret-456' };
  const web = poolContainerSpec(settings, names, pool, 'web', 'fp', { cpu: 2, memoryMiB: 2048 }, { 8069: 41001, 8072: 41002 });
  const cron = poolContainerSpec(settings, names, pool, 'cron', 'fp', { cpu: 1, memoryMiB: 1024 }, {});

  it('names a web and a cron container on one network of the pool', () => {
    expect(names).toEqual({ web: 'saas-saas-dpool-s1-1-web', cron: 'saas-saas-dpool-s1-1-cron', network: 'saas-saas-dpool-s1-1' });
    expect(web.HostConfig?.NetworkMode).toBe(names.network);
    expect(cron.HostConfig?.NetworkMode).toBe(names.network);
    expect(poolNetworkSpec(settings, names, pool).Options).toEqual({ 'com.docker.network.bridge.enable_icc': 'false' });
  });

  it('labels both containers with the pool, its server, series and unit (found again after a restart)', () => {
    expect(web.Labels).toMatchObject({
      'io.odoo-saas.kind': 'pool',
      'io.odoo-saas.pool': 'dpool-s1-1',
      'io.odoo-saas.database-server': 's-1',
      'io.odoo-saas.series': '17.0',
      'io.odoo-saas.unit': 'web',
      'io.odoo-saas.fingerprint': 'fp',
    });
    expect(cron.Labels?.['io.odoo-saas.unit']).toBe('cron');
    expect(web.Labels).not.toHaveProperty('io.odoo-saas.tenant');
  });

  it('publishes the web container (HTTP and websocket) on loopback; the cron container has no port and no health check', () => {
    expect(web.HostConfig?.PortBindings).toEqual({
      '8069/tcp': [{ HostIp: '127.0.0.1', HostPort: '41001' }],
      '8072/tcp': [{ HostIp: '127.0.0.1', HostPort: '41002' }],
    });
    expect(web.Healthcheck?.Test).toEqual(settings.healthCheck);
    expect(cron.HostConfig?.PortBindings).toEqual({});
    expect(cron.Healthcheck?.Test).toEqual(['NONE']);
  });

  it("mounts the host's filestore directory (tenants join a running pool) and the platform addons", () => {
    expect(web.HostConfig?.Mounts?.[0]).toEqual({ Type: 'bind', Source: '/srv/saas/odoo/filestore', Target: '/var/lib/odoo/filestore' });
    expect(web.HostConfig?.Mounts?.map((mount) => mount.Target)).toContain('/var/lib/odoo/addons/17.0/saas_rpc_guard');
  });

  it("sizes the web container as the sum of its tenants' plans and the cron one as the largest, capped at the host's CPUs", () => {
    expect(poolLimits([{ cpu: 1, memoryMiB: 1024 }])).toEqual({ web: { cpu: 1, memoryMiB: 1024 }, cron: { cpu: 1, memoryMiB: 1024 } });
    expect(
      poolLimits([
        { cpu: 1, memoryMiB: 1024 },
        { cpu: 0.5, memoryMiB: 512 },
        { cpu: 2, memoryMiB: 768 },
      ]),
    ).toEqual({
      web: { cpu: 3.5, memoryMiB: 2304 },
      cron: { cpu: 2, memoryMiB: 1024 },
    });
    expect(() => poolLimits([])).toThrow(/without tenants/);
    expect(capToHost({ cpu: 3.5, memoryMiB: 2304 }, 2)).toEqual({ cpu: 2, memoryMiB: 2304 });
    expect(capToHost({ cpu: 1, memoryMiB: 512 }, 2)).toEqual({ cpu: 1, memoryMiB: 512 });
    expect(web.HostConfig).toMatchObject({ NanoCpus: 2e9, Memory: 2048 * 1048576 });
  });

  it('configures the web container by host (dbfilter, no database list) and the cron one without HTTP, both logging to stdout', () => {
    const webConfig = poolOdooConfig('web', odoo, credentials, 'master-1');
    expect(webConfig).toMatchObject({
      db_host: '172.20.0.1',
      db_user: 'pool_dpool_s1_1',
      db_password: 'pool-secret-456',
      dbfilter: '^t_%d$',
      list_db: false,
      http_interface: '0.0.0.0',
      http_port: 8069,
      gevent_port: 8072,
      workers: 2,
      max_cron_threads: 0,
      admin_passwd: 'master-1',
      data_dir: '/var/lib/odoo',
    });
    expect(webConfig.db_name).toBeUndefined();
    expect(webConfig.logfile).toBeUndefined();
    const cronConfig = poolOdooConfig('cron', odoo, credentials, 'master-2');
    expect(cronConfig).toMatchObject({ http_enable: false, workers: 1, max_cron_threads: 2, list_db: false, dbfilter: '^t_%d$' });
    expect(cronConfig.logfile).toBeUndefined();
    expect(poolOdooConfig('web', { ...odoo, workers: 0 }, credentials, 'm').gevent_port).toBeUndefined();
  });

  it('keeps the pool password off the containers; a new password or image replaces them, limits do not', () => {
    expect(JSON.stringify([web, cron])).not.toContain(credentials.password);
    const base = poolFingerprint(settings, pool, credentials, odoo);
    expect(base).not.toContain(credentials.password);
    expect(poolFingerprint(settings, pool, { ...credentials, password: 'other' }, odoo)).not.toBe(base);
    expect(poolFingerprint(settings, { ...pool, series: '18.0' }, credentials, odoo)).not.toBe(base);
    expect(poolFingerprint(settings, pool, credentials, { ...odoo, workers: 4 })).not.toBe(base);
    expect(poolFingerprint(settings, pool, credentials, odoo)).toBe(base);
  });
});
