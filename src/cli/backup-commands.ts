import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { BackupView } from '../backups/index.js';
import type { ApiClient } from './client.js';
import { registerRestoreCommands } from './restore-commands.js';

interface Io {
  client(): ApiClient;
  url(): string;
  printJson(value: unknown): void;
  printTable(rows: Record<string, string | number>[]): void;
}

const path = (tenant: string, id?: string) => `/tenants/${encodeURIComponent(tenant)}/backups${id ? `/${encodeURIComponent(id)}` : ''}`;

function megabytes(bytes: number | null): string {
  return bytes === null ? '' : `${(bytes / 1_048_576).toFixed(1)} MB`;
}

function row(b: BackupView): Record<string, string | number> {
  return {
    id: b.id,
    state: b.state,
    trigger: b.trigger,
    started: b.startedAt.slice(0, 19).replace('T', ' '),
    size: megabytes(b.archiveBytes),
    odoo: b.odooVersion ?? '',
    ...(b.failureReason ? { reason: b.failureReason } : {}),
  };
}

const progressBar = (format: string) =>
  process.stderr.isTTY ? new SingleBar({ format, stream: process.stderr, hideCursor: true }) : undefined;

/**
 * Polls a backup until it is verified or failed. The platform reports no byte counts while a
 * backup runs (the archive's size is known only at the end), so the bar shows the phases.
 */
async function untilSettled(io: Io, tenant: string, id: string, timeoutSeconds: number, quiet: boolean): Promise<BackupView> {
  const bar = quiet ? undefined : progressBar(' {bar} | {state} {elapsed}s');
  bar?.start(2, 0, { state: 'queued', elapsed: 0 });
  const started = Date.now();
  try {
    for (;;) {
      const backup = await io.client().get<BackupView>(path(tenant, id));
      const elapsed = Math.round((Date.now() - started) / 1000);
      bar?.update(backup.state === 'running' ? 1 : 2, { state: backup.state, elapsed });
      if (backup.state !== 'running') return backup;
      if (elapsed > timeoutSeconds)
        throw new Error(`Backup ${id} is still running after ${timeoutSeconds} s; follow it with \`saasctl backup list ${tenant}\`.`);
      // Polling: a backup's progress has no event stream of its own yet.
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    bar?.stop();
  }
}

export function registerBackupCommands(program: Command, io: Io): void {
  const backup = program.command('backup').description("Back up tenants and download their backups (Odoo's own zip)");

  backup
    .command('create <tenant>')
    .description('Back a tenant up now and wait until the archive is stored and verified')
    .option('--no-wait', 'return as soon as the backup is queued')
    .option('--timeout <seconds>', 'give up waiting after this long', '3600')
    .option('--json', 'machine-readable output')
    .action(async (tenant: string, options: { wait: boolean; timeout: string; json?: boolean }) => {
      const accepted = await io.client().post<{ backup: BackupView }>(path(tenant), {});
      let result = accepted.backup;
      if (options.wait) result = await untilSettled(io, tenant, result.id, Number(options.timeout), Boolean(options.json));
      if (options.json) return io.printJson(result);
      if (result.state === 'failed') {
        process.stderr.write(`Backup ${result.id} failed: ${result.failureReason ?? 'no reason given'}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(
        result.state === 'verified'
          ? `Backup ${result.id} verified: ${megabytes(result.archiveBytes)}, sha256 ${result.sha256}\n`
          : `Backup ${result.id} queued; follow it with \`saasctl backup list ${tenant}\`\n`,
      );
    });

  backup
    .command('list <tenant>')
    .description("A tenant's backups, newest first")
    .option('--json', 'machine-readable output')
    .action(async (tenant: string, options: { json?: boolean }) => {
      const backups = await io.client().get<BackupView[]>(path(tenant));
      if (options.json) return io.printJson(backups);
      if (backups.length === 0)
        return void process.stdout.write(`No backups of ${tenant} yet: \`saasctl backup create ${tenant}\` makes one.\n`);
      io.printTable(backups.map(row));
    });

  backup
    .command('download <tenant> <id>')
    .description('Download a verified backup (an Odoo zip any Odoo database manager restores) and check its sha256')
    .option('-o, --output <file>', 'where to write it (default: <tenant>_<id>.zip)')
    .action(async (tenant: string, id: string, options: { output?: string }) => {
      const record = await io.client().get<BackupView>(path(tenant, id));
      const link = await io.client().post<{ url: string }>(`${path(tenant, id)}/download-link`, {});
      const response = await fetch(`${io.url().replace(/\/+$/, '')}${link.url}`);
      if (!response.ok || !response.body) throw new Error(`The download was refused (${response.status}): ${await response.text()}`);
      const output = options.output ?? `${tenant}_${id.slice(0, 8)}.zip`;
      const total = Number(response.headers.get('content-length') ?? record.archiveBytes ?? 0);
      const bar = progressBar(' {bar} {percentage}% | {value}/{total} MB');
      bar?.start(Math.max(1, Math.round(total / 1_048_576)), 0);
      const hash = createHash('sha256');
      let received = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          received += chunk.length;
          bar?.update(Math.round(received / 1_048_576));
          callback(null, chunk);
        },
      });
      const partial = `${output}.partial`;
      try {
        await pipeline(
          Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
          meter,
          createWriteStream(partial, { mode: 0o600 }),
        );
      } finally {
        bar?.stop();
      }
      const sha256 = hash.digest('hex');
      if (record.sha256 && sha256 !== record.sha256) {
        await rm(partial, { force: true });
        throw new Error(`The download does not match the backup (sha256 ${sha256}, expected ${record.sha256}); try again.`);
      }
      await rename(partial, output);
      process.stdout.write(`Wrote ${output} (${megabytes(received)}, sha256 verified)\n`);
    });

  registerRestoreCommands(backup, io);
}
