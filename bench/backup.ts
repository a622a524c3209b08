/**
 * Backup benchmark: a generated tenant database (BENCH_DB_MIB, default 1024 MiB of Odoo-like rows)
 * and filestore (BENCH_FILESTORE_MIB, default 1024 MiB: half incompressible like PDFs and images,
 * half text), backed up by the platform's own code (`writeBackupArchive`: pg_dump -> zip ->
 * local storage, then the read-back sha256 the platform verifies with), beside the raw tools on
 * the same data in the same run (`pg_dump | zip`, then `zip -r` of the filestore). Prints MB/s of
 * both (MB of dump + filestore per second), the platform's share of raw throughput, and the
 * process's peak RSS above idle (sampled every 20 ms). Then the restore the same way: the platform's
 * `loadBackupArchive` (zip -> psql as the tenant role, filestore files written) beside raw `unzip -p |
 * psql` + `unzip` of the filestore, on the archives just made.
 *
 *   .tools/node/node_modules/node/bin/node --import tsx bench/backup.ts
 *
 * Environment: BENCH_DB_MIB, BENCH_FILESTORE_MIB, BENCH_DATA_DIR (keep the data there).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashStream, loadBackupArchive, localBackupStorage } from '../src/backups/index.js';
import { writeBackupArchive } from '../src/backups/run.js';
import { createLogger } from '../src/logging/index.js';
import { filestorePath } from '../src/odoo/index.js';
import { databaseServerOperations, findPostgresBinaries, LocalPostgresServer, postgresClientCommand } from '../src/postgres/index.js';

const dbMib = positive('BENCH_DB_MIB', 1024);
const filestoreMib = positive('BENCH_FILESTORE_MIB', 1024);
const MB = 1_000_000;

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

const dataDir = process.env.BENCH_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'saas-bench-backup-'));
chmodSync(dataDir, 0o755);
const odooDataDir = join(dataDir, 'odoo');
const database = 't_benchbackup';

async function generate(ops: ReturnType<typeof databaseServerOperations>, owner: string): Promise<void> {
  if (await ops.databaseExists(database)) return;
  await ops.createDatabase(database, owner);
  await ops.withDatabase(database, async (client) => {
    await client.query(
      `CREATE TABLE ir_module_module (id serial PRIMARY KEY, name varchar NOT NULL, state varchar, latest_version varchar)`,
    );
    await client.query(
      `INSERT INTO ir_module_module (name, state, latest_version) VALUES ('base', 'installed', '16.0.1.3'), ('web', 'installed', '16.0.1.0')`,
    );
    await client.query(`CREATE TABLE res_users (id serial PRIMARY KEY, login varchar)`);
    await client.query(`CREATE TABLE ir_attachment (id serial PRIMARY KEY, name varchar, store_fname varchar)`);
    await client.query(`INSERT INTO res_users (login) VALUES ('__system__'), ('admin')`);
    // ~200 bytes a row of partner-like text: names, emails, a street, a comment.
    await client.query(
      `CREATE TABLE res_partner (id serial PRIMARY KEY, name varchar, email varchar, street varchar, comment text, create_date timestamp)`,
    );
    const rows = Math.round((dbMib * 1_048_576) / 230);
    for (let start = 1; start <= rows; start += 500_000) {
      await client.query(
        `INSERT INTO res_partner (name, email, street, comment, create_date)
         SELECT 'Partner ' || i, 'contact' || i || '@example' || (i % 97) || '.com', (i % 999) || ' Main Street, Springfield',
                md5(i::text) || ' ' || md5((i * 31)::text) || ' ' || repeat(chr(97 + i % 26), 40), now() - (i || ' minutes')::interval
           FROM generate_series($1::int, $2::int) AS i`,
        [start, Math.min(rows, start + 499_999)],
      );
    }
  });
  const store = filestorePath(odooDataDir, database);
  const files = Math.max(2, Math.round(filestoreMib / 4));
  for (let i = 0; i < files; i++) {
    const dir = join(store, i.toString(16).padStart(2, '0').slice(-2));
    mkdirSync(dir, { recursive: true });
    // Half incompressible (images, PDFs), half text-like (4 MiB each).
    const content = i % 2 === 0 ? randomBytes(4 * 1_048_576) : Buffer.from(`line ${i} of an attachment\n`.repeat((4 * 1_048_576) / 26));
    writeFileSync(join(dir, `${i.toString(16)}f${'0'.repeat(30)}`), content);
  }
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}`))));
  });
}

/** Restore: raw unzip | psql and unzip of the filestore, then the platform's loadBackupArchive, both into fresh databases. */
async function measureRestore(input: {
  ops: ReturnType<typeof databaseServerOperations>;
  adminUrl: string;
  connection: { user: string; urlFor(name: string): string };
  binaries: { binDir: string };
  rawZip: string;
  archive: string;
  payload: number;
}): Promise<void> {
  const { ops, connection } = input;
  const rawTarget = 't_benchrestore_raw';
  const platformTarget = 't_benchrestore';
  for (const name of [rawTarget, platformTarget]) {
    await ops.dropDatabase(name);
    await ops.createDatabase(name, connection.user);
  }
  const rawFiles = join(dataDir, 'raw-restore');
  rmSync(rawFiles, { recursive: true, force: true });
  const psql = postgresClientCommand(
    join(input.binaries.binDir, 'psql'),
    ['--quiet', '--no-psqlrc', '--set=ON_ERROR_STOP=1', '--single-transaction', '--file=-'],
    connection.urlFor(rawTarget),
  );
  const rawStart = Date.now();
  await new Promise<void>((resolve, reject) => {
    const unzip = spawn('unzip', ['-p', input.rawZip, '-'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const load = spawn(psql.file, psql.args, { env: psql.env, stdio: ['pipe', 'ignore', 'inherit'] });
    unzip.stdout.pipe(load.stdin);
    let open = 2;
    for (const child of [unzip, load])
      child.on('close', (code) => (code !== 0 ? reject(new Error(`raw restore exited ${code}`)) : --open === 0 && resolve()));
  });
  await run('unzip', ['-q', input.rawZip, 'filestore/*', '-d', rawFiles], process.env);
  const rawSeconds = (Date.now() - rawStart) / 1000;

  globalThis.gc?.();
  const idleRss = process.memoryUsage().rss;
  let peakRss = idleRss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  const platformStart = Date.now();
  const loaded = await loadBackupArchive({
    file: input.archive,
    adminUrl: input.adminUrl,
    database: platformTarget,
    role: connection.user,
    filestoreDirectory: filestorePath(odooDataDir, platformTarget),
  });
  const platformSeconds = (Date.now() - platformStart) / 1000;
  clearInterval(sampler);
  if (!loaded.hasDump) throw new Error('the archive had no dump');
  const rawRate = input.payload / MB / rawSeconds;
  const platformRate = input.payload / MB / platformSeconds;
  console.log(`raw unzip | psql + unzip        ${rawSeconds.toFixed(1)} s  ${rawRate.toFixed(1)} MB/s`);
  console.log(
    `platform restore (load)         ${platformSeconds.toFixed(1)} s  ${platformRate.toFixed(1)} MB/s  ${loaded.files} files  = ${((100 * platformRate) / rawRate).toFixed(0)} % of raw`,
  );
  console.log(
    `platform RSS during restore: idle ${(idleRss / 1_048_576).toFixed(0)} MiB, peak ${(peakRss / 1_048_576).toFixed(0)} MiB (+${((peakRss - idleRss) / 1_048_576).toFixed(0)} MiB)`,
  );
  for (const name of [rawTarget, platformTarget]) await ops.dropDatabase(name);
}

async function main(): Promise<void> {
  const binaries = findPostgresBinaries();
  if (!binaries) throw new Error('PostgreSQL binaries not found');
  const server = new LocalPostgresServer({ directory: join(dataDir, 'postgres'), logger: createLogger('warn'), unsafeFastMode: true });
  const connection = await server.start();
  const adminUrl = connection.url;
  const ops = databaseServerOperations(adminUrl);
  try {
    const generating = Date.now();
    await generate(ops, connection.user);
    const dbBytes = await ops.databaseSize(database);
    const filestoreBytes = Number(
      execFileSync('du', ['-sb', filestorePath(odooDataDir, database)])
        .toString()
        .split('\t')[0],
    );
    console.log(
      `data: database ${(dbBytes / MB).toFixed(0)} MB on disk, filestore ${(filestoreBytes / MB).toFixed(0)} MB (ready in ${((Date.now() - generating) / 1000).toFixed(0)} s)`,
    );

    // Raw tools: pg_dump | zip, then the filestore added with zip -r (what an operator would script).
    const rawZip = join(dataDir, 'raw.zip');
    rmSync(rawZip, { force: true });
    const dumpCommand = postgresClientCommand(
      join(binaries.binDir, 'pg_dump'),
      ['--no-owner', '--no-privileges'],
      connection.urlFor(database),
    );
    const rawStart = Date.now();
    await new Promise<void>((resolve, reject) => {
      const dump = spawn(dumpCommand.file, dumpCommand.args, { env: dumpCommand.env, stdio: ['ignore', 'pipe', 'inherit'] });
      const zip = spawn('zip', ['-q', rawZip, '-'], { stdio: ['pipe', 'ignore', 'inherit'] });
      dump.stdout.pipe(zip.stdin);
      let open = 2;
      for (const child of [dump, zip])
        child.on('close', (code) => (code !== 0 ? reject(new Error(`raw tool exited ${code}`)) : --open === 0 && resolve()));
    });
    await run('zip', ['-q', '-r', rawZip, `filestore/${database}`], process.env, odooDataDir);
    const rawSeconds = (Date.now() - rawStart) / 1000;
    const rawArchive = statSync(rawZip).size;

    // The platform's code, in this process: RSS sampled throughout.
    const storage = localBackupStorage(join(dataDir, 'backups'));
    const key = `bench/bench_${Date.now()}.zip`;
    globalThis.gc?.();
    const idleRss = process.memoryUsage().rss;
    let peakRss = idleRss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 20);
    const platformStart = Date.now();
    const stored = await writeBackupArchive({ ops, adminUrl, database, odooDataDir, installedSeries: undefined, storage, key });
    const writtenSeconds = (Date.now() - platformStart) / 1000;
    const readBack = await hashStream(await storage.get(key));
    const verifiedSeconds = (Date.now() - platformStart) / 1000;
    clearInterval(sampler);
    if (readBack.sha256 !== stored.sha256) throw new Error('read-back sha256 differs');

    const payload = stored.dumpBytes + stored.filestoreBytes;
    const rawRate = payload / MB / rawSeconds;
    const writtenRate = payload / MB / writtenSeconds;
    const verifiedRate = payload / MB / verifiedSeconds;
    console.log(
      `payload: dump ${(stored.dumpBytes / MB).toFixed(0)} MB + filestore ${(stored.filestoreBytes / MB).toFixed(0)} MB (${stored.filestoreFiles} files)`,
    );
    console.log(
      `raw pg_dump | zip + zip -r     ${rawSeconds.toFixed(1)} s  ${rawRate.toFixed(1)} MB/s  archive ${(rawArchive / MB).toFixed(0)} MB`,
    );
    console.log(
      `platform backup (archive)      ${writtenSeconds.toFixed(1)} s  ${writtenRate.toFixed(1)} MB/s  archive ${(stored.archiveBytes / MB).toFixed(0)} MB  = ${((100 * writtenRate) / rawRate).toFixed(0)} % of raw`,
    );
    console.log(
      `platform backup (+ read-back)  ${verifiedSeconds.toFixed(1)} s  ${verifiedRate.toFixed(1)} MB/s  = ${((100 * verifiedRate) / rawRate).toFixed(0)} % of raw`,
    );
    console.log(
      `platform RSS: idle ${(idleRss / 1_048_576).toFixed(0)} MiB, peak ${(peakRss / 1_048_576).toFixed(0)} MiB (+${((peakRss - idleRss) / 1_048_576).toFixed(0)} MiB)`,
    );
    await measureRestore({ ops, adminUrl, connection, binaries, rawZip, archive: join(dataDir, 'backups', key), payload });
    console.log(
      `machine: ${cpus().length} cores, load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    await server.stop();
    if (!process.env.BENCH_DATA_DIR) rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
