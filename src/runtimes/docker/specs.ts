/**
 * What the Docker runtime asks the engine for, as pure data built from (tenant, plan, settings):
 * names, labels, the network, the filestore volume, the container and Odoo's configuration file.
 * runtime.ts only sends these; everything here is unit-tested without an engine.
 */
import { createHash } from 'node:crypto';
import type { ContainerCreateOptions, NetworkCreateOptions, VolumeCreateOptions } from 'dockerode';
import type { OdooServerOptions } from '../../odoo/index.js';
import {
  exactDatabaseFilter,
  PLATFORM_ADDONS,
  type PoolProcessSettings,
  planMemoryLimits,
  poolCronConfig,
  poolWebConfig,
  SERVER_WIDE_MODULES,
} from '../process/index.js';
import type { DatabaseCredentials, TenantServeSpec } from '../types.js';

/** Label keys; `managed` + `instance` find this platform's objects when several share an engine. */
export const LABELS = {
  managed: 'io.odoo-saas.managed',
  instance: 'io.odoo-saas.instance',
  kind: 'io.odoo-saas.kind',
  tenant: 'io.odoo-saas.tenant',
  tenantName: 'io.odoo-saas.tenant-name',
  database: 'io.odoo-saas.database',
  series: 'io.odoo-saas.series',
  fingerprint: 'io.odoo-saas.fingerprint',
  pool: 'io.odoo-saas.pool',
  unit: 'io.odoo-saas.unit',
  databaseServer: 'io.odoo-saas.database-server',
} as const;

/** Where things live inside the container (the official `odoo` image's layout). */
export const CONTAINER_PATHS = {
  config: '/etc/odoo/saas.conf',
  dataDir: '/var/lib/odoo',
} as const;

export const ODOO_HTTP_PORT = 8069;
/** Odoo's websocket/long-polling port in workers mode (its `gevent_port`). */
export const ODOO_WEBSOCKET_PORT = 8072;

export interface DockerSettings {
  /** Tells this platform's containers apart from another platform's on the same engine. */
  instance: string;
  /** The image of a series, e.g. `odoo:17` for `17.0`. */
  imageFor(series: string): string;
  /** The series when the tenant names none. */
  defaultSeries: string;
  /** Extra environment of every container (never secrets: `docker inspect` shows them). */
  environment?: ((series: string) => Record<string, string>) | undefined;
  /** The container's health check command (Docker's `Healthcheck.Test`). */
  healthCheck: string[];
  /** The uid:gid Odoo runs as in the image (the official image: 101:101); owns its files. */
  odooUser: { uid: number; gid: number };
  /** The host directory holding `filestore/<database>` (the platform's Odoo data dir). */
  odooDataDir: string;
  /** The platform's Odoo addons (odoo-addons/), mounted read-only as server-wide modules. */
  platformAddonsDir: string;
  /**
   * The address published ports listen on (the gateway connects there). Each container gets a
   * fixed host port chosen by the runtime, so a restart by Docker keeps the gateway's upstream.
   */
  publishAddress: string;
  /**
   * How containers reach a database server whose address is a loopback one: undefined = the
   * host's address on the tenant's network (its gateway). Other addresses are used as they are.
   */
  databaseHost?: string | undefined;
  /** Docker restart policy of the containers. */
  restartPolicy: 'unless-stopped' | 'always' | 'on-failure';
  /** Max processes in a container (fork bombs stay inside their limit). */
  pidsLimit: number;
}

/** A valid Docker object name made of the parts (letters, digits, `_.-`). */
function dockerName(...parts: string[]): string {
  return parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9_.-]/g, '-')
    .slice(0, 120);
}

export interface DedicatedNames {
  container: string;
  network: string;
  volume: string;
}

/** The names of a dedicated tenant's container, network and filestore volume. */
export function dedicatedNames(settings: Pick<DockerSettings, 'instance'>, tenantName: string): DedicatedNames {
  const base = dockerName('saas', settings.instance, 't', tenantName);
  return { container: base, network: base, volume: `${base}-filestore` };
}

export function baseLabels(settings: Pick<DockerSettings, 'instance'>): Record<string, string> {
  return { [LABELS.managed]: 'true', [LABELS.instance]: settings.instance };
}

/** The engine filter that lists this platform's objects. */
export function ownedFilter(settings: Pick<DockerSettings, 'instance'>): { label: string[] } {
  return { label: [`${LABELS.managed}=true`, `${LABELS.instance}=${settings.instance}`] };
}

