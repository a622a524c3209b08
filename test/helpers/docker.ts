import { appendFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Docker from 'dockerode';
import { createLogger } from '../../src/logging/index.js';
import { type LocalPostgresConnection, LocalPostgresServer, withConnection } from '../../src/postgres/index.js';

/**
 * The Docker engine the suite's Docker tests run on: DOCKER_HOST, else the dockerd of the suite's
 * own that scripts/lib.sh (ensure_docker) starts (socket /run/saas-test-docker/docker.sock, data
 * under data/test-docker), else the system one. The
 * image is the fake Odoo built there (SAAS_TEST_DOCKER_IMAGE, else its `latest` tag).
 */
export interface TestDocker {
  docker: Docker;
  /** Where the engine listens (unix socket path). */
  socketPath: string;
  /** The fake Odoo image (test/fixtures/docker/Dockerfile.fake-odoo). */
  image: string;
}

export const FAKE_ODOO_IMAGE_REPO = 'saas-test/fake-odoo';

function socketCandidates(): string[] {
  const fromEnv = process.env.DOCKER_HOST?.startsWith('unix://') ? [process.env.DOCKER_HOST.slice('unix://'.length)] : [];
  return [...fromEnv, '/run/saas-test-docker/docker.sock', '/var/run/docker.sock'];
}

/** The engine and image, or why the Docker tests cannot run here (printed by the caller). */
export async function findTestDocker(): Promise<{ ok: true; value: TestDocker } | { ok: false; reason: string }> {
  const tried: string[] = [];
  for (const socketPath of socketCandidates()) {
    if (!existsSync(socketPath)) {
      tried.push(`${socketPath}: no such socket`);
      continue;
    }
    const docker = new Docker({ socketPath });
    try {
      await docker.ping();
    } catch (error) {
      tried.push(`${socketPath}: ${(error as Error).message}`);
      continue;
    }
    const image = process.env.SAAS_TEST_DOCKER_IMAGE ?? `${FAKE_ODOO_IMAGE_REPO}:latest`;
    try {
      await docker.getImage(image).inspect();
    } catch {
      return {
        ok: false,
        reason: `the Docker engine at ${socketPath} has no image ${image}: run scripts/test.sh (ensure_docker builds it)`,
      };
    }
    return { ok: true, value: { docker, socketPath, image } };
  }
  return { ok: false, reason: `no Docker engine reachable (${tried.join('; ')}); scripts/test.sh (ensure_docker) starts one` };
}

/**
 * The docker runtime's settings for the fake Odoo image: one tag per series, as the official image
 * has (odoo:16, odoo:17...), and a health check with the image's Node (it has no curl).
 */
export function fakeImageRuntimeSettings(testDocker: TestDocker, dataDir: string) {
  return {
    docker: testDocker.docker,
    imageFor: (series: string) => `${testDocker.image}-${series}`,
    defaultSeries: '17.0',
    healthCheck: [
      'CMD',
      'node',
      '-e',
      "fetch('http://127.0.0.1:8069/web/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))",
    ],
    odooDataDir: join(dataDir, 'odoo'),
    platformAddonsDir: resolve('odoo-addons'),
  };
}

/** Whether the engine has the official Odoo image of a series (`odoo:17`), so real-Odoo runs can happen. */
export async function hasImage(docker: Docker, image: string): Promise<boolean> {
  return docker
    .getImage(image)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}

/**
 * A PostgreSQL server that containers reach: the suite's shared one listens on loopback only,
 * which a container cannot use. This one also listens on the host's other addresses (among them
 * each Docker network's gateway) and lets in password logins from private networks only.
 */
export async function startContainerReachablePostgres(): Promise<{ connection: LocalPostgresConnection; stop(): Promise<void> }> {
  const directory = mkdtempSync(join(tmpdir(), 'saas-test-docker-pg-'));
  const server = new LocalPostgresServer({ directory, logger: createLogger('warn'), unsafeFastMode: true, maxConnections: 600 });
  let connection = await server.start();
  // postgresql.auto.conf is read after the platform's own file, so this wins at the next start.
  await withConnection(connection.url, (client) => client.query("ALTER SYSTEM SET listen_addresses = '*'"));
  appendFileSync(
    join(directory, 'pgdata', 'pg_hba.conf'),
    `${['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map((net) => `host all all ${net} scram-sha-256`).join('\n')}\n`,
  );
  await server.stop();
  connection = await server.start();
  return {
    connection,
    async stop() {
      await server.stop();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** Removes every container, network and volume of a runtime instance (a test's leftovers). */
export async function removeInstance(docker: Docker, instance: string): Promise<void> {
  const filters = { label: [`io.odoo-saas.instance=${instance}`] };
  for (const container of await docker.listContainers({ all: true, filters })) {
    await docker.getContainer(container.Id).remove({ force: true, v: true });
  }
  for (const network of await docker.listNetworks({ filters })) await docker.getNetwork(network.Id).remove();
  const { Volumes } = await docker.listVolumes({ filters });
  for (const volume of Volumes ?? []) await docker.getVolume(volume.Name).remove();
}

/** The limits the kernel applies to a process, read from its cgroup v1 (or v2) files on the host. */
export async function cgroupLimitsOf(pid: number): Promise<{ memoryBytes: number; cpuQuotaUs: number; cpuPeriodUs: number }> {
  const { readFileSync } = await import('node:fs');
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
  const v2 = lines.find((line) => line.startsWith('0::'));
  const v1Path = (controller: string) => {
    const line = lines.find((entry) => entry.split(':')[1]?.split(',').includes(controller));
    if (!line) throw new Error(`process ${pid} has no ${controller} cgroup`);
    return line.split(':').slice(2).join(':');
  };
  if (lines.some((line) => line.split(':')[1]?.split(',').includes('memory'))) {
    const memoryDir = `/sys/fs/cgroup/memory${v1Path('memory')}`;
    const cpuDir = existsSync('/sys/fs/cgroup/cpu,cpuacct')
      ? `/sys/fs/cgroup/cpu,cpuacct${v1Path('cpu')}`
      : `/sys/fs/cgroup/cpu${v1Path('cpu')}`;
    return {
      memoryBytes: Number(readFileSync(`${memoryDir}/memory.limit_in_bytes`, 'utf8')),
      cpuQuotaUs: Number(readFileSync(`${cpuDir}/cpu.cfs_quota_us`, 'utf8')),
      cpuPeriodUs: Number(readFileSync(`${cpuDir}/cpu.cfs_period_us`, 'utf8')),
    };
  }
  if (!v2) throw new Error(`cannot read the cgroup of process ${pid}`);
  const dir = `/sys/fs/cgroup${v2.slice(3)}`;
  const [quota, period] = readFileSync(`${dir}/cpu.max`, 'utf8').trim().split(' ');
  return {
    memoryBytes: Number(readFileSync(`${dir}/memory.max`, 'utf8')),
    cpuQuotaUs: Number(quota),
    cpuPeriodUs: Number(period),
  };
}

/** A file inside a container, through the Engine API's archive endpoint (a one-file tar); undefined when absent. */
export async function readContainerFile(docker: Docker, container: string, path: string): Promise<string | undefined> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.getContainer(container).getArchive({ path });
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  const tar = Buffer.concat(chunks);
  const size = Number.parseInt(tar.subarray(124, 136).toString('utf8').replace(/\0.*$/, '').trim(), 8);
  return tar.subarray(512, 512 + size).toString('utf8');
}

/** Runs a command in a container and answers its output (stdout and stderr, frames removed). */
export async function execIn(docker: Docker, container: string, command: string[]): Promise<string> {
  const exec = await docker.getContainer(container).exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  const raw = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
  const { demuxLogLines } = await import('../../src/runtimes/docker/index.js');
  return demuxLogLines(raw).join('\n');
}
