/**
 * The Odoo configuration of each kind of workload the process runtime runs, as pure data
 * (`renderOdooConfig` turns it into the file). Settings that matter for isolation are set here
 * and nowhere else:
 * - `list_db = False`: no database manager, no database list;
 * - a random `admin_passwd` per process: Odoo's default master password is "admin", and the
 *   `db` RPC service (dump, drop, duplicate) answers to it whatever `list_db` says;
 * - `dbfilter`: the request's host picks the database (pools) or the one database (dedicated);
 * - `proxy_mode = True`: the gateway in front sends X-Forwarded-Host/-Proto;
 * - listening on the loopback interface only: tenants are reached through the gateway;
 * - `server_wide_modules` with the platform's `saas_rpc_guard` (platform-addons.ts): Odoo itself
 *   refuses RPC calls naming a database that dbfilter would not select for the request's host.
 */
import type { OdooServerOptions } from '../../odoo/index.js';
import type { DatabaseCredentials, TenantServeSpec } from '../types.js';
import { SERVER_WIDE_MODULES } from './platform-addons.js';

const MIB = 1024 * 1024;

/** Files and code locations common to every workload. */
export interface OdooFiles {
  /** Odoo's data_dir, shared by all workloads: filestores live in `<dataDir>/filestore/<db>`. */
  dataDir: string;
  logFile: string;
  addonsPath?: readonly string[];
}

export interface HttpSettings {
  httpInterface: string;
  httpPort: number;
  /** Only with workers > 0: the port of Odoo's websocket/long-polling process. */
  geventPort?: number;
  /** 0 = threaded mode (websocket served on the HTTP port). */
  workers: number;
}

export interface PoolProcessSettings extends HttpSettings {
  credentials: DatabaseCredentials;
  /** Odoo's `dbfilter`: how the request's host selects the database (given at composition). */
  dbfilter: string;
  limitMemorySoftBytes: number;
  limitMemoryHardBytes: number;
  /** Odoo's `db_maxconn` of each of the pool's processes (connection-budget.ts). */
  dbMaxconn: number;
  /** Tenants' registries each worker keeps (least recently used dropped); undefined: Odoo's own sizing. */
  registryCacheSize?: number;
  /** Resident bytes past which a worker finishes its request and is replaced; undefined: never. */
  workerRecycleBytes?: number;
  adminPassword: string;
  /**
   * False when a separate cron process serves the pool (the default): cron jobs of a hundred
   * databases would otherwise keep web workers busy. True runs one cron thread in the web process.
   */
  cronInWebProcess: boolean;
  /** Cron workers of the pool's cron process: how many of its databases are worked on at once. */
  cronWorkers: number;
  files: OdooFiles;
}

export interface DedicatedProcessSettings extends HttpSettings {
  spec: TenantServeSpec;
  dbMaxconn: number;
  adminPassword: string;
  files: OdooFiles;
}

function connection(credentials: DatabaseCredentials, dbMaxconn: number): OdooServerOptions {
  if (!Number.isInteger(dbMaxconn) || dbMaxconn < 2) throw new RangeError(`db_maxconn must be an integer >= 2, got ${dbMaxconn}`);
  return {
    db_host: credentials.host,
    db_port: credentials.port,
    db_user: credentials.user,
    db_password: credentials.password,
    db_maxconn: dbMaxconn,
  };
}

function http(settings: HttpSettings): OdooServerOptions {
  if (!Number.isInteger(settings.workers) || settings.workers < 0) throw new RangeError(`workers must be >= 0, got ${settings.workers}`);
  if (settings.workers > 0 && settings.geventPort === undefined) {
    // Odoo would fall back to 8072 and clash with every other process on this host.
    throw new RangeError('a gevent port is required when Odoo runs with workers');
  }
  return {
    http_interface: settings.httpInterface,
    http_port: settings.httpPort,
    gevent_port: settings.workers > 0 ? settings.geventPort : undefined,
    proxy_mode: true,
    workers: settings.workers,
  };
}

function files(settings: OdooFiles): OdooServerOptions {
  return {
    data_dir: settings.dataDir,
    logfile: settings.logFile,
    addons_path: settings.addonsPath && settings.addonsPath.length > 0 ? settings.addonsPath : undefined,
    server_wide_modules: SERVER_WIDE_MODULES,
  };
}