export function seriesOf(settings: Pick<DockerSettings, 'defaultSeries'>, spec: Pick<TenantServeSpec, 'odooSeries'>): string {
  return spec.odooSeries ?? settings.defaultSeries;
}

/**
 * What a dedicated container is made from, limits aside (they change live): a different
 * fingerprint replaces the container. The password enters as a hash only (labels are public).
 */
export function dedicatedFingerprint(settings: DockerSettings, spec: TenantServeSpec): string {
  const series = seriesOf(settings, spec);
  const parts = [
    settings.imageFor(series),
    series,
    spec.databaseName,
    spec.hostName,
    spec.tenantRole.host,
    String(spec.tenantRole.port),
    spec.tenantRole.user,
    createHash('sha256').update(spec.tenantRole.password).digest('hex'),
    JSON.stringify(settings.environment?.(series) ?? {}),
    JSON.stringify(settings.healthCheck),
    settings.databaseHost ?? '',
    'v1',
  ];
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32);
}

/** The tenant's own network: only its container is on it; the host (gateway, database) is its gateway. */
export function networkSpec(settings: DockerSettings, names: DedicatedNames, spec: TenantServeSpec): NetworkCreateOptions {
  return bridgeNetwork(names.network, { ...baseLabels(settings), [LABELS.kind]: 'dedicated', [LABELS.tenant]: spec.tenantId });
}

/** A network of its own, without container-to-container traffic even if something else joined it. */
function bridgeNetwork(name: string, labels: Record<string, string>): NetworkCreateOptions {
  return {
    Name: name,
    Driver: 'bridge',
    CheckDuplicate: true,
    Internal: false,
    Attachable: false,
    Labels: labels,
    Options: { 'com.docker.network.bridge.enable_icc': 'false' },
  };
}

/** The host directory of the tenant's filestore (where provisioning, backups and restores put it). */
export function hostFilestoreDir(settings: Pick<DockerSettings, 'odooDataDir'>, databaseName: string): string {
  return `${hostFilestoreRoot(settings)}/${databaseName}`;
}

/**
 * The filestore volume: a local volume bound to the host's `filestore/<database>` directory, so
 * the platform's backups, restores and template copies keep working on the host's files while
 * the container sees them at Odoo's usual place. Removing the volume leaves the files.
 */
export function volumeSpec(settings: DockerSettings, names: DedicatedNames, spec: TenantServeSpec): VolumeCreateOptions {
  return {
    Name: names.volume,
    Driver: 'local',
    DriverOpts: { type: 'none', o: 'bind', device: hostFilestoreDir(settings, spec.databaseName) },
    Labels: { ...baseLabels(settings), [LABELS.kind]: 'dedicated', [LABELS.tenant]: spec.tenantId },
  };
}

const MIB = 1024 * 1024;

/** Docker's resource fields for a plan's limits: CPU as nano-CPUs (CFS quota), memory without swap. */
export function resourceLimits(limits: { cpu: number; memoryMiB: number }): { NanoCpus: number; Memory: number; MemorySwap: number } {
  if (!Number.isFinite(limits.cpu) || limits.cpu <= 0) throw new RangeError(`cpu must be positive, got ${limits.cpu}`);
  if (!Number.isFinite(limits.memoryMiB) || limits.memoryMiB < 6) throw new RangeError(`memoryMiB must be >= 6, got ${limits.memoryMiB}`);
  const memory = Math.round(limits.memoryMiB * MIB);
  return { NanoCpus: Math.round(limits.cpu * 1e9), Memory: memory, MemorySwap: memory };
}

/** Limits the engine accepts: no more CPUs than the host has. */
export function capToHost(limits: { cpu: number; memoryMiB: number }, hostCpus: number): { cpu: number; memoryMiB: number } {
  return limits.cpu > hostCpus ? { ...limits, cpu: hostCpus } : limits;
}

/** Whether a host name is a loopback address, which a container cannot use to reach the host. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}

/** The database address as the container must use it. */
export function containerDatabaseHost(
  settings: Pick<DockerSettings, 'databaseHost'>,
  credentials: DatabaseCredentials,
  networkGateway: string,
): string {
  if (!isLoopbackHost(credentials.host)) return credentials.host;
  return settings.databaseHost ?? networkGateway;
}

