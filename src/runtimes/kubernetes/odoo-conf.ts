/**
 * The odoo.conf of a tenant's pods on Kubernetes. Pure: the caller supplies the secrets (the
 * database password, admin_passwd); the result goes into a Secret, never a ConfigMap.
 */
import { type OdooServerOptions, renderOdooConfig } from '../../odoo/index.js';
import { exactDatabaseFilter, planMemoryLimits } from '../process/config.js';
import type { DatabaseCredentials } from '../types.js';
import { DEDICATED_DATABASE_CLUSTER } from './manifests.js';
import type { KubernetesSettings } from './settings.js';
import type { PlanSizing } from './sizing.js';

export interface KubeOdooConfInput {
  databaseName: string;
  /** The tenant's role on a shared server; on a dedicated database the host is replaced by the cluster's `-rw` Service. */
  credentials: DatabaseCredentials;
  dedicatedDatabase: boolean;
  adminPassword: string;
  sizing: PlanSizing;
  settings: Pick<KubernetesSettings, 'odooWorkers'>;
}

export function tenantOdooConf(input: KubeOdooConfInput): string {
  return renderOdooConfig({
    db_host: input.dedicatedDatabase ? `${DEDICATED_DATABASE_CLUSTER}-rw` : input.credentials.host,
    db_port: input.dedicatedDatabase ? 5432 : input.credentials.port,
    db_user: input.credentials.user,
    db_password: input.credentials.password,
    db_name: input.databaseName,
    dbfilter: exactDatabaseFilter(input.databaseName),
    ...podOptions(input),
  });
}

/** What every pod's odoo.conf has: HTTP in the pod, the plan's memory limits, no database list. */
function podOptions(input: {
  adminPassword: string;
  sizing: PlanSizing;
  settings: Pick<KubernetesSettings, 'odooWorkers'>;
}): OdooServerOptions {
  const memory = planMemoryLimits(input.sizing.pod.memoryMiB);
  const workers = input.settings.odooWorkers;
  return {
    list_db: false,
    http_interface: '0.0.0.0',
    http_port: 8069,
    ...(workers >= 1 ? { gevent_port: 8072 } : {}),
    // The gateway and the ingress controller in front send X-Forwarded-Host/-Proto.
    proxy_mode: true,
    workers,
    limit_memory_soft: memory.soft,
    limit_memory_hard: memory.hard,
    admin_passwd: input.adminPassword,
    data_dir: '/var/lib/odoo',
  };
}

export interface PoolOdooConfInput {
  /** The pool's own login role on the shared server (it reaches only the databases granted to it). */
  credentials: DatabaseCredentials;
  /** How the request's host selects the database, e.g. `^%d$` (list_db stays off). */
  dbfilter: string;
  adminPassword: string;
  sizing: PlanSizing;
  settings: Pick<KubernetesSettings, 'odooWorkers'>;
}

/** A pool's odoo.conf: several databases, chosen by host; no database list. */
export function poolOdooConf(input: PoolOdooConfInput): string {
  return renderOdooConfig({
    db_host: input.credentials.host,
    db_port: input.credentials.port,
    db_user: input.credentials.user,
    db_password: input.credentials.password,
    dbfilter: input.dbfilter,
    ...podOptions(input),
  });
}
