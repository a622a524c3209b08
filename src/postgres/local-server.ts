import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from '../logging/index.js';
import { freePort, processExists, type RunAs, runCommand } from '../system/index.js';
import { findPostgresBinaries, type PostgresBinaries } from './binaries.js';

export interface LocalPostgresOptions {
  /** Directory owned by this server: holds pgdata/, the log, the port and the superuser password. */
  directory: string;
  logger: Logger;
  superuser?: string;
  /** Preferred port; a free one is chosen (and remembered) when unset or taken. */
  port?: number;
  /**
   * Trade durability for speed (fsync off). Only for test clusters that are thrown away:
   * a power loss can corrupt such a cluster.
   */
  unsafeFastMode?: boolean;
  maxConnections?: number;
  binaries?: PostgresBinaries;
}

export interface LocalPostgresConnection {
  host: string;
  port: number;
  user: string;
  password: string;
  /** URL of the `postgres` maintenance database; use `urlFor(name)` for another one. */
  url: string;
  urlFor(database: string): string;
}

const HOST = '127.0.0.1';

/**
 * A private PostgreSQL server run from the OS binaries in a directory of ours: initialised on
 * first start, reused (or adopted, when still running after a crash of the platform) later,
 * stopped on shutdown. Runs as a non-root user when the platform runs as root, because
 * PostgreSQL refuses root. Used for the platform's own database and for dedicated tenant servers.
 */
export class LocalPostgresServer {
  private readonly options: LocalPostgresOptions;
  private readonly directory: string;
  private readonly pgdata: string;
  private readonly superuser: string;
  private binaries: PostgresBinaries | undefined;
  private runAs: RunAs | undefined;
  private connection: LocalPostgresConnection | undefined;
  /** False when start() found the server already running (e.g. a CLI next to a running platform). */
  startedByUs = false;

  constructor(options: LocalPostgresOptions) {
    this.options = options;
    this.directory = resolve(options.directory);
    this.pgdata = join(this.directory, 'pgdata');
    this.superuser = options.superuser ?? 'platform';
  }

  get dataDirectory(): string {
    return this.pgdata;
  }

  get logFile(): string {
    return join(this.directory, 'postgres.log');
  }

  /** Initialises (first time), recovers from a crash if needed, starts, and returns how to connect. */
  async start(): Promise<LocalPostgresConnection> {
    const binaries = this.options.binaries ?? findPostgresBinaries();
    if (!binaries) {
      throw new Error(
        'PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin and PATH). ' +
          'Install them with `apt-get install postgresql`, or set DATABASE_URL to use an existing server.',
      );
    }
    this.binaries = binaries;
    this.runAs = process.getuid?.() === 0 ? ensureServiceUser() : undefined;
    this.prepareDirectory();
    if (!existsSync(join(this.pgdata, 'PG_VERSION'))) await this.initialise();

    const running = this.runningPostmaster();
    let port: number;
    if (running) {
      port = running.port;
      this.options.logger.info({ pid: running.pid, port }, 'adopting PostgreSQL server that is already running');
    } else {
      port = await this.choosePort();
      this.writeRuntimeConfig(port);
      await this.startPostmaster();
      this.startedByUs = true;
    }
    writeFileSync(join(this.directory, 'port'), String(port));
    const password = readFileSync(join(this.directory, 'superuser.password'), 'utf8').trim();
    const urlFor = (database: string) =>
      `postgres://${encodeURIComponent(this.superuser)}:${encodeURIComponent(password)}@${HOST}:${port}/${encodeURIComponent(database)}`;
    this.connection = { host: HOST, port, user: this.superuser, password, url: urlFor('postgres'), urlFor };
    return this.connection;
  }

  async stop(): Promise<void> {
    if (!this.binaries || !existsSync(join(this.pgdata, 'postmaster.pid'))) return;
    const pgCtl = join(this.binaries.binDir, 'pg_ctl');
    const pgCtlStop = (mode: 'fast' | 'immediate') =>
      runCommand(pgCtl, ['stop', '-D', this.pgdata, '-m', mode, '-w', '-t', '60', '-s'], {
        runAs: this.runAs,
      });
    await pgCtlStop('fast').catch(async (error: unknown) => {
      // Already stopped (e.g. killed): nothing left to stop.
      if (!this.runningPostmaster()) return;
      // A fast stop ends with a shutdown checkpoint, which can outlast the wait on a loaded machine
      // after many databases were made. Stopping at once is safe: the server replays its WAL at
      // the next start. Failing here instead would leave it running behind a stopped platform.
      this.options.logger.warn(
        { directory: this.directory, err: error },
        'PostgreSQL did not stop within 60 s (its shutdown checkpoint); stopping it immediately, it recovers from its WAL at the next start',
      );
      await pgCtlStop('immediate');
    });
    this.options.logger.info({ directory: this.directory }, 'PostgreSQL server stopped');
  }

