import { createHash, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { signDownloadLink } from '../../src/backups/index.js';
import { insertBackup } from '../../src/backups/store.js';
import { createSecretBox } from '../../src/secrets/index.js';
import type { TestPlatform } from './platform.js';

/**
 * A verified backup of a tenant written directly (record and a small archive file in the
 * platform's local backup directory), for suites without Odoo to back a tenant up, and a signed
 * download link for it as the platform makes them.
 */
export async function insertStoredBackup(test: TestPlatform, tenantName: string, userId: string): Promise<{ id: string; token: string }> {
  const storage = test.config.backups.storage;
  if (storage.kind !== 'local') throw new Error('insertStoredBackup writes to the local backup directory');
  const db = test.platform.database.db;
  const tenant = await db.selectFrom('tenants').select(['id', 'database_name']).where('name', '=', tenantName).executeTakeFirstOrThrow();
  const id = randomUUID();
  const key = `${tenantName}/${id}.zip`;
  const content = Buffer.from('PK\u0005\u0006'.padEnd(22, '\u0000'), 'latin1'); // an empty zip
  await mkdir(dirname(join(storage.directory, key)), { recursive: true, mode: 0o700 });
  await writeFile(join(storage.directory, key), content, { mode: 0o600 });
  await insertBackup(
    {
      id,
      tenant_id: tenant.id,
      tenant_name: tenantName,
      trigger: 'on_demand',
      state: 'verified',
      database_name: tenant.database_name,
      storage_kind: 'local',
      storage_key: key,
      storage_location: `file://${join(storage.directory, key)}`,
      archive_bytes: content.length,
      sha256: createHash('sha256').update(content).digest('hex'),
      verified_at: new Date(),
      finished_at: new Date(),
    },
    db,
  );
  const linkKey = createSecretBox(test.config.secretKey as string).deriveKey('backup-download-links');
  return { id, token: signDownloadLink(linkKey, { backupId: id, userId, expiresAt: Math.floor(Date.now() / 1000) + 3600 }) };
}

/** A finished restore of a tenant written directly (the target of /tenants/{name}/restores/{id} in route walks). */
export async function insertFinishedRestore(test: TestPlatform, tenantName: string, backupId: string): Promise<string> {
  const db = test.platform.database.db;
  const tenant = await db.selectFrom('tenants').select('id').where('name', '=', tenantName).executeTakeFirstOrThrow();
  const restore = await db
    .insertInto('restores')
    .values({ tenant_id: tenant.id, kind: 'in_place', backup_id: backupId, state: 'succeeded', step: 'finish', finished_at: new Date() })
    .returning('id')
    .executeTakeFirstOrThrow();
  return restore.id;
}

/** A finished migration of a tenant written directly (the target of /migrations/{id} in route walks). */
export async function insertFinishedMigration(test: TestPlatform, tenantName: string): Promise<string> {
  const db = test.platform.database.db;
  const tenant = await db.selectFrom('tenants').select(['id', 'plan_code']).where('name', '=', tenantName).executeTakeFirstOrThrow();
  const server = await db.selectFrom('database_servers').select('id').where('is_default', '=', true).executeTakeFirstOrThrow();
  const migration = await db
    .insertInto('migrations')
    .values({
      tenant_id: tenant.id,
      trigger: 'operator',
      state: 'succeeded',
      step: 'finish',
      previous_state: 'running',
      source_server_id: server.id,
      source_process_strategy: 'pool',
      source_plan: tenant.plan_code,
      target_server_id: server.id,
      target_database_strategy: 'shared',
      target_process_strategy: 'dedicated',
      target_plan: tenant.plan_code,
      finished_at: new Date(),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return migration.id;
}