/** The web process of a shared pool: any database the request host selects, within the role's reach. */
export function poolWebConfig(settings: PoolProcessSettings): OdooServerOptions {
  return {
    ...connection(settings.credentials, settings.dbMaxconn),
    dbfilter: settings.dbfilter,
    list_db: false,
    ...http(settings),
    max_cron_threads: settings.cronInWebProcess ? 1 : 0,
    limit_memory_soft: settings.limitMemorySoftBytes,
    limit_memory_hard: settings.limitMemoryHardBytes,
    ...poolMemory(settings),
    admin_passwd: settings.adminPassword,
    ...files(settings.files),
  };
}

/** The platform's saas_pool_memory settings (odoo-addons/saas_pool_memory): memory a pool's workers keep. */
function poolMemory(settings: PoolProcessSettings): OdooServerOptions {
  return { registry_lru_size: settings.registryCacheSize, saas_worker_recycle_rss: settings.workerRecycleBytes };
}

/**
 * The cron-only process of a pool: no HTTP server, Odoo in prefork mode with `cronWorkers` cron
 * workers and no `db_name`. Why prefork: a threaded Odoo's cron thread runs the jobs of the
 * databases whose registry is already loaded in that process (ThreadedServer.cron_thread walks
 * Registry.registries), and a process that serves no request loads none, so no tenant's
 * scheduled action ever ran. A prefork cron worker (WorkerCron) walks `list_dbs`: the databases
 * owned by the pool's role, which are exactly the tenants it serves now (PoolAccess hands a
 * database over when a tenant joins and back when it leaves, so a stopped or suspended tenant's
 * jobs do not run). Each worker takes one database at a time and closes its connections after
 * it, so `cronWorkers` bounds both the concurrency and the connections. `workers` only selects
 * the prefork server: with `http_enable = False` Odoo starts no HTTP worker.
 * It still gets a port of its own: `http_enable = False` makes Odoo ignore it, and a launcher
 * that does not honour the option then cannot clash with another process on the default port.
 */
export function poolCronConfig(settings: PoolProcessSettings, cronHttpPort: number): OdooServerOptions {
  if (!Number.isInteger(settings.cronWorkers) || settings.cronWorkers < 1) {
    throw new RangeError(`cronWorkers must be an integer >= 1, got ${settings.cronWorkers}`);
  }
  return {
    ...connection(settings.credentials, settings.dbMaxconn),
    dbfilter: settings.dbfilter,
    list_db: false,
    http_enable: false,
    http_interface: settings.httpInterface,
    http_port: cronHttpPort,
    proxy_mode: true,
    workers: 1,
    max_cron_threads: settings.cronWorkers,
    limit_memory_soft: settings.limitMemorySoftBytes,
    limit_memory_hard: settings.limitMemoryHardBytes,
    ...poolMemory(settings),
    admin_passwd: settings.adminPassword,
    ...files(settings.files),
  };
}

/** A `dbfilter` that matches exactly one database name. */
export function exactDatabaseFilter(databaseName: string): string {
  return `^${databaseName.replace(/[\\^$.*+?()[\]{}|-]/g, '\\$&')}$`;
}

/** Odoo's own memory limits for a plan: hard = the plan's memory, soft (recycle) at 80 %. */
export function planMemoryLimits(memoryMiB: number): { soft: number; hard: number } {
  if (!Number.isFinite(memoryMiB) || memoryMiB <= 0) throw new RangeError(`memoryMiB must be positive, got ${memoryMiB}`);
  const hard = Math.round(memoryMiB * MIB);
  return { soft: Math.floor(hard * 0.8), hard };
}

/** A tenant's own Odoo: its database only, with its own role, limits from its plan. */
export function dedicatedConfig(settings: DedicatedProcessSettings): OdooServerOptions {
  const { spec } = settings;
  const memory = planMemoryLimits(spec.limits.memoryMiB);
  return {
    ...connection(spec.tenantRole, settings.dbMaxconn),
    db_name: spec.databaseName,
    dbfilter: exactDatabaseFilter(spec.databaseName),
    list_db: false,
    ...http(settings),
    max_cron_threads: 1,
    limit_memory_soft: memory.soft,
    limit_memory_hard: memory.hard,
    admin_passwd: settings.adminPassword,
    ...files(settings.files),
  };
}
