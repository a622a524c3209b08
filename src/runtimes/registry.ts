import type { Db } from '../db/index.js';
import { recordingUpstreams } from './recording.js';
import type { Runtime, RuntimeKind } from './types.js';
import { unavailableRuntime } from './unavailable.js';

/**
 * The runtimes of this platform, one per kind. Callers ask for the runtime of a tenant (the
 * kind its row records) and never check whether one exists: a kind that cannot run here is a
 * null runtime whose serve fails with the reason (see unavailable.ts). `docker` and `kubernetes`
 * register beside `process` at composition, without touching callers.
 */
export interface RuntimeRegistry {
  get(kind: RuntimeKind): Runtime;
  /** The runtime that runs this tenant (its `runtime` column). */
  for(tenant: { runtime: RuntimeKind }): Runtime;
  /** The registered runtimes. */
  all(): Runtime[];
  /** Restores every registered runtime's workloads (a worker replica after a restart). */
  start(): Promise<void>;
  /** Stops everything the registered runtimes started (platform shutdown). */
  stop(): Promise<void>;
}

/**
 * `recordIn`: the platform database, where each serve and unserve records the tenant's upstream
 * for the gateways of every replica (recording.ts); without it (unit tests) nothing is recorded.
 */
export function createRuntimeRegistry(runtimes: readonly Runtime[], options: { recordIn?: Db } = {}): RuntimeRegistry {
  const byKind = new Map<RuntimeKind, Runtime>();
  for (const runtime of runtimes) {
    if (byKind.has(runtime.kind)) throw new Error(`two runtimes of kind ${runtime.kind} registered`);
    byKind.set(runtime.kind, options.recordIn ? recordingUpstreams(runtime, options.recordIn) : runtime);
  }
  const get = (kind: RuntimeKind): Runtime =>
    byKind.get(kind) ??
    unavailableRuntime(kind, `The ${kind} runtime is not available on this platform: place the tenant's plan on the process runtime`);
  return {
    get,
    for: (tenant) => get(tenant.runtime),
    all: () => [...byKind.values()],
    async start() {
      await Promise.all([...byKind.values()].map((runtime) => runtime.start()));
    },
    async stop() {
      await Promise.all([...byKind.values()].map((runtime) => runtime.stop()));
    },
  };
}