/**
 * Odoo's configuration of a dedicated container: its database only, with its own role, listening
 * on all of the container's interfaces (only its network and the published loopback port reach
 * it), logging to stdout (read through the Engine API), Odoo's memory limits from the plan.
 */
export function dedicatedOdooConfig(spec: TenantServeSpec, databaseHost: string, adminPassword: string): OdooServerOptions {
  const memory = planMemoryLimits(spec.limits.memoryMiB);
  return {
    db_host: databaseHost,
    db_port: spec.tenantRole.port,
    db_user: spec.tenantRole.user,
    db_password: spec.tenantRole.password,
    db_maxconn: 8,
    db_name: spec.databaseName,
    dbfilter: exactDatabaseFilter(spec.databaseName),
    list_db: false,
    http_interface: '0.0.0.0',
    http_port: ODOO_HTTP_PORT,
    proxy_mode: true,
    workers: 0,
    max_cron_threads: 1,
    limit_memory_soft: memory.soft,
    limit_memory_hard: memory.hard,
    admin_passwd: adminPassword,
    data_dir: CONTAINER_PATHS.dataDir,
    server_wide_modules: SERVER_WIDE_MODULES,
  };
}

/**
 * The container of a dedicated tenant. Odoo is started directly with the configuration file the
 * runtime copies in before the first start (not the image's entrypoint: the official one copies
 * the database password from the file onto Odoo's command line, visible to every process list).
 */
export function dedicatedContainerSpec(
  settings: DockerSettings,
  names: DedicatedNames,
  spec: TenantServeSpec,
  fingerprint: string,
  hostPort: number,
): ContainerCreateOptions & { name: string } {
  const series = seriesOf(settings, spec);
  return odooContainer(settings, {
    name: names.container,
    series,
    labels: {
      [LABELS.kind]: 'dedicated',
      [LABELS.tenant]: spec.tenantId,
      [LABELS.tenantName]: spec.tenantName,
      [LABELS.database]: spec.databaseName,
      [LABELS.series]: series,
      [LABELS.fingerprint]: fingerprint,
    },
    network: names.network,
    limits: spec.limits,
    healthCheck: settings.healthCheck,
    ports: { [ODOO_HTTP_PORT]: hostPort },
    filestore: { Type: 'volume', Source: names.volume, Target: `${CONTAINER_PATHS.dataDir}/filestore/${spec.databaseName}` },
  });
}

/** What tells one Odoo container from another; the rest (user, entrypoint, hardening) is common to all. */
interface OdooContainerParts {
  name: string;
  series: string;
  labels: Record<string, string>;
  network: string;
  limits: { cpu: number; memoryMiB: number };
  /** Docker's `Healthcheck.Test`; `['NONE']` for a process without HTTP (a pool's cron). */
  healthCheck: string[];
  /** Container port -> host port published on the publish address. */
  ports: Record<number, number>;
  filestore: { Type: 'volume' | 'bind'; Source: string; Target: string };
}

function odooContainer(settings: DockerSettings, parts: OdooContainerParts): ContainerCreateOptions & { name: string } {
  const environment = settings.environment?.(parts.series) ?? {};
  const platformAddons = `${CONTAINER_PATHS.dataDir}/addons/${parts.series}`;
  const published = Object.entries(parts.ports);
  return {
    name: parts.name,
    Image: settings.imageFor(parts.series),
    Entrypoint: ['odoo'],
    Cmd: ['-c', CONTAINER_PATHS.config],
    User: `${settings.odooUser.uid}:${settings.odooUser.gid}`,
    Env: Object.entries(environment).map(([key, value]) => `${key}=${value}`),
    Labels: { ...baseLabels(settings), ...parts.labels },
    ExposedPorts: Object.fromEntries(published.map(([port]) => [`${port}/tcp`, {}])),
    Healthcheck: {
      Test: parts.healthCheck,
      Interval: 10_000_000_000,
      Timeout: 5_000_000_000,
      Retries: 3,
      StartPeriod: 120_000_000_000,
    },
    HostConfig: {
      Init: true,
      RestartPolicy: { Name: settings.restartPolicy },
      ...resourceLimits(parts.limits),
      PidsLimit: settings.pidsLimit,
      NetworkMode: parts.network,
      PortBindings: Object.fromEntries(
        published.map(([port, hostPort]) => [`${port}/tcp`, [{ HostIp: settings.publishAddress, HostPort: String(hostPort) }]]),
      ),
      Mounts: [
        parts.filestore,
        // Odoo always has <data_dir>/addons/<series> on its addons path (see process/platform-addons.ts).
        ...PLATFORM_ADDONS.map((addon) => ({
          Type: 'bind' as const,
          Source: `${settings.platformAddonsDir.replace(/\/+$/, '')}/${addon}`,
          Target: `${platformAddons}/${addon}`,
          ReadOnly: true,
        })),
      ],
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
    },
  };
}

