import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freeTestPort } from './ports.js';

/**
 * A real MinIO server on loopback (the S3 server operators run), built from the Go module proxy
 * into .tools/minio by scripts/lib.sh `ensure_minio`. Each start gets a fresh data directory, a
 * free port and random credentials; `stop` kills it (an S3 outage), `start` brings it back on
 * the same port and data.
 */
export interface TestMinio {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  client: S3Client;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export function minioBinary(): string {
  const path = process.env.MINIO_BIN ?? resolve('.tools/minio/bin/minio');
  if (!existsSync(path)) {
    throw new Error(`MinIO is missing at ${path}: run \`npm test\` (scripts/lib.sh ensure_minio builds it) or set MINIO_BIN.`);
  }
  return path;
}

async function untilLive(endpoint: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`MinIO exited with ${child.exitCode}: ${output()}`);
    const live = await fetch(`${endpoint}/minio/health/live`).then(
      (r) => r.ok,
      () => false,
    );
    if (live) return;
    if (Date.now() > deadline) throw new Error(`MinIO did not answer within 60 s: ${output()}`);
    // Polling the health endpoint: MinIO has no readiness signal on stdout that is stable across releases.
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startMinio(): Promise<TestMinio> {
  const binary = minioBinary();
  const dataDir = mkdtempSync(join(tmpdir(), 'saas-minio-'));
  const port = await freeTestPort();
  const endpoint = `http://127.0.0.1:${port}`;
  const accessKeyId = `test${randomBytes(6).toString('hex')}`;
  const secretAccessKey = randomBytes(18).toString('hex');
  let child: ChildProcess | undefined;
  let output = '';

  async function start(): Promise<void> {
    output = '';
    child = spawn(
      binary,
      ['server', dataDir, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${await freeTestPort()}`, '--quiet'],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: dataDir,
          MINIO_ROOT_USER: accessKeyId,
          MINIO_ROOT_PASSWORD: secretAccessKey,
          MINIO_BROWSER: 'off',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    await untilLive(endpoint, child, () => output);
  }

  async function stop(): Promise<void> {
    const running = child;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((r) => running.once('exit', r));
    running.kill('SIGKILL');
    await exited;
  }

  await start();
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId, secretAccessKey } });
  const bucket = `backups-${randomBytes(4).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    endpoint,
    bucket,
    accessKeyId,
    secretAccessKey,
    client,
    stop,
    start,
    async destroy() {
      client.destroy();
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
