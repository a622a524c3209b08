import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CommandError } from '../errors/index.js';
import {
  type DatabaseServerOperations,
  findPostgresBinaries,
  type PostgresClientCommand,
  postgresClientCommand,
} from '../postgres/index.js';

/** PostgreSQL's limit on names; the side database must differ from the target whatever its length. */
const MAX_IDENTIFIER_BYTES = 63;
const RESTORING_SUFFIX = '_restoring';

/** The side name a copy is restored under before it takes the target's name. */
export function restoringDatabaseName(target: string): string {
  let prefix = target;
  while (Buffer.byteLength(prefix) + RESTORING_SUFFIX.length > MAX_IDENTIFIER_BYTES) prefix = prefix.slice(0, -1);
  return `${prefix}${RESTORING_SUFFIX}`;
}

/**
 * Copies a template database to another server (dedicated servers have no template builds of
 * their own): the template is cloned to a scratch database on its server (templates refuse
 * connections, and dumping a clone never blocks other clones), dumped with pg_dump and restored
 * with pg_restore into the target database, owned by the tenant role. Both tools get their
 * connection without the password on the command line (postgresClientCommand).
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
  const restoring = restoringDatabaseName(input.targetDatabase);
  try {
    // Restore into a side name, then rename: a crash mid-restore never leaves a half database
    // under the tenant's name. What a crashed attempt left under the side name is not trusted.
    await input.target.dropDatabase(restoring);
    await input.target.createDatabase(restoring, input.owner);
    await pipe(
      postgresClientCommand(
        join(binaries.binDir, 'pg_dump'),
        ['--format=custom', '--no-owner', '--no-privileges'],
        withDatabase(input.sourceAdminUrl, input.scratchName),
      ),
      postgresClientCommand(
        join(binaries.binDir, 'pg_restore'),
        ['--no-owner', '--no-privileges', `--role=${input.owner}`, '--exit-on-error'],
        withDatabase(input.targetAdminUrl, restoring),
      ),
    );
    await input.target.renameDatabase(restoring, input.targetDatabase);
  } catch (error) {
    await input.target.dropDatabase(restoring).catch(() => undefined);
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

function pipe(from: PostgresClientCommand, to: PostgresClientCommand): Promise<void> {
  const producer = spawn(from.file, from.args, { env: from.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const consumer = spawn(to.file, to.args, { env: to.env, stdio: ['pipe', 'ignore', 'pipe'] });
  producer.stdout.pipe(consumer.stdin);
  // pg_restore failing early makes writes to its stdin fail (EPIPE): its exit code tells, and an
  // unhandled stream error would take the whole platform down.
  consumer.stdin.on('error', () => undefined);
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
