import { PassThrough } from 'node:stream';
import type pg from 'pg';
import type { BackupRow, Db } from '../db/index.js';
import { publishDomainEvents } from '../events/index.js';
import type { Logger } from '../logging/index.js';
import type { Metrics } from '../metrics/index.js';
import { filestoreFiles, type OdooDumpManifest, odooRecordCounts, readDumpManifest, renderDumpManifest } from '../odoo/index.js';
import type { DatabaseServerOperations, DatabaseServerRegistry } from '../postgres/index.js';
import { startPlainDump } from '../postgres/index.js';
import { redactCredentials } from '../secrets/index.js';
import { recordTenantEvent, tenantById } from '../tenants/index.js';
import { buildBackupArchive, hashingTap, hashStream } from './archive.js';
import type { BackupStorage } from './storage/index.js';
import { backupById, markBackupFailed, markBackupVerified, restartBackup, type VerifiedBackup } from './store.js';

export interface BackupRunDependencies {
  db: Db;
  storage: BackupStorage;
  servers: DatabaseServerRegistry;
  odooDataDir: string;
  /** The series of the tenant's Odoo (its own, else the default; `undefined` without Odoo), for a database that does not name its own. */
  installedOdooSeries: (tenantSeries?: string | null) => Promise<string | undefined>;
  metrics: Metrics;
  logger: Logger;
  /** Test-only: the process is killed (SIGKILL) at this point (`backup:uploading`, `backup:stored`). */
  crashAt?: string | undefined;
}

const crashPoint = (deps: BackupRunDependencies, point: string) => {
  if (deps.crashAt === point) process.kill(process.pid, 'SIGKILL');
};

/**
 * Makes one backup: pg_dump of the tenant database streamed through Odoo's zip into storage,
 * then the stored object read back and its sha256 compared with what was written. Only then is
 * the record `verified`; any failure makes it `failed` with the reason, counts in the metrics
 * and goes on the tenant's timeline (operators see the reason, the tenant's owner a sentence).
 * A record already settled is left as it is; a `running` one (an attempt killed mid-way) is
 * started again from nothing: whatever that attempt stored is deleted first.
 */
export async function runBackup(deps: BackupRunDependencies, backupId: string): Promise<void> {
  const backup = await backupById(backupId, deps.db);
  if (backup?.state !== 'running') return;
  const started = Date.now();
  await restartBackup(backup.id, deps.db);
  try {
    await deps.storage.delete(backup.storage_key);
    const result = await storeArchive(deps, backup);
    crashPoint(deps, 'backup:stored');
    const readBack = await hashStream(await deps.storage.get(backup.storage_key));
    if (readBack.sha256 !== result.sha256 || readBack.bytes !== result.archiveBytes) {
      throw new Error(
        `the stored archive differs from what was written (wrote ${result.archiveBytes} bytes, sha256 ${result.sha256}; ` +
          `read back ${readBack.bytes} bytes, sha256 ${readBack.sha256})`,
      );
    }
    const verified: VerifiedBackup = { ...result, durationMs: Date.now() - started };
    await deps.db.transaction().execute(async (trx) => {
      if (await markBackupVerified(backup.id, verified, trx))
        await publishDomainEvents(trx, { type: 'backup.verified', payload: { tenantId: backup.tenant_id, backupId: backup.id } });
    });
    deps.metrics.backupResults.inc({ outcome: 'verified', storage: deps.storage.kind });
    deps.metrics.backupDuration.observe(verified.durationMs / 1000);
    deps.logger.info({ backupId: backup.id, tenant: backup.tenant_name, bytes: verified.archiveBytes }, 'backup verified');
  } catch (error) {
    await failBackup(deps, backup, describeFailure(error), Date.now() - started);
  }
}

function describeFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return redactCredentials(message).slice(0, 2000);
}

