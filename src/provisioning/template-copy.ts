import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CommandError } from '../errors/index.js';
import { type DatabaseServerOperations, findPostgresBinaries } from '../postgres/index.js';

/**
 * Copies a template database to another server (dedicated servers have no template builds of
 * their own): the template is cloned to a scratch database on its server (templates refuse
 * connections, and dumping a clone never blocks other clones), dumped with pg_dump and restored
 * with pg_restore into the target database, owned by the tenant role.
 */
export async function copyTemplateToServer(input: {
  source: DatabaseServerOperations;
  sourceAdminUrl: string;
  templateDatabase: string;
  scratchName: string;
  target: DatabaseServerOperations;
  targetAdminUrl: string;
  targetDatabase: string;
  owner: string;
  templateOwner: string;
}): Promise<void> {
  const binaries = findPostgresBinaries();
  if (!binaries) throw new Error('pg_dump/pg_restore not found: install the postgresql package.');
  if (await input.target.databaseExists(input.targetDatabase)) return;
  await input.source.cloneDatabase({ template: input.templateDatabase, name: input.scratchName, owner: input.templateOwner });
  try {
    await input.target.createDatabase(`${input.targetDatabase}_restoring`, input.owner);
    const sourceUrl = withDatabase(input.sourceAdminUrl, input.scratchName);
    const targetUrl = withDatabase(input.targetAdminUrl, `${input.targetDatabase}_restoring`);
    await pipe(
      [join(binaries.binDir, 'pg_dump'), ['--format=custom', '--no-owner', '--no-privileges', `--dbname=${sourceUrl}`]],
      [
        join(binaries.binDir, 'pg_restore'),
        ['--no-owner', '--no-privileges', `--role=${input.owner}`, '--exit-on-error', `--dbname=${targetUrl}`],
      ],
    );
    // Restore into a side name, then rename: a crash mid-restore never leaves a half database
    // under the tenant's name (the next attempt drops the side one and starts again).
    await input.target.withDatabase('postgres', (client) =>
      client.query(`ALTER DATABASE "${input.targetDatabase}_restoring" RENAME TO "${input.targetDatabase}"`),
    );
  } catch (error) {
    await input.target.dropDatabase(`${input.targetDatabase}_restoring`).catch(() => undefined);
    throw error;
  } finally {
    await input.source.dropDatabase(input.scratchName).catch(() => undefined);
  }
}

function withDatabase(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

function pipe(from: [string, string[]], to: [string, string[]]): Promise<void> {
  const producer = spawn(from[0], from[1], { stdio: ['ignore', 'pipe', 'pipe'] });
  const consumer = spawn(to[0], to[1], { stdio: ['pipe', 'ignore', 'pipe'] });
  producer.stdout.pipe(consumer.stdin);
  let errors = '';
  for (const child of [producer, consumer]) {
    child.stderr.on('data', (c: Buffer) => {
      errors += c.toString();
    });
  }
  const exitOf = (child: {
    on(event: 'error', l: (e: Error) => void): unknown;
    on(event: 'close', l: (code: number | null) => void): unknown;
  }) =>
    new Promise<number | null>((resolvePromise, reject) => {
      child.on('error', reject);
      child.on('close', resolvePromise);
    });
  return Promise.all([exitOf(producer), exitOf(consumer)]).then(([producerCode, consumerCode]) => {
    if (producerCode !== 0 || consumerCode !== 0) throw new CommandError('pg_dump | pg_restore', producerCode || consumerCode, errors);
  });
}
