import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cpuQuotaUs,
  detectResourceLimiter,
  parseCgroupV1Stats,
  parseCgroupV2Stats,
  parseOomKills,
  parseProcCgroup,
} from '../../src/runtimes/process/index.js';

const scratch = mkdtempSync(join(tmpdir(), 'process-runtime-cgroups-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function fakeTree(name: string, files: Record<string, string>): string {
  const root = join(scratch, name);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

describe('cgroup helpers', () => {
  it('reads /proc/self/cgroup of both hierarchies', () => {
    const paths = parseProcCgroup('12:cpu,cpuacct:/system.slice/saas.service\n4:memory:/process_api/abc\n0::/user.slice\n');
    expect(paths.get('cpu')).toBe('/system.slice/saas.service');
    expect(paths.get('cpuacct')).toBe('/system.slice/saas.service');
    expect(paths.get('memory')).toBe('/process_api/abc');
    expect(paths.get('')).toBe('/user.slice');
  });

  it('turns cores into a CFS quota per 100 ms period', () => {
    expect(cpuQuotaUs(1)).toBe(100_000);
    expect(cpuQuotaUs(0.5)).toBe(50_000);
    expect(cpuQuotaUs(2.25)).toBe(225_000);
    expect(cpuQuotaUs(0.001)).toBe(1_000);
    expect(() => cpuQuotaUs(0)).toThrow(RangeError);
  });

  it('counts OOM kills from memory.events and memory.oom_control', () => {
    expect(parseOomKills('low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\n')).toBe(2);
    expect(parseOomKills('oom_kill_disable 0\nunder_oom 0\noom_kill 1\n')).toBe(1);
    expect(parseOomKills('oom_kill_disable 0\nunder_oom 0\n')).toBe(0);
  });

  it('reads CPU time, throttling and memory of both hierarchies, leaving out what is missing', () => {
    expect(
      parseCgroupV2Stats('usage_usec 2500000\nuser_usec 2000000\nnr_periods 40\nnr_throttled 7\nthrottled_usec 350000\n', '104857600\n'),
    ).toEqual({ cpuSeconds: 2.5, throttledPeriods: 7, throttledSeconds: 0.35, memoryBytes: 104857600 });
    expect(parseCgroupV2Stats(undefined, 'max\n')).toEqual({});
    expect(parseCgroupV1Stats('3000000000\n', 'nr_periods 10\nnr_throttled 3\nthrottled_time 120000000\n', '2048\n')).toEqual({
      cpuSeconds: 3,
      throttledPeriods: 3,
      throttledSeconds: 0.12,
      memoryBytes: 2048,
    });
    expect(parseCgroupV1Stats(undefined, undefined, '4096')).toEqual({ memoryBytes: 4096 });
  });
});

describe('cgroup detection', () => {
  it('uses cgroup v2 when the unified hierarchy offers the memory controller', () => {
    const root = fakeTree('v2', { 'cgroup.controllers': 'cpuset cpu io memory pids\n', 'cgroup.subtree_control': '' });
    const limiter = detectResourceLimiter({ root });
    expect(limiter.mechanism).toBe('cgroup-v2');
    expect(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8')).toBe('+memory +cpu');
    const group = limiter.create('tenant-acme', { cpu: 0.5, memoryBytes: 256 * 1024 * 1024 });
    expect(group?.paths).toEqual([join(root, 'saas-odoo', 'tenant-acme')]);
    expect(readFileSync(join(root, 'saas-odoo', 'tenant-acme', 'memory.max'), 'utf8')).toBe(String(256 * 1024 * 1024));
    expect(readFileSync(join(root, 'saas-odoo', 'tenant-acme', 'cpu.max'), 'utf8')).toBe('50000 100000');
    group?.addProcess(4242);
    expect(readFileSync(join(root, 'saas-odoo', 'tenant-acme', 'cgroup.procs'), 'utf8')).toBe('4242');
  });

  it("changes a group's limits in place (cgroup v2)", () => {
    const root = fakeTree('v2-change', { 'cgroup.controllers': 'cpu memory\n', 'cgroup.subtree_control': '' });
    const group = detectResourceLimiter({ root }).create('tenant-acme', { cpu: 0.5, memoryBytes: 256 * 1024 * 1024 });
    group?.setLimits({ cpu: 2, memoryBytes: 1024 * 1024 * 1024 });
    expect(readFileSync(join(root, 'saas-odoo', 'tenant-acme', 'memory.max'), 'utf8')).toBe(String(1024 * 1024 * 1024));
    expect(readFileSync(join(root, 'saas-odoo', 'tenant-acme', 'cpu.max'), 'utf8')).toBe('200000 100000');
  });

  it("changes a group's limits in place (cgroup v1)", () => {
    const root = fakeTree('v1-change', {
      'memory/memory.limit_in_bytes': '9223372036854771712',
      'cpu,cpuacct/cpu.cfs_quota_us': '-1',
      'self-cgroup': '5:cpu,cpuacct:/\n4:memory:/\n',
    });
    const group = detectResourceLimiter({ root, selfCgroupFile: join(root, 'self-cgroup') }).create('tenant-acme', { cpu: 1 });
    expect(readFileSync(join(root, 'memory', 'saas-odoo', 'tenant-acme', 'memory.limit_in_bytes'), 'utf8')).toBe('-1');
    group?.setLimits({ cpu: 0.25, memoryBytes: 300 * 1024 * 1024 });
    expect(readFileSync(join(root, 'memory', 'saas-odoo', 'tenant-acme', 'memory.limit_in_bytes'), 'utf8')).toBe(String(300 * 1024 * 1024));
    expect(readFileSync(join(root, 'cpu,cpuacct', 'saas-odoo', 'tenant-acme', 'cpu.cfs_quota_us'), 'utf8')).toBe('25000');
  });

  it('writes "max" when a workload has no limit', () => {
    const root = fakeTree('v2-unlimited', { 'cgroup.controllers': 'cpu memory\n', 'cgroup.subtree_control': '' });
    detectResourceLimiter({ root }).create('pool-3f2a9c1e-1', {});
    expect(readFileSync(join(root, 'saas-odoo', 'pool-3f2a9c1e-1', 'memory.max'), 'utf8')).toBe('max');
    expect(readFileSync(join(root, 'saas-odoo', 'pool-3f2a9c1e-1', 'cpu.max'), 'utf8')).toBe('max 100000');
  });

  it('falls back to none when cgroup v2 has no memory controller for us', () => {
    const root = fakeTree('v2-no-memory', { 'cgroup.controllers': 'cpu pids\n' });
    const limiter = detectResourceLimiter({ root });
    expect(limiter.mechanism).toBe('none');
    expect(limiter.create('tenant-acme', { memoryBytes: 1 })).toBeUndefined();
  });

  it("uses cgroup v1 below the platform's own groups", () => {
    const root = fakeTree('v1', {
      'memory/memory.limit_in_bytes': '9223372036854771712',
      'cpu,cpuacct/cpu.cfs_quota_us': '-1',
      'self-cgroup': '5:cpu,cpuacct:/system.slice/saas.service\n4:memory:/system.slice/saas.service\n',
    });
    const limiter = detectResourceLimiter({ root, selfCgroupFile: join(root, 'self-cgroup') });
    expect(limiter.mechanism).toBe('cgroup-v1');
    const group = limiter.create('tenant-acme', { cpu: 2, memoryBytes: 512 * 1024 * 1024 });
    const memoryDir = join(root, 'memory', 'system.slice', 'saas.service', 'saas-odoo', 'tenant-acme');
    const cpuDir = join(root, 'cpu,cpuacct', 'system.slice', 'saas.service', 'saas-odoo', 'tenant-acme');
    expect(group?.paths).toEqual([memoryDir, cpuDir]);
    expect(readFileSync(join(memoryDir, 'memory.limit_in_bytes'), 'utf8')).toBe(String(512 * 1024 * 1024));
    expect(readFileSync(join(cpuDir, 'cpu.cfs_quota_us'), 'utf8')).toBe('200000');
    expect(readFileSync(join(cpuDir, 'cpu.cfs_period_us'), 'utf8')).toBe('100000');
  });

  it('accounts CPU in a cpuacct hierarchy of its own when cpu is mounted without it', () => {
    const root = fakeTree('v1-split', {
      'memory/memory.limit_in_bytes': '9223372036854771712',
      'cpu/cpu.cfs_quota_us': '-1',
      'cpuacct/cpuacct.usage': '0',
      'self-cgroup': '3:cpuacct:/\n2:cpu:/\n1:memory:/\n',
    });
    const limiter = detectResourceLimiter({ root, selfCgroupFile: join(root, 'self-cgroup') });
    const group = limiter.create('tenant-acme', { cpu: 1 });
    const cpuacctDir = join(root, 'cpuacct', 'saas-odoo', 'tenant-acme');
    expect(group?.paths).toContain(cpuacctDir);
    // The kernel keeps these files; the fake tree plays its part.
    writeFileSync(join(cpuacctDir, 'cpuacct.usage'), '1500000000');
    writeFileSync(join(root, 'cpu', 'saas-odoo', 'tenant-acme', 'cpu.stat'), 'nr_periods 5\nnr_throttled 2\nthrottled_time 40000000\n');
    writeFileSync(join(root, 'memory', 'saas-odoo', 'tenant-acme', 'memory.usage_in_bytes'), '8192');
    expect(group?.stats()).toEqual({ cpuSeconds: 1.5, throttledPeriods: 2, throttledSeconds: 0.04, memoryBytes: 8192 });
  });

  it('reports none when nothing is mounted', () => {
    const root = fakeTree('nothing', { README: 'empty' });
    expect(detectResourceLimiter({ root }).mechanism).toBe('none');
    expect(existsSync(join(root, 'saas-odoo'))).toBe(false);
  });

  it('refuses workload names that could escape the group directory', () => {
    const root = fakeTree('v2-names', { 'cgroup.controllers': 'memory\n', 'cgroup.subtree_control': '' });
    const limiter = detectResourceLimiter({ root });
    expect(() => limiter.create('../escape', {})).toThrow(RangeError);
  });
});
