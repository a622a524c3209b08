import { describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/index.js';
import { UnavailableError } from '../../src/errors/index.js';
import {
  createRuntimeRegistry,
  ODOO_MISSING,
  type Runtime,
  type RuntimeKind,
  type TenantServeSpec,
  unavailableRuntime,
} from '../../src/runtimes/index.js';

const spec: TenantServeSpec = {
  tenantId: 't-1',
  tenantName: 'acme',
  hostName: 'acme.example.com',
  databaseName: 'acme',
  processStrategy: 'pool',
  databaseServerId: 's-1',
  tenantRole: { host: '127.0.0.1', port: 5432, user: 'acme', password: 'secret' },
  limits: { cpu: 1, memoryMiB: 1024 },
  replicas: 1,
};

/** A runtime that records what it was asked (the registry's own behaviour is what is tested). */
function recordingRuntime(kind: RuntimeKind): Runtime & { calls: string[] } {
  const calls: string[] = [];
  return {
    kind,
    calls,
    async start() {
      calls.push('start');
      return [];
    },
    async serve(served) {
      calls.push(`serve ${served.tenantId}`);
      return { host: '127.0.0.1', port: 8069 };
    },
    async unserve(tenantId) {
      calls.push(`unserve ${tenantId}`);
    },
    upstream: () => undefined,
    status: async () => undefined,
    logs: async () => [],
    async stop() {
      calls.push('stop');
    },
  };
}

describe('runtime registry', () => {
  it('gives each tenant the runtime of the kind its row records', async () => {
    const processRuntime = recordingRuntime('process');
    const dockerRuntime = recordingRuntime('docker');
    const runtimes = createRuntimeRegistry([processRuntime, dockerRuntime]);
    expect(runtimes.get('process')).toBe(processRuntime);
    expect(runtimes.for({ runtime: 'docker' })).toBe(dockerRuntime);
    await runtimes.for({ runtime: 'process' }).serve(spec);
    expect(processRuntime.calls).toEqual(['serve t-1']);
    expect(dockerRuntime.calls).toEqual([]);
  });

  it('starts and stops every registered runtime', async () => {
    const processRuntime = recordingRuntime('process');
    const dockerRuntime = recordingRuntime('docker');
    const runtimes = createRuntimeRegistry([processRuntime, dockerRuntime]);
    await runtimes.start();
    await runtimes.stop();
    expect(processRuntime.calls).toEqual(['start', 'stop']);
    expect(dockerRuntime.calls).toEqual(['start', 'stop']);
  });

  it('refuses two runtimes of one kind', () => {
    expect(() => createRuntimeRegistry([recordingRuntime('process'), recordingRuntime('process')])).toThrow(
      'two runtimes of kind process registered',
    );
  });

  it('answers a kind nobody registered with a runtime whose serve says so', async () => {
    const runtimes = createRuntimeRegistry([recordingRuntime('process')]);
    const kubernetes = runtimes.for({ runtime: 'kubernetes' });
    expect(kubernetes.kind).toBe('kubernetes');
    await expect(kubernetes.serve(spec)).rejects.toThrow(/The kubernetes runtime is not available on this platform/);
  });
});

describe('the null runtime (Odoo cannot run here)', () => {
  const runtime = createRuntimeRegistry([unavailableRuntime('process', ODOO_MISSING)]).get('process');

  it('fails to serve with one error naming what is missing and how to fix it', async () => {
    const failure = runtime.serve(spec);
    await expect(failure).rejects.toBeInstanceOf(UnavailableError);
    await expect(failure).rejects.toThrow('Odoo is not installed on this machine: install it with saasctl odoo install <16.0|17.0|18.0>');
  });

  it('serves nothing, so unserving, restoring and stopping succeed and nothing runs', async () => {
    await expect(runtime.unserve('t-1')).resolves.toBeUndefined();
    await expect(runtime.start()).resolves.toEqual([]); // restored nothing
    await expect(runtime.stop()).resolves.toBeUndefined();
    expect(runtime.upstream('t-1')).toBeUndefined();
    await expect(runtime.status('t-1')).resolves.toBeUndefined();
    await expect(runtime.logs('t-1')).resolves.toEqual([]);
  });

  it('hands a plan change to the runtime through the wrapper that records upstreams', async () => {
    const runtime = recordingRuntime('docker');
    const updates: string[] = [];
    runtime.updateLimits = async (tenantId, limits) => {
      updates.push(`${tenantId} ${limits.cpu} ${limits.memoryMiB}`);
    };
    // The wrapper touches the database only when serving or unserving.
    const runtimes = createRuntimeRegistry([runtime], { recordIn: {} as Db });
    await runtimes.for({ runtime: 'docker' }).updateLimits?.('t-1', { cpu: 2, memoryMiB: 2048 });
    expect(updates).toEqual(['t-1 2 2048']);
  });
});
