import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { quoteIdentifier } from '../db/index.js';
import { CommandError } from '../errors/index.js';
import { findPostgresBinaries } from './binaries.js';
import { postgresClientCommand } from './client-command.js';

/**
 * Plain SQL dumps as Odoo's backup zips carry them (`dump.sql`): pg_dump's stdout streamed to
 * whoever reads it, and psql fed from a stream. Connections go through postgresClientCommand
 * (no password on a command line).
 */
export interface RunningProgram<S> {
  stream: S;
  /** Settles when the program exits: rejects with a CommandError carrying its stderr. */
  done: Promise<void>;
  /** Ends the program (a failed consumer stops the producer). */
  kill(): void;
}

function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

function binary(name: 'pg_dump' | 'psql'): string {
  const binaries = findPostgresBinaries();
  if (!binaries) throw new Error(`${name} not found: install the postgresql package (or set PG_BIN_DIR).`);
  return join(binaries.binDir, name);
}

function watch(child: ChildProcess, label: string): Promise<void> {
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (errors.length < 8000) errors += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new CommandError(label, code ?? -1, errors || `ended by ${signal ?? 'an unknown cause'}`));
    });
  });
}

/**
 * `pg_dump --no-owner --no-privileges` (plain SQL) of `database`, on stdout as it is written.
 * With `snapshot` (from `pg_export_snapshot()` in a transaction the caller keeps open until the
 * dump ends) it dumps exactly what that transaction sees.
 */
export function startPlainDump(adminUrl: string, database: string, options: { snapshot?: string } = {}): RunningProgram<Readable> {
  const args = ['--no-owner', '--no-privileges', ...(options.snapshot ? [`--snapshot=${options.snapshot}`] : [])];
  const command = postgresClientCommand(binary('pg_dump'), args, databaseUrl(adminUrl, database));
  const child = spawn(command.file, command.args, { env: command.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const done = watch(child, 'pg_dump');
  done.catch(() => undefined); // the caller awaits it; never an unhandled rejection meanwhile
  return { stream: child.stdout as Readable, done, kill: () => child.kill('SIGKILL') };
}

/**
 * psql loading a plain dump into `database` as `role` (so every object it creates belongs to
 * the tenant role), stopping at the first error. The caller writes the dump to `stream`.
 */
export function startPlainRestore(adminUrl: string, database: string, role: string): RunningProgram<Writable> {
  const command = postgresClientCommand(
    binary('psql'),
    ['--quiet', '--no-psqlrc', '--set=ON_ERROR_STOP=1', '--single-transaction', `--command=SET ROLE ${quoteIdentifier(role)}`, '--file=-'],
    databaseUrl(adminUrl, database),
  );
  const child = spawn(command.file, command.args, { env: command.env, stdio: ['pipe', 'ignore', 'pipe'] });
  const done = watch(child, 'psql');
  done.catch(() => undefined);
  // psql failing early makes writes to its stdin fail (EPIPE): its exit code tells.
  child.stdin?.on('error', () => undefined);
  return { stream: child.stdin as Writable, done, kill: () => child.kill('SIGKILL') };
}