  /**
   * Stops the server if it runs, whoever started it (a hibernating server adopted or started by
   * an earlier run of the platform): `stop` alone knows only a server this object started.
   */
  async stopIfRunning(): Promise<void> {
    if (!this.binaries) {
      const binaries = this.options.binaries ?? findPostgresBinaries();
      if (!binaries) return; // no binaries: nothing of ours can be running
      this.binaries = binaries;
      this.runAs = process.getuid?.() === 0 ? ensureServiceUser() : undefined;
    }
    if (this.runningPostmaster()) await this.stop();
  }

  /** The postmaster's pid when it is running for our data directory. */
  get pid(): number | undefined {
    return this.runningPostmaster()?.pid;
  }

  private prepareDirectory(): void {
    // Only our own directory is private: parents created here keep the usual mode, or the
    // service user could not walk through a fresh DATA_DIR to reach it.
    mkdirSync(dirname(this.directory), { recursive: true });
    mkdirSync(this.directory, { recursive: true, mode: 0o700 });
    if (this.runAs) {
      chownSync(this.directory, this.runAs.uid, this.runAs.gid);
      assertReachableBy(this.runAs, this.directory);
    }
  }

  private async initialise(): Promise<void> {
    const binaries = this.requireBinaries();
    const password = randomBytes(24).toString('base64url');
    const passwordFile = join(this.directory, 'superuser.password');
    writeFileSync(passwordFile, password, { mode: 0o600 });
    if (this.runAs) chownSync(passwordFile, this.runAs.uid, this.runAs.gid);
    rmSync(this.pgdata, { recursive: true, force: true });
    this.options.logger.info({ directory: this.directory, version: binaries.major }, 'initialising PostgreSQL cluster');
    await runCommand(
      join(binaries.binDir, 'initdb'),
      [
        '-D',
        this.pgdata,
        '-U',
        this.superuser,
        '--auth=scram-sha-256',
        `--pwfile=${passwordFile}`,
        '-E',
        'UTF8',
        '--no-locale',
        '--no-instructions',
      ],
      { runAs: this.runAs, env: { ...process.env, LC_ALL: 'C' } },
    );
    // Our own settings live in one included file rewritten at every start.
    const conf = join(this.pgdata, 'postgresql.conf');
    writeFileSync(conf, `${readFileSync(conf, 'utf8')}\ninclude_if_exists = 'platform.conf'\n`);
  }

  private writeRuntimeConfig(port: number): void {
    const lines = [
      '# Written by the platform at every start; edit postgresql.conf for your own settings.',
      `listen_addresses = '${HOST}'`,
      `port = ${port}`,
      // No Unix socket: connections go through TCP with a password, so local users and tenant
      // processes cannot use peer authentication to get in.
      "unix_socket_directories = ''",
      `max_connections = ${this.options.maxConnections ?? 300}`,
      "password_encryption = 'scram-sha-256'",
    ];
    if (this.options.unsafeFastMode) lines.push('fsync = off', 'synchronous_commit = off', 'full_page_writes = off');
    const file = join(this.pgdata, 'platform.conf');
    writeFileSync(file, `${lines.join('\n')}\n`);
    if (this.runAs) chownSync(file, this.runAs.uid, this.runAs.gid);
  }

