/**
 * Debian's Caddy as the TLS edge in front of a test platform, run on the Caddyfile that
 * `saasctl edge caddyfile` prints (src/edge/), with Caddy's own CA (`tls internal`, offline)
 * and loopback ports. Its data directory (the CA) is the test's own.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderCaddyfile } from '../../src/edge/index.js';
import { waitFor } from './gateway-client.js';
import { freeTestPort } from './ports.js';

export function caddyMissing(): string | undefined {
  return spawnSync('caddy', ['version']).status === 0 ? undefined : 'Caddy is not installed; run scripts/test.sh, which installs it';
}

export interface TestEdge {
  httpsPort: number;
  httpPort: number;
  /** The root certificate of Caddy's CA (PEM), for clients to trust. */
  rootCertificate: string;
  stop(): Promise<void>;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Ports chosen beforehand: a platform started earlier checks certificates and HTTP proofs there. */
export async function startTestEdge(upstream: string, options: { httpsPort?: number; httpPort?: number } = {}): Promise<TestEdge> {
  const dir = mkdtempSync(join(tmpdir(), 'saas-test-caddy-'));
  const [httpsPort, httpPort] = [options.httpsPort ?? (await freeTestPort()), options.httpPort ?? (await freeTestPort())];
  const file = join(dir, 'Caddyfile');
  writeFileSync(file, renderCaddyfile({ upstream, internalTls: true, httpsPort, httpPort, admin: 'off' }));
  const child: ChildProcess = spawn('caddy', ['run', '--adapter', 'caddyfile', '--config', file], {
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const root = join(dir, 'data', 'caddy', 'pki', 'authorities', 'local', 'root.crt');
  await waitFor(
    'Caddy to listen with its CA made',
    async () => {
      if (child.exitCode !== null) throw new Error(`caddy exited: ${log}`);
      return existsSync(root) && (await listening(httpsPort)) ? true : undefined;
    },
    20_000,
    50,
  );
  return {
    httpsPort,
    httpPort,
    rootCertificate: readFileSync(root, 'utf8'),
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
