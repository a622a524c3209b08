import type { Runtime, RuntimeKind } from './types.js';

/** A runtime whose real implementation may arrive after start-up (Odoo installed while the platform runs). */
export interface DeferredRuntime extends Runtime {
  /** Whether the real runtime has arrived. */
  readonly provided: boolean;
  /**
   * Hands over the real runtime; later calls go to it. The caller then starts the registry again
   * (so restored tenants are recorded): before this, `start` ran on the placeholder, which serves nothing.
   */
  provide(runtime: Runtime): void;
}

/**
 * Stands for a runtime that cannot run yet (no Odoo installed): the placeholder (a null runtime
 * saying why) answers until `provide` hands over the real one. Registered once at start-up, so
 * the registry, its recording wrapper and every caller keep the same object.
 */
export function deferredRuntime(kind: RuntimeKind, placeholder: Runtime): DeferredRuntime {
  let current = placeholder;
  return {
    kind,
    get provided() {
      return current !== placeholder;
    },
    provide(runtime) {
      if (runtime.kind !== kind) throw new Error(`a ${runtime.kind} runtime cannot stand for ${kind}`);
      current = runtime;
    },
    start: () => current.start(),
    serve: (spec) => current.serve(spec),
    unserve: (id) => current.unserve(id),
    upstream: (id) => current.upstream(id),
    status: (id) => current.status(id),
    logs: (id, options) => current.logs(id, options),
    stop: () => current.stop(),
    sharedWorkloads: () => current.sharedWorkloads?.() ?? [],
    workloadMetrics: () => current.workloadMetrics?.() ?? [],
  };
}