// --- pools: several tenants of one database server and series in one Odoo (web + cron containers) ---

/** What a pool is: its name (from process/pool-placement, prefix `dpool`), server and series. */
export interface DockerPoolIdentity {
  name: string;
  databaseServerId: string;
  series: string;
}

export interface PoolNames {
  web: string;
  cron: string;
  network: string;
}

export type PoolUnit = 'web' | 'cron';

/** The containers (web, cron) and network of a pool. */
export function poolNames(settings: Pick<DockerSettings, 'instance'>, poolName: string): PoolNames {
  const base = dockerName('saas', settings.instance, poolName);
  return { web: `${base}-web`, cron: `${base}-cron`, network: base };
}

export interface PoolOdooSettings {
  /** Odoo's host-based `dbfilter` (tenants/ POOL_DBFILTER): the request's host picks the database. */
  dbfilter: string;
  /** Odoo workers of the web container (0 = threaded; else the websocket port is published too). */
  workers: number;
  /** Cron workers of the cron container: tenants whose scheduled actions run at once. */
  cronWorkers: number;
  dbMaxconn: number;
}

export function poolLabels(pool: DockerPoolIdentity): Record<string, string> {
  return {
    [LABELS.kind]: 'pool',
    [LABELS.pool]: pool.name,
    [LABELS.databaseServer]: pool.databaseServerId,
    [LABELS.series]: pool.series,
  };
}

/** The pool's network: its two containers, no traffic between them (they share only the database). */
export function poolNetworkSpec(settings: DockerSettings, names: PoolNames, pool: DockerPoolIdentity): NetworkCreateOptions {
  return bridgeNetwork(names.network, { ...baseLabels(settings), ...poolLabels(pool) });
}

/**
 * What a pool's containers are made from, limits aside (they follow its tenants live): a
 * different fingerprint replaces them. The pool role's password enters as a hash only.
 */
export function poolFingerprint(
  settings: DockerSettings,
  pool: DockerPoolIdentity,
  credentials: DatabaseCredentials,
  odoo: PoolOdooSettings,
): string {
  const parts = [
    settings.imageFor(pool.series),
    pool.series,
    pool.databaseServerId,
    credentials.host,
    String(credentials.port),
    credentials.user,
    createHash('sha256').update(credentials.password).digest('hex'),
    JSON.stringify(odoo),
    JSON.stringify(settings.environment?.(pool.series) ?? {}),
    JSON.stringify(settings.healthCheck),
    settings.databaseHost ?? '',
    'pool-v1',
  ];
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 32);
}

/** Odoo's own per-worker memory limits in a pool (Odoo's defaults, as the process runtime's pools). */
export const POOL_ODOO_MEMORY_MIB = { soft: 2048, hard: 2560 } as const;

/**
 * Odoo's configuration of a pool's web and cron containers: the process runtime's pool configs
 * (process/config.ts: dbfilter, list_db off, a random master password, the cron container in
 * prefork mode walking the databases its role owns), listening on all of the container's
 * interfaces, logging to stdout.
 */
export function poolOdooConfig(
  unit: PoolUnit,
  odoo: PoolOdooSettings,
  credentials: DatabaseCredentials,
  adminPassword: string,
): OdooServerOptions {
  const settings: PoolProcessSettings = {
    credentials,
    dbfilter: odoo.dbfilter,
    httpInterface: '0.0.0.0',
    httpPort: ODOO_HTTP_PORT,
    geventPort: odoo.workers > 0 ? ODOO_WEBSOCKET_PORT : undefined,
    workers: odoo.workers,
    limitMemorySoftBytes: POOL_ODOO_MEMORY_MIB.soft * MIB,
    limitMemoryHardBytes: POOL_ODOO_MEMORY_MIB.hard * MIB,
    dbMaxconn: odoo.dbMaxconn,
    adminPassword,
    cronInWebProcess: false,
    cronWorkers: odoo.cronWorkers,
    files: { dataDir: CONTAINER_PATHS.dataDir, logFile: '' },
  };
  const config = unit === 'web' ? poolWebConfig(settings) : poolCronConfig(settings, ODOO_HTTP_PORT);
  return { ...config, logfile: undefined };
}

