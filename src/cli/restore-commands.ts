import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { ReceivedUpload, RestoreView } from '../restores/index.js';
import type { ApiClient } from './client.js';
import { readPassword } from './prompt.js';

interface Io {
  client(): ApiClient;
  printJson(value: unknown): void;
}

interface Accepted {
  restore: RestoreView;
  jobId: string;
  tenantName: string;
}

const progressBar = (format: string) =>
  process.stderr.isTTY ? new SingleBar({ format, stream: process.stderr, hideCursor: true }) : undefined;

/** Follows a restore step by step (the bar counts its steps) until it succeeded or failed. */
async function untilRestored(io: Io, tenant: string, id: string, timeoutSeconds: number, quiet: boolean): Promise<RestoreView> {
  const bar = quiet ? undefined : progressBar(' {bar} {value}/{total} | {step} {elapsed}s');
  const started = Date.now();
  try {
    for (;;) {
      const restore = await io.client().get<RestoreView>(`/tenants/${encodeURIComponent(tenant)}/restores/${encodeURIComponent(id)}`);
      const elapsed = Math.round((Date.now() - started) / 1000);
      const done = restore.step ? restore.steps.indexOf(restore.step) + 1 : 0;
      if (bar && bar.getTotal() !== restore.steps.length) bar.start(restore.steps.length, done, { step: 'queued', elapsed });
      bar?.update(restore.state === 'succeeded' ? restore.steps.length : done, {
        step: restore.state === 'running' ? (restore.step ?? 'queued') : restore.state,
        elapsed,
      });
      if (restore.state !== 'running') return restore;
      if (elapsed > timeoutSeconds)
        throw new Error(`Restore ${id} is still running after ${timeoutSeconds} s; follow it with \`saasctl tenant show ${tenant}\`.`);
      // Polling: a restore's steps go on the tenant's timeline, but one GET a second is all a bar needs.
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  } finally {
    bar?.stop();
  }
}

function report(io: Io, accepted: Accepted, final: RestoreView | undefined, json: boolean | undefined): void {
  if (json) return void io.printJson(final ?? accepted);
  if (!final) return void process.stdout.write(`Restore ${accepted.restore.id} of ${accepted.tenantName} queued.\n`);
  if (final.state === 'succeeded') {
    process.stdout.write(`Restore ${final.id} done: ${accepted.tenantName} serves the restored data.\n`);
    if (final.safetyBackupId) process.stdout.write(`The data it replaced is in backup ${final.safetyBackupId}.\n`);
    return;
  }
  process.stderr.write(`Restore ${final.id} failed: ${final.failureReason ?? 'no reason given'}\n`);
  process.exitCode = 1;
}

export function registerRestoreCommands(backup: Command, io: Io): void {
  backup
    .command('restore <tenant> <id>')
    .description(
      'Restore a verified backup over its tenant (maintenance page meanwhile; the current data is backed up first), or with --new-tenant into a new tenant',
    )
    .option('--new-tenant <name>', 'restore into a new tenant of that name (same account and plan) instead')
    .option('--admin-password-stdin', 'with --new-tenant: read its admin password from standard input instead of asking')
    .option('--no-wait', 'return as soon as the restore is queued')
    .option('--timeout <seconds>', 'give up waiting after this long', '3600')
    .option('--json', 'machine-readable output')
    .action(
      async (
        tenant: string,
        id: string,
        options: { newTenant?: string; adminPasswordStdin?: boolean; wait: boolean; timeout: string; json?: boolean },
      ) => {
        const body = options.newTenant
          ? {
              newTenant: {
                name: options.newTenant,
                adminPassword: await readPassword({ passwordStdin: options.adminPasswordStdin }, 'Admin password of the new tenant: '),
              },
            }
          : {};
        const accepted = await io
          .client()
          .post<Accepted>(`/tenants/${encodeURIComponent(tenant)}/backups/${encodeURIComponent(id)}/restore`, body);
        const final = options.wait
          ? await untilRestored(io, accepted.tenantName, accepted.restore.id, Number(options.timeout), Boolean(options.json))
          : undefined;
        report(io, accepted, final, options.json);
      },
    );

  backup
    .command('import <file>')
    .description("Create a tenant from an Odoo backup zip made elsewhere (Odoo's database manager, Odoo.sh, Odoo Online)")
    .requiredOption('--name <name>', 'subdomain of the new tenant')
    .requiredOption('--plan <code>', 'plan code (saasctl plans list)')
    .requiredOption('--admin-email <email>', 'login of the Odoo admin of the new tenant')
    .option('--template <code>', 'decides only where the tenant is placed (a server where it is ready)', 'blank')
    .option('--account <id>', 'operators: the account the tenant belongs to')
    .option('--admin-password-stdin', 'read the admin password from standard input instead of asking')
    .option('--no-wait', 'return as soon as the tenant is queued')
    .option('--timeout <seconds>', 'give up waiting after this long', '3600')
    .option('--json', 'machine-readable output')
    .action(
      async (
        file: string,
        options: {
          name: string;
          plan: string;
          adminEmail: string;
          template: string;
          account?: string;
          adminPasswordStdin?: boolean;
          wait: boolean;
          timeout: string;
          json?: boolean;
        },
      ) => {
        const adminPassword = await readPassword({ passwordStdin: options.adminPasswordStdin }, 'Odoo admin password of the new tenant: ');
        const size = (await stat(file)).size;
        const bar = options.json ? undefined : progressBar(' upload {bar} {percentage}% | {value}/{total} MB');
        bar?.start(Math.max(1, Math.round(size / 1_048_576)), 0);
        let upload: ReceivedUpload;
        try {
          upload = await io.client().upload<ReceivedUpload>('/imports', () => {
            let sent = 0;
            const meter = new Transform({
              transform(chunk: Buffer, _encoding, callback) {
                sent += chunk.length;
                bar?.update(Math.round(sent / 1_048_576));
                callback(null, chunk);
              },
            });
            return createReadStream(file).pipe(meter);
          });
        } finally {
          bar?.stop();
        }
        if (!options.json)
          process.stdout.write(
            `Uploaded: ${upload.manifest.dbName}, Odoo ${upload.manifest.version}, ${upload.manifest.modules} modules.\n`,
          );
        const accepted = await io.client().post<Accepted>('/imports/tenants', {
          uploadToken: upload.uploadToken,
          name: options.name,
          plan: options.plan,
          template: options.template,
          adminEmail: options.adminEmail,
          adminPassword,
          ...(options.account ? { accountId: options.account } : {}),
        });
        const final = options.wait
          ? await untilRestored(io, accepted.tenantName, accepted.restore.id, Number(options.timeout), Boolean(options.json))
          : undefined;
        report(io, accepted, final, options.json);
      },
    );
}
