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
  timeoutMs?: number;
}

/** Runs a program with an argument vector (never a shell string); rejects with CommandError. */
export function runCommand(file: string, args: string[], options: RunOptions = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: options.detached ?? false,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('error', (error) => {
      if (timer) clearTimeout(timer);
      reject(new CommandError(`${file} ${args.join(' ')}`, null, error.message));
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      if (code === 0) resolvePromise({ stdout, stderr });
      else reject(new CommandError(`${file} ${args.join(' ')}`, code, stderr || stdout));
    });
  });
}
