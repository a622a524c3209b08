/**
 * The one way the platform runs an external program to completion (pg_ctl, initdb, odoo-bin
 * -i/neutralize/--version...): an argument vector, never a shell string, and a CommandError
 * on failure whose command and output errors/ masks for credentials. The environment is the
 * caller's choice: odoo/ and postgres/ build minimal ones (odooEnvironment, postgresClientCommand).
 */
import { spawn } from 'node:child_process';
import { CommandError } from '../errors/index.js';

export interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

export interface RunOptions {
  runAs?: RunAs | undefined;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Start the command in its own process group, so the platform's signals do not reach it. */
  detached?: boolean;
  /** Killed (SIGKILL) after this long. */
  timeoutMs?: number;
  /**
   * Every chunk of output (stdout and stderr) as it comes, e.g. into a log file. The result then
   * holds only the last OUTPUT_TAIL_CHARS of each stream: a long Odoo init writes megabytes.
   */
  onOutput?: (chunk: Buffer) => void;
}

export interface CommandOutput {
  stdout: string;
  stderr: string;
}

/** What is kept of each stream when the output goes elsewhere (onOutput); errors show less still. */
const OUTPUT_TAIL_CHARS = 4000;

/** Runs a program with an argument vector (never a shell string); rejects with CommandError. */
export function runCommand(file: string, args: readonly string[], options: RunOptions = {}): Promise<CommandOutput> {
  const command = `${file} ${args.join(' ')}`;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: options.detached ?? false,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
    });
    const output: CommandOutput = { stdout: '', stderr: '' };
    const collect = (stream: keyof CommandOutput) => (chunk: Buffer) => {
      options.onOutput?.(chunk);
      const text = output[stream] + chunk.toString();
      output[stream] = options.onOutput ? text.slice(-OUTPUT_TAIL_CHARS) : text;
    };
    child.stdout.on('data', collect('stdout'));
    child.stderr.on('data', collect('stderr'));
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('error', (error) => {
      if (timer) clearTimeout(timer);
      reject(new CommandError(command, null, error.message));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (code === 0) return resolvePromise(output);
      const said = output.stderr || output.stdout;
      reject(new CommandError(command, code, signal ? `killed by ${signal}\n${said}` : said));
    });
  });
}
