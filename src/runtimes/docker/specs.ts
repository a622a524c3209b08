/**
 * What the Docker runtime asks the engine for, as pure data built from (tenant, plan, settings):
 * names, labels, the network, the filestore volume, the container and Odoo's configuration file.
 * runtime.ts only sends these; everything here is unit-tested without an engine.
 */
import { createHash } from 'node:crypto';
import type { ContainerCreateOptions, NetworkCreateOptions, VolumeCreateOptions } from 'dockerode';
import type { OdooServerOptions } from '../../odoo/index.js';
import { exactDatabaseFilter, PLATFORM_ADDONS, planMemoryLimits, SERVER_WIDE_MODULES } from '../process/index.js';
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
} as const;

/** Where things live inside the container (the official `odoo` image's layout). */
export const CONTAINER_PATHS = {
  config: '/etc/odoo/saas.conf',
  dataDir: '/var/lib/odoo',
} as const;

export const ODOO_HTTP_PORT = 8069;

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
  return {
    Name: names.network,
    Driver: 'bridge',
    CheckDuplicate: true,
    Internal: false,
    Attachable: false,
    Labels: { ...baseLabels(settings), [LABELS.kind]: 'dedicated', [LABELS.tenant]: spec.tenantId },
    // No container-to-container traffic even if something else joined it.
    Options: { 'com.docker.network.bridge.enable_icc': 'false' },
  };
}

/** The host directory of the tenant's filestore (where provisioning, backups and restores put it). */
export function hostFilestoreDir(settings: Pick<DockerSettings, 'odooDataDir'>, databaseName: string): string {
  return `${settings.odooDataDir.replace(/\/+$/, '')}/filestore/${databaseName}`;
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
  const environment = settings.environment?.(series) ?? {};
  const platformAddons = `${CONTAINER_PATHS.dataDir}/addons/${series}`;
  return {
    name: names.container,
    Image: settings.imageFor(series),
    Entrypoint: ['odoo'],
    Cmd: ['-c', CONTAINER_PATHS.config],
    User: `${settings.odooUser.uid}:${settings.odooUser.gid}`,
    Env: Object.entries(environment).map(([key, value]) => `${key}=${value}`),
    Labels: {
      ...baseLabels(settings),
      [LABELS.kind]: 'dedicated',
      [LABELS.tenant]: spec.tenantId,
      [LABELS.tenantName]: spec.tenantName,
      [LABELS.database]: spec.databaseName,
      [LABELS.series]: series,
      [LABELS.fingerprint]: fingerprint,
    },
    ExposedPorts: { [`${ODOO_HTTP_PORT}/tcp`]: {} },
    Healthcheck: {
      Test: settings.healthCheck,
      Interval: 10_000_000_000,
      Timeout: 5_000_000_000,
      Retries: 3,
      StartPeriod: 120_000_000_000,
    },
    HostConfig: {
      Init: true,
      RestartPolicy: { Name: settings.restartPolicy },
      ...resourceLimits(spec.limits),
      PidsLimit: settings.pidsLimit,
      NetworkMode: names.network,
      PortBindings: { [`${ODOO_HTTP_PORT}/tcp`]: [{ HostIp: settings.publishAddress, HostPort: String(hostPort) }] },
      Mounts: [
        { Type: 'volume' as const, Source: names.volume, Target: `${CONTAINER_PATHS.dataDir}/filestore/${spec.databaseName}` },
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
