import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process';
import { delimiter, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Platform settings a developer may have exported; a CLI test only sees the ones it passes. */
const platformVariables = [
  'DATABASE_URL',
  'DATA_DIR',
  'PORT',
  'HOST',
  'BASE_DOMAIN',
  'PUBLIC_URL',
  'SECRET_KEY',
  'SECRET_KEY_PREVIOUS',
  'SMTP_URL',
  'LOG_LEVEL',
  'CONFIG_FILE',
  'SAASCTL_CONFIG',
  'SAASCTL_URL',
  'LOGIN_RATE_LIMIT_PER_MINUTE',
  'OIDC_ISSUERS',
  'OIDC_ISSUERS_FILE',
  'REQUIRE_OPERATOR_2FA',
];

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment of a CLI run: this process's, without platform settings, plus `env`. */
export function cliEnvironment(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const name of platformVariables) delete base[name];
  return { ...base, ...env };
}

/**
 * Runs `saasctl <args>` as a real child process: the TypeScript sources through tsx, so the
 * test always exercises the code under test (no stale build), with this process's Node.js.
 */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: repositoryRoot,
      env: cliEnvironment(options.env ?? {}),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timeoutMs = options.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`saasctl ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    // A command that does not read its input may exit before we finish writing it.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/**
 * `saasctl serve` as a real child process, as an operator runs it (crash and shutdown tests kill
 * it). Its PATH starts with this process's Node.js: the fake Odoo's launcher runs `node` (>= 22).
 */
export function spawnServe(env: Record<string, string>, stdio: StdioOptions = ['ignore', 'inherit', 'inherit']): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
    cwd: repositoryRoot,
    env: cliEnvironment({ PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`, ...env }),
    stdio,
  });
}

/** How a child process ended, once it has (at once when it already had). */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
}