/**
 * A pool's resources from its tenants' plans: the web container gets the sum of its tenants'
 * CPU and memory (the pool grows and shrinks with them, live), the cron container the largest
 * single tenant's (it works on one tenant per cron worker at a time).
 */
export function poolLimits(
  members: ReadonlyArray<{ cpu: number; memoryMiB: number }>,
): Record<PoolUnit, { cpu: number; memoryMiB: number }> {
  if (members.length === 0) throw new RangeError('a pool without tenants has no limits');
  const web = members.reduce((sum, limits) => ({ cpu: sum.cpu + limits.cpu, memoryMiB: sum.memoryMiB + limits.memoryMiB }), {
    cpu: 0,
    memoryMiB: 0,
  });
  const cron = { cpu: Math.max(...members.map((m) => m.cpu)), memoryMiB: Math.max(...members.map((m) => m.memoryMiB)) };
  return { web, cron };
}

/**
 * A pool's web or cron container. The host's whole filestore directory is mounted: a tenant
 * joins a running pool, and a running container cannot gain mounts. Only the web container
 * publishes ports (8069, and 8072 in workers mode); the cron container has no HTTP at all.
 */
export function poolContainerSpec(
  settings: DockerSettings,
  names: PoolNames,
  pool: DockerPoolIdentity,
  unit: PoolUnit,
  fingerprint: string,
  limits: { cpu: number; memoryMiB: number },
  hostPorts: Record<number, number>,
): ContainerCreateOptions & { name: string } {
  return odooContainer(settings, {
    name: names[unit],
    series: pool.series,
    labels: { ...poolLabels(pool), [LABELS.unit]: unit, [LABELS.fingerprint]: fingerprint },
    network: names.network,
    limits,
    healthCheck: unit === 'web' ? settings.healthCheck : ['NONE'],
    ports: unit === 'web' ? hostPorts : {},
    filestore: { Type: 'bind', Source: hostFilestoreRoot(settings), Target: `${CONTAINER_PATHS.dataDir}/filestore` },
  });
}

/** The host directory holding every tenant's filestore. */
export function hostFilestoreRoot(settings: Pick<DockerSettings, 'odooDataDir'>): string {
  return `${settings.odooDataDir.replace(/\/+$/, '')}/filestore`;
}

/**
 * Splits a non-TTY container's log stream (Docker's 8-byte frame headers: stream, 0, 0, 0, size)
 * into lines. Bytes after an incomplete frame are ignored.
 */
export function demuxLogLines(buffer: Buffer): string[] {
  const chunks: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    const start = offset + 8;
    if (start + size > buffer.length) break;
    chunks.push(buffer.subarray(start, start + size));
    offset = start + size;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** A one-file tar archive (ustar) of `content` at `name`, for the Engine API's putArchive. */
export function singleFileTar(name: string, content: string, owner: { uid: number; gid: number }, mode = 0o600): Buffer {
  const body = Buffer.from(content, 'utf8');
  const header = Buffer.alloc(512, 0);
  const field = (value: string, offset: number, length: number) => header.write(value, offset, length, 'utf8');
  const octal = (value: number, length: number) => `${value.toString(8).padStart(length - 1, '0')}\0`;
  if (Buffer.byteLength(name) > 100) throw new RangeError(`tar entry name too long: ${name}`);
  field(name, 0, 100);
  field(octal(mode, 8), 100, 8);
  field(octal(owner.uid, 8), 108, 8);
  field(octal(owner.gid, 8), 116, 8);
  field(octal(body.length, 12), 124, 12);
  field(octal(0, 12), 136, 12);
  field('        ', 148, 8);
  field('0', 156, 1);
  field('ustar\0', 257, 6);
  field('00', 263, 2);
  let sum = 0;
  for (const byte of header) sum += byte;
  field(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  const padding = Buffer.alloc((512 - (body.length % 512)) % 512, 0);
  return Buffer.concat([header, body, padding, Buffer.alloc(1024, 0)]);
}

/** The image of a series from a template: `{series}` -> `17.0`, `{major}` -> `17` (`odoo:{major}` -> `odoo:17`). */
export function imageOf(template: string, series: string): string {
  const major = series.replace(/^saas~/, '').split('.')[0] ?? series;
  return template.replaceAll('{series}', series).replaceAll('{major}', major);
}
