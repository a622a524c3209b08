/**
 * A real authoritative DNS server for tests: Debian's Knot (`knotd`) run unprivileged-style on a
 * loopback port with its own config, zone files and control socket, serving the zones a test
 * names. Records change at runtime through `knotc` zone transactions, as an operator's DNS
 * provider would change them; the platform's resolver (DNS_RESOLVERS) is pointed at it.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freeTestPort } from './ports.js';

const run = promisify(execFile);
const KNOTD = '/usr/sbin/knotd';
const KNOTC = '/usr/sbin/knotc';

/** Why Knot cannot run here (scripts/lib.sh installs it), or undefined when it can. */
export function knotMissing(): string | undefined {
  return existsSync(KNOTD) && existsSync(KNOTC)
    ? undefined
    : `Knot DNS is not installed (${KNOTD}); run scripts/test.sh, which installs it`;
}

export interface TestDnsServer {
  /** `127.0.0.1:<port>`, for DNS_RESOLVERS. */
  address: string;
  /** Sets (replaces) every record of `type` at `name` (absolute, without the trailing dot). */
  set(zone: string, name: string, type: string, ...values: string[]): Promise<void>;
  /** Removes every record of `type` at `name`. */
  unset(zone: string, name: string, type: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestDnsServer(zones: readonly string[]): Promise<TestDnsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'saas-test-knot-'));
  const port = await freeTestPort();
  const socket = join(dir, 'knot.sock');
  for (const zone of zones) {
    writeFileSync(
      join(dir, `${zone}.zone`),
      [`$ORIGIN ${zone}.`, '$TTL 1', `@ SOA ns.${zone}. hostmaster.${zone}. 1 60 60 600 1`, `@ NS ns.${zone}.`, 'ns A 127.0.0.1', ''].join(
        '\n',
      ),
    );
  }
  writeFileSync(
    join(dir, 'knot.conf'),
    [
      'server:',
      `    rundir: "${dir}"`,
      `    listen: 127.0.0.1@${port}`,
      'database:',
      `    storage: "${dir}"`,
      'control:',
      `    listen: "${socket}"`,
      'log:',
      '  - target: stderr',
      '    any: warning',
      'template:',
      '  - id: default',
      `    storage: "${dir}"`,
      '    file: "%s.zone"',
      // The zone files are only read at start: later changes live in Knot's journal.
      '    zonefile-sync: -1',
      '    journal-content: all',
      'zone:',
      ...zones.map((zone) => `  - domain: ${zone}`),
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(KNOTD, ['-c', join(dir, 'knot.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  async function knotc(...args: string[]): Promise<string> {
    const { stdout } = await run(KNOTC, ['-s', socket, '-t', '5', ...args]);
    return stdout;
  }

  // Ready when every zone is loaded (knotc answers only once the server runs).
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`knotd exited at start: ${stderr}`);
    const status = await knotc('zone-status').catch(() => '');
    if (zones.every((zone) => status.includes(`[${zone}.]`) && !status.includes('role: none'))) break;
    if (Date.now() > deadline) throw new Error(`knotd did not load its zones in 15 s: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }

  async function transaction(zone: string, work: () => Promise<void>): Promise<void> {
    await knotc('zone-begin', zone);
    try {
      await work();
      await knotc('zone-commit', zone);
    } catch (error) {
      await knotc('zone-abort', zone).catch(() => undefined);
      throw error;
    }
  }

  return {
    address: `127.0.0.1:${port}`,
    set: (zone, name, type, ...values) =>
      transaction(zone, async () => {
        await knotc('zone-unset', zone, `${name}.`, type).catch(() => undefined);
        for (const value of values) await knotc('zone-set', zone, `${name}.`, '1', type, value);
      }),
    unset: (zone, name, type) => transaction(zone, async () => void (await knotc('zone-unset', zone, `${name}.`, type))),
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