  private async startPostmaster(): Promise<void> {
    const binaries = this.requireBinaries();
    this.removeStalePidFile();
    // After a kill -9 of the postmaster its children may still hold shared memory for a moment;
    // PostgreSQL refuses to start until they are gone, so retry briefly.
    for (let attempt = 1; ; attempt++) {
      try {
        await runCommand(join(binaries.binDir, 'pg_ctl'), ['start', '-D', this.pgdata, '-l', this.logFile, '-w', '-t', '60', '-s'], {
          runAs: this.runAs,
          detached: true,
        });
        this.options.logger.info({ directory: this.directory }, 'PostgreSQL server started');
        return;
      } catch (error) {
        if (attempt >= 10) throw new Error(`PostgreSQL did not start; see ${this.logFile}: ${(error as Error).message}`);
        this.removeStalePidFile();
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }

  /** Reads postmaster.pid and checks that its process is alive and is a postgres of ours. */
  private runningPostmaster(): { pid: number; port: number } | undefined {
    const file = readPidFile(join(this.pgdata, 'postmaster.pid'));
    if (!file || !isPostgresProcessOf(file.pid, this.pgdata)) return undefined;
    return { pid: file.pid, port: file.port };
  }

  /**
   * A crash leaves postmaster.pid behind. PostgreSQL judges such a file itself: when its pid is
   * dead, it refuses to start while the killed postmaster's children still hold the shared memory
   * the file names, and otherwise replaces it. So the file stays, except when its pid was reused by
   * another live process (a zombie counts): PostgreSQL would take that for a running server and
   * never start. Even then it stays while the shared memory is in use, because a surviving child
   * still writes to the data directory. (Removing it always made a refused postmaster write a pid
   * file of its own for a moment, which looked like a running server to `pid` and to adopters.)
   */
  private removeStalePidFile(): void {
    const pidFile = join(this.pgdata, 'postmaster.pid');
    const file = readPidFile(pidFile);
    if (!file || !processExists(file.pid) || isPostgresProcessOf(file.pid, this.pgdata)) return;
    if (file.sharedMemoryId !== undefined && sharedMemoryInUse(file.sharedMemoryId)) return;
    this.options.logger.warn(
      { pidFile, pid: file.pid },
      'removing a PostgreSQL pid file left by a crash whose pid now belongs to another process',
    );
    rmSync(pidFile, { force: true });
  }

  private async choosePort(): Promise<number> {
    const remembered = existsSync(join(this.directory, 'port')) ? Number(readFileSync(join(this.directory, 'port'), 'utf8')) : undefined;
    for (const candidate of [this.options.port, remembered]) {
      if (candidate && (await isPortFree(candidate))) return candidate;
    }
    return freePort();
  }

  private requireBinaries(): PostgresBinaries {
    if (!this.binaries) throw new Error('PostgreSQL binaries not resolved');
    return this.binaries;
  }
}

/**
 * Whether `pid` is a live PostgreSQL process of the cluster in `pgdata`. The command line alone
 * is not enough (a reused pid may belong to psql, an exporter, a test runner...): the postmaster
 * and its children work in their data directory, so their cwd must be it. Zombies and processes
 * we may not inspect have no readable cwd and do not count.
 */
function isPostgresProcessOf(pid: number, pgdata: string): boolean {
  try {
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres')) return false;
    return readlinkSync(`/proc/${pid}/cwd`) === realpathSync(pgdata);
  } catch {
    return false;
  }
}

/** postmaster.pid's lines we read: 1 the pid, 4 the port, 7 the shared memory key and id. */
function readPidFile(path: string): { pid: number; port: number; sharedMemoryId: number | undefined } | undefined {
  let lines: string[];
  try {
    lines = readFileSync(path, 'utf8').split('\n');
  } catch {
    return undefined; // none (or removed meanwhile by the postmaster that wrote it)
  }
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const sharedMemoryId = Number(lines[6]?.trim().split(/\s+/)[1]);
  return { pid, port: Number(lines[3]), sharedMemoryId: Number.isInteger(sharedMemoryId) ? sharedMemoryId : undefined };
}

/**
 * Whether processes are still attached to the System V shared memory segment `id`: a postmaster's
 * children keep it attached until they exit. Read from /proc/sysvipc/shm (columns: key shmid perms
 * size cpid lpid nattch ...); where it cannot be read, PostgreSQL's own check still applies.
 */
function sharedMemoryInUse(id: number): boolean {
  let table: string;
  try {
    table = readFileSync('/proc/sysvipc/shm', 'utf8');
  } catch {
    return false;
  }
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (Number(fields[1]) === id) return Number(fields[6]) > 0;
  }
  return false;
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once('error', () => resolvePromise(false));
    server.listen(port, HOST, () => server.close(() => resolvePromise(true)));
  });
}

/** The unprivileged user PostgreSQL runs as when the platform runs as root. */
function ensureServiceUser(): RunAs {
  for (const name of ['postgres', 'saas-postgres']) {
    const ids = lookupUser(name);
    if (ids) return { ...ids, name };
  }
  execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'saas-postgres']);
  const ids = lookupUser('saas-postgres');
  if (!ids) throw new Error('could not create the saas-postgres system user');
  return { ...ids, name: 'saas-postgres' };
}

function lookupUser(name: string): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { stdio: ['ignore', 'pipe', 'ignore'] }).toString());
    const gid = Number(execFileSync('id', ['-g', name], { stdio: ['ignore', 'pipe', 'ignore'] }).toString());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/** PostgreSQL must be able to walk to its directory; explain how to fix it when it cannot. */
function assertReachableBy(user: RunAs, directory: string): void {
  try {
    execFileSync('test', ['-x', directory, '-a', '-w', directory], { uid: user.uid, gid: user.gid, stdio: 'ignore' });
  } catch {
    throw new Error(
      `PostgreSQL runs as user ${user.name} (it refuses root) but cannot reach ${directory}: ` +
        `give it search permission on every parent directory (e.g. chmod o+x ${dirname(directory)}) ` +
        'or choose a DATA_DIR outside private home directories.',
    );
  }
}