/** Marks a backup failed (once), with its metric, event and timeline entry; deletes what it stored. */
export async function failBackup(deps: BackupRunDependencies, backup: BackupRow, reason: string, durationMs: number | null): Promise<void> {
  await deps.storage.delete(backup.storage_key).catch(() => undefined); // storage may be what failed
  const marked = await deps.db.transaction().execute(async (trx) => {
    if (!(await markBackupFailed(backup.id, reason, durationMs, trx))) return false;
    await publishDomainEvents(trx, { type: 'backup.failed', payload: { tenantId: backup.tenant_id, backupId: backup.id, reason } });
    await recordTenantEvent(trx, backup.tenant_id, { type: 'error', message: `Backup ${backup.id} failed: ${reason}` });
    return true;
  });
  if (!marked) return;
  deps.metrics.backupResults.inc({ outcome: 'failed', storage: deps.storage.kind });
  deps.logger.error({ backupId: backup.id, tenant: backup.tenant_name, reason }, 'backup failed');
}

export type StoredArchive = Omit<VerifiedBackup, 'durationMs'>;

async function storeArchive(deps: BackupRunDependencies, backup: BackupRow): Promise<StoredArchive> {
  const tenant = await tenantById(backup.tenant_id, deps.db);
  const serverId = tenant?.server_id;
  if (!serverId) throw new Error('the tenant has no database to back up (it was never placed or is deleted)');
  // A hibernated dedicated server is woken for the dump and kept awake until it is written; the
  // hibernation sweep puts it back to sleep afterwards (the tenant's Odoo stays hibernated).
  return deps.servers.whileAwake(serverId, async () => {
    const [ops, adminUrl, installedSeries] = await Promise.all([
      deps.servers.operations(serverId),
      deps.servers.adminUrl(serverId),
      deps.installedOdooSeries(tenant.odoo_series),
    ]);
    return writeBackupArchive({
      ops,
      adminUrl,
      database: backup.database_name,
      odooDataDir: deps.odooDataDir,
      installedSeries,
      storage: deps.storage,
      key: backup.storage_key,
      onUploading: () => crashPoint(deps, 'backup:uploading'),
    });
  });
}

/**
 * Writes one database's archive to storage (the backup job; bench/backup.ts measures it alone).
 * The dump, the manifest and the row counts all come from one snapshot: a repeatable-read
 * transaction exports it and stays open until pg_dump has dumped it, so the record's counts are
 * exactly what the archive holds (the weekly test restore compares them).
 */
export async function writeBackupArchive(input: {
  ops: DatabaseServerOperations;
  adminUrl: string;
  database: string;
  odooDataDir: string;
  installedSeries: string | undefined;
  storage: BackupStorage;
  key: string;
  onUploading?: () => void;
}): Promise<StoredArchive> {
  if (!(await input.ops.databaseExists(input.database))) throw new Error(`database ${input.database} does not exist`);
  return input.ops.withDatabase(input.database, async (client) => {
    const { snapshot, manifest, recordCounts } = await exportSnapshot(client, input.database, input.installedSeries);
    try {
      const dump = startPlainDump(input.adminUrl, input.database, { snapshot });
      const archive = buildBackupArchive({
        dump: dump.stream,
        manifest: renderDumpManifest(manifest),
        files: filestoreFiles(input.odooDataDir, input.database),
        mtime: new Date(),
      });
      const { tap, digest } = hashingTap();
      const body = new PassThrough();
      archive.stream.on('error', (error) => body.destroy(error));
      archive.stream.pipe(tap).pipe(body);
      input.onUploading?.();
      try {
        const [stats] = await Promise.all([archive.stats, input.storage.put(input.key, body), dump.done]);
        const { sha256, bytes } = digest();
        return {
          odooVersion: manifest.version,
          pgVersion: manifest.pg_version,
          archiveBytes: bytes,
          dumpBytes: stats.dumpBytes,
          filestoreBytes: stats.filestoreBytes,
          filestoreFiles: stats.filestoreFiles,
          sha256,
          recordCounts,
        };
      } catch (error) {
        dump.kill();
        archive.stream.destroy();
        throw error;
      }
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
    }
  });
}

async function exportSnapshot(
  client: pg.Client,
  database: string,
  installedSeries: string | undefined,
): Promise<{ snapshot: string; manifest: OdooDumpManifest; recordCounts: Record<string, number> }> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  const snapshot = (await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0]?.id;
  if (!snapshot) throw new Error('PostgreSQL exported no snapshot');
  const manifest = await readDumpManifest(client, database, installedSeries);
  const recordCounts = await odooRecordCounts(client);
  return { snapshot, manifest, recordCounts };
}
