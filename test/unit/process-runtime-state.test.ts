import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PortAllocator } from '../../src/runtimes/process/index.js';
import { KeyedLock } from '../../src/runtimes/process/keyed-lock.js';
import { loadRuntimeState, saveRuntimeState } from '../../src/runtimes/process/state-file.js';

const dir = mkdtempSync(join(tmpdir(), 'process-runtime-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runtime state file', () => {
  it('is empty before the first save and round-trips pool memberships', () => {
    const path = join(dir, 'state.json');
    expect(loadRuntimeState(path)).toEqual({ version: 1, pools: [] });
    const state = {
      version: 1 as const,
      pools: [{ name: 'pool-abc-1', databaseServerId: 'abc', tenants: [{ tenantId: 't1', roleName: 'r_acme', databaseName: 't_acme' }] }],
    };
    saveRuntimeState(path, state);
    expect(loadRuntimeState(path)).toEqual(state);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('refuses a file it does not understand rather than forgetting grants', () => {
    const path = join(dir, 'corrupt.json');
    writeFileSync(path, JSON.stringify({ version: 2, pools: [] }));
    expect(() => loadRuntimeState(path)).toThrow(/state file/);
    writeFileSync(path, JSON.stringify({ version: 1, pools: [{ name: 'x', tenants: [] }] }));
    expect(() => loadRuntimeState(path)).toThrow(/state file/);
  });
});

describe('port allocation', () => {
  const servers: Server[] = [];
  afterAll(() => Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve)))));

  it('never hands out the same port twice while it is held, also to concurrent callers', async () => {
    const ports = new PortAllocator('127.0.0.1');
    const taken = await Promise.all(Array.from({ length: 20 }, () => ports.allocate()));
    expect(new Set(taken).size).toBe(20);
  });

  /** Listens on `port` on loopback, or answers undefined when something else holds it. */
  function listenOn(port: number): Promise<Server | undefined> {
    return new Promise((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(undefined));
      server.listen(port, '127.0.0.1', () => resolve(server));
    });
  }

  /**
   * A port held by "another program", followed by two free ones. Searched below the kernel's
   * ephemeral range (32768 and up), where no connection of a parallel test is given a port, so the
   * two stay free while the test runs (a port next to a kernel-chosen one may not).
   */
  async function busyPortBeforeTwoFree(): Promise<number> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const base = 20_000 + Math.floor(Math.random() * 12_000);
      const busy = await listenOn(base);
      if (!busy) continue;
      const probes = await Promise.all([listenOn(base + 1), listenOn(base + 2)]);
      await Promise.all(probes.map((probe) => probe && new Promise((resolve) => probe.close(resolve))));
      if (probes.every(Boolean)) {
        servers.push(busy);
        return base;
      }
      await new Promise((resolve) => busy.close(resolve));
    }
    throw new Error('no port below 32768 with two free ports after it');
  }

  it('skips ports another program listens on, and reuses released ones', async () => {
    const busy = await busyPortBeforeTwoFree();
    const ports = new PortAllocator('127.0.0.1', { from: busy, to: busy + 2 });
    const first = await ports.allocate();
    expect(first).not.toBe(busy);
    const second = await ports.allocate();
    expect([first, second].sort()).toEqual([busy + 1, busy + 2].sort());
    await expect(ports.allocate()).rejects.toThrow(/no free port/);
    ports.release(first);
    expect(await ports.allocate()).toBe(first);
  });

  it('refuses an empty or invalid range', () => {
    expect(() => new PortAllocator('127.0.0.1', { from: 2000, to: 1000 })).toThrow(RangeError);
  });
});

describe('keyed lock', () => {
  it('runs work of one key one at a time, other keys in parallel', async () => {
    const lock = new KeyedLock();
    const events: string[] = [];
    const step = (label: string, ms: number) => async () => {
      events.push(`${label} start`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      events.push(`${label} end`);
      return label;
    };
    const results = await Promise.all([lock.run('a', step('a1', 30)), lock.run('a', step('a2', 1)), lock.run('b', step('b1', 1))]);
    expect(results).toEqual(['a1', 'a2', 'b1']);
    expect(events.indexOf('a2 start')).toBeGreaterThan(events.indexOf('a1 end'));
    expect(events.indexOf('b1 end')).toBeLessThan(events.indexOf('a1 end'));
  });

  it('releases the key when the work fails', async () => {
    const lock = new KeyedLock();
    await expect(lock.run('a', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await lock.run('a', async () => 'next')).toBe('next');
  });
});
