import type { Db } from '../db/index.js';
import type { Runtime, Upstream } from './types.js';
import { recordUpstream } from './upstream-store.js';

/**
 * A runtime whose serving is recorded in the platform database (upstream-store.ts): each serve
 * records the upstream it returned (a pool restarted on new ports records the new ones), each
 * unserve clears it, and stopping the runtime (platform shutdown) clears what this replica
 * recorded, so no gateway sends traffic to processes that are gone. The runtime itself still
 * answers for its own processes (`upstream`, `status`, `logs`).
 */
export function recordingUpstreams(runtime: Runtime, db: Db): Runtime {
  /** What this replica recorded, to clear at shutdown (only while still the record). */
  const recordedHere = new Map<string, Upstream>();
  return {
    kind: runtime.kind,
    // A restart's restore serves without this wrapper's serve: its upstreams are recorded here, or
    // a replica whose previous run cleared them at shutdown would never route its tenants again.
    async start() {
      const restored = await runtime.start();
      for (const { tenantId, upstream } of restored) {
        await recordUpstream(db, tenantId, runtime.kind, upstream);
        recordedHere.set(tenantId, upstream);
      }
      return restored;
    },
    async serve(spec) {
      const upstream = await runtime.serve(spec);
      await recordUpstream(db, spec.tenantId, runtime.kind, upstream);
      recordedHere.set(spec.tenantId, upstream);
      return upstream;
    },
    async unserve(tenantId) {
      await runtime.unserve(tenantId);
      await recordUpstream(db, tenantId, runtime.kind, undefined);
      recordedHere.delete(tenantId);
    },
    upstream: (tenantId) => runtime.upstream(tenantId),
    status: (tenantId) => runtime.status(tenantId),
    logs: (tenantId, options) => runtime.logs(tenantId, options),
    ...(runtime.sharedWorkloads ? { sharedWorkloads: () => runtime.sharedWorkloads?.() ?? [] } : {}),
    ...(runtime.workloadMetrics ? { workloadMetrics: () => runtime.workloadMetrics?.() ?? [] } : {}),
    // A plan change reaches the runtime's live limit update through this wrapper too.
    ...(runtime.updateLimits
      ? { updateLimits: (tenantId, limits, planCode) => runtime.updateLimits?.(tenantId, limits, planCode) ?? Promise.resolve() }
      : {}),
    async stop() {
      await runtime.stop();
      for (const [tenantId, upstream] of recordedHere)
        await recordUpstream(db, tenantId, runtime.kind, undefined, { onlyIfStill: upstream });
      recordedHere.clear();
    },
  };
}
