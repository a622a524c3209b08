/**
 * The runtime seam: what runs Odoo for tenants. Callers (provisioning jobs, the tenant service,
 * the gateway) only see this interface; `process` (local odoo-bin), `docker` and `kubernetes`
 * implement it, one folder each.
 */
import type { RuntimeKind } from '../plans/index.js';

/** Which runtime runs a tenant: a plan's placement names it, the tenant row records it. */
export type { RuntimeKind };

/** How the Odoo of one tenant reaches its database. */
export interface DatabaseCredentials {
  host: string;
  port: number;
  user: string;
  password: string;
}

export interface TenantServeSpec {
  tenantId: string;
  /** The subdomain, e.g. `acme`. */
  tenantName: string;
  /** The tenant's public host name, e.g. `acme.example.com` (what the gateway sends as Host). */
  hostName: string;
  databaseName: string;
  /** `pool`: attach to a shared multi-database Odoo; `dedicated`: processes of its own. */
  processStrategy: 'pool' | 'dedicated';
  /** Identifies the database server: pools serve tenants of one server only. */
  databaseServerId: string;
  /** Credentials of the tenant's own role (dedicated processes connect with them). */
  tenantRole: DatabaseCredentials;
  /** Limits from the plan; the runtime applies what it can (Odoo's limit_memory_*, OS limits). */
  limits: {
    cpu: number;
    memoryMiB: number;
    /** Database + filestore; where the runtime sizes volumes (Kubernetes: quota and PVC). Omitted: the runtime's default. */
    storageGiB?: number | undefined;
  };
  replicas: number;
  /** The tenant's plan, for labels (Kubernetes namespaces carry it). */
  planCode?: string | undefined;
  /**
   * The Odoo series the tenant runs (its template's): the runtime starts that series' Odoo, and
   * pools serve tenants of one series only. Omitted: the runtime's default series.
   */
  odooSeries?: string | undefined;
}

/**
 * How a runtime gets database access for its shared pools. The caller implements it with
 * PostgreSQL role membership: each pool connects as a login role of its own, and serving a
 * tenant grants the tenant's role to the pool's role, so a pool process reaches only the
 * databases of the tenants it serves (never the platform's database, never other tenants').
 * Every method is idempotent: runtimes call them again after crashes and restarts. A runtime
 * asks for a pool's credentials before its first grant, so the role exists by then.
 */
export interface PoolAccess {
  /** The name of the pool's login role (what its sessions show in pg_stat_activity). */
  roleOf(poolName: string): string;
  /** The pool's own login role (created on first use); the pool's Odoo connects with it. */
  poolCredentials(databaseServerId: string, poolName: string): Promise<DatabaseCredentials>;
  /** Lets the pool's role reach the tenant's database (`GRANT <tenant role> TO <pool role>`). */
  grantTenant(databaseServerId: string, poolName: string, tenantRoleName: string): Promise<void>;
  /**
   * Takes that access back. CONNECT is only checked when a session starts, so this must
   * also end the pool role's open sessions on the tenant's database (`pg_terminate_backend`).
   */
  revokeTenant(databaseServerId: string, poolName: string, tenantRoleName: string): Promise<void>;
}

/** Where the gateway sends a tenant's traffic. */
export interface Upstream {
  host: string;
  port: number;
  /** Odoo 16+ `/websocket` (and legacy long polling) when served on another port (workers mode). */
  websocketPort?: number;
  /**
   * Odoo web workers answering at this address (prefork mode); each loads a database's registry
   * on its first request for it. Absent: one process answers. Not stored with the route.
   */
  webWorkers?: number;
}

export type WorkloadState = 'starting' | 'running' | 'restarting' | 'stopped' | 'failed';

export interface WorkloadStatus {
  state: WorkloadState;
  /** Which workload serves the tenant, e.g. `pool:3f2a...` or `tenant:acme`. */
  workload: string;
  pid?: number;
  restarts: number;
  lastExitReason?: string;
  memoryBytes?: number;
}

/** One process of a shared workload (a pool's web or cron unit, with its forked workers). */
export interface SharedProcessView {
  unit: string;
  state: WorkloadState;
  pid?: number;
  /** The unit's process and its descendants (Odoo's prefork workers). */
  processes: number;
  /** Resident memory of all of them. */
  memoryBytes?: number;
}

/** A workload serving several tenants (a process pool), for operators. */
export interface SharedWorkloadView {
  name: string;
  databaseServerId: string;
  /** The Odoo series its processes run (pools serve one series each). */
  odooSeries?: string;
  /** The PostgreSQL role its processes connect as. */
  databaseRole: string;
  tenants: Array<{ tenantId: string; databaseName: string }>;
  processes: SharedProcessView[];
  /** Connections its processes may hold at most (db_maxconn x processes: the connection budget). */
  connectionBudget: number;
  /**
   * Its web workers when sized by load: the range, what the load asks for (`target`), what Odoo
   * was told (`population`) and the worker processes seen alive. Absent: a fixed count.
   */
  webWorkers?: { min: number; max: number; target: number; population: number; alive: number };
}

/**
 * What a runtime reports of one workload for monitoring: the counters since the workload was
 * made (restarts, OOM kills, CPU) and its memory now. Fields a runtime cannot read are left out.
 */
export interface WorkloadMetrics {
  /** `pool` (several tenants) or `dedicated` (one tenant). */
  kind: 'pool' | 'dedicated';
  /** The pool's name, or the tenant id of a dedicated workload. */
  name: string;
  tenantIds: string[];
  /** Its processes run (not starting, restarting, failed or stopped). */
  up: boolean;
  restarts: number;
  oomKills?: number;
  cpuSeconds?: number;
  throttledPeriods?: number;
  throttledSeconds?: number;
  memoryBytes?: number;
}

export interface Runtime {
  readonly kind: RuntimeKind;
  /**
   * Restores every workload that should run (after a platform restart); idempotent. Answers the
   * tenants it serves again and where, so the recording wrapper records them like any serve.
   */
  start(): Promise<ReadonlyArray<{ tenantId: string; upstream: Upstream }>>;
  /** Makes Odoo serve the tenant and returns its upstream once healthy. Idempotent. */
  serve(spec: TenantServeSpec): Promise<Upstream>;
  /** Stops serving the tenant (detach from its pool, or stop its processes). Idempotent. */
  unserve(tenantId: string): Promise<void>;
  /** Current upstream of a tenant that is served, else undefined. */
  upstream(tenantId: string): Upstream | undefined;
  status(tenantId: string): Promise<WorkloadStatus | undefined>;
  /** The last lines of the Odoo log of the workload serving the tenant. */
  logs(tenantId: string, options?: { lines?: number }): Promise<string[]>;
  /** Stops everything this runtime started (platform shutdown). */
  stop(): Promise<void>;
  /** Workloads that serve several tenants (pools), where the runtime has such (the docker runtime asks its engine). */
  sharedWorkloads?(): SharedWorkloadView[] | Promise<SharedWorkloadView[]>;
  /** Every workload's counters and memory (metrics), where the runtime has them. */
  workloadMetrics?(): WorkloadMetrics[];
  /**
   * Applies a new plan's limits to a tenant's own running workload at once (a plan change), where
   * the runtime can: CPU/memory everywhere, storage and the plan label where the runtime sizes
   * volumes (Kubernetes).
   */
  updateLimits?(tenantId: string, limits: TenantServeSpec['limits'], planCode?: string): Promise<void>;
}
