import { UnavailableError } from '../errors/index.js';
import type { Runtime, RuntimeKind } from './types.js';

/** Why Odoo cannot run here when no Odoo executable was found, and how to fix it. */
export const ODOO_MISSING =
  'Odoo is not installed on this machine: install it with saasctl odoo install <16.0|17.0|18.0> (or set ODOO_BIN; see saasctl doctor)';

/**
 * The null runtime: stands for a runtime that cannot run on this machine (no Odoo installed, a
 * kind not registered yet), so callers never check for a missing runtime themselves.
 * Making Odoo serve a tenant fails with one clear error saying what is missing and how to fix
 * it; questions about what runs here answer "nothing", and unserving succeeds, since nothing
 * can be served by it (stopping or deleting a tenant still works on such a machine).
 */
export function unavailableRuntime(kind: RuntimeKind, reason: string): Runtime {
  return {
    kind,
    async start() {
      return [];
    },
    async serve() {
      throw new UnavailableError(reason);
    },
    async unserve() {},
    upstream: () => undefined,
    status: async () => undefined,
    logs: async () => [],
    async stop() {},
  };
}
