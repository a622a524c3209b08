/**
 * Pure checks and helpers of the process runtime's serve path: whether a serve spec can be run
 * here (an Odoo database name, a host the pool's dbfilter maps to the database, limits for a
 * dedicated process), and what a dedicated process is configured from.
 */
import { ValidationError } from '../../errors/index.js';
import type { TenantServeSpec } from '../types.js';

const ODOO_DATABASE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Whether a pool's host-based filter selects this database for this host, as Odoo evaluates it. */
export function poolFilterSelects(dbfilter: string, hostName: string, databaseName: string): boolean {
  const host = hostName.toLowerCase().split(':')[0] ?? '';
  const firstLabel = host.split('.')[0] ?? '';
  const pattern = dbfilter.replaceAll('%h', host).replaceAll('%d', firstLabel);
  return new RegExp(pattern).test(databaseName);
}

export function validateSpec(spec: TenantServeSpec, poolDbfilter: string): void {
  if (typeof spec.tenantId !== 'string' || spec.tenantId.length === 0)
    throw new ValidationError('tenantId is required', { field: 'tenantId' });
  if (!ODOO_DATABASE_NAME.test(spec.databaseName)) {
    throw new ValidationError(`"${spec.databaseName}" is not a database name Odoo accepts`, { field: 'databaseName' });
  }
  if (spec.processStrategy === 'pool') {
    if (!poolFilterSelects(poolDbfilter, spec.hostName, spec.databaseName)) {
      throw new ValidationError(
        `a pool selects databases by host with ${poolDbfilter}; host ${spec.hostName} does not select database ${spec.databaseName}`,
        { field: 'hostName' },
      );
    }
  } else if (spec.processStrategy === 'dedicated') {
    if (!DNS_LABEL.test(spec.tenantName))
      throw new ValidationError(`"${spec.tenantName}" is not a valid tenant name`, { field: 'tenantName' });
    if (!(spec.limits.memoryMiB > 0) || !(spec.limits.cpu > 0)) {
      throw new ValidationError('a dedicated process needs positive cpu and memory limits', { field: 'limits' });
    }
  } else {
    throw new ValidationError(`unknown process strategy ${JSON.stringify(spec.processStrategy)}`, { field: 'processStrategy' });
  }
}

/** What a dedicated process is configured from: a change means restarting it with a new config. */
export function dedicatedFingerprint(spec: TenantServeSpec): string {
  const { databaseName, tenantRole, limits } = spec;
  return JSON.stringify({ databaseName, tenantRole, limits });
}

/** Runs `work` over `items`, at most `size` at a time. */
export async function inBatches<T>(items: readonly T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) await work(items[index] as T);
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
}
