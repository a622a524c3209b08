/**
 * What the start-up and CLI benchmarks share: run a command of a checkout (this one, or the one
 * BENCH_ROOT names, e.g. an older commit to compare with) and time it, and wait for a platform's
 * /readyz.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { percentile } from './lib.js';

/** The checkout measured: BENCH_ROOT, or the current directory. */
export const benchRoot = resolve(process.env.BENCH_ROOT ?? '.');

export function tempDirectory(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Runs a command to its end; resolves with its wall time in milliseconds and its output. */
export function timed(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<{ ms: number; code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const started = performance.now();
    const child = execFile(command, args, { cwd: benchRoot, env: options.env ?? process.env }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolvePromise({ ms: performance.now() - started, code, stdout, stderr: stderr || (error?.message ?? '') });
    });
    child.stdin?.end(options.input ?? '');
  });
}

/** Polls /readyz until it answers 200 (the child's exit ends the wait with an error). */
export async function waitReady(url: string, child: ChildProcess, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  for (;;) {
    if (exited) throw new Error(`the platform exited before ${url}/readyz answered`);
    if (Date.now() > deadline) throw new Error(`${url}/readyz did not answer 200 within ${timeoutMs} ms`);
    const status = await fetch(`${url}/readyz`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once('exit', (code) => r(code)));
}

/** The pid in a cluster's postmaster.pid, when it names a live process. */
export function livePostmaster(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postgres/pgdata/postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const f = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
  return `median ${f(percentile(sorted, 50))}, min ${f(sorted[0] ?? Number.NaN)}, max ${f(sorted.at(-1) ?? Number.NaN)} (n=${values.length})`;
}
