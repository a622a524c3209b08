import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/index.js';
import { type LocalPostgresConnection, type LocalPostgresOptions, LocalPostgresServer } from '../../src/postgres/index.js';

/**
 * The managed local PostgreSQL module on its own clusters (one temp directory per test), apart
 * from the suite's shared server: first start, restart, adoption, crash recovery, port choice.
 */

const logger = createLogger('silent');
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  // Reverse order: servers are stopped before their directories are removed.
  while (cleanups.length > 0) await cleanups.pop()?.();
});

function tempDirectory(): string {
  // mkdtemp's directory itself (not a child of it) so the postgres user can reach it when we are root.
  const directory = mkdtempSync(join(tmpdir(), 'saas-local-pg-'));
  cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
  return directory;
}

function newServer(directory: string, options: Partial<LocalPostgresOptions> = {}): LocalPostgresServer {
  const server = new LocalPostgresServer({ directory, logger, unsafeFastMode: true, ...options });
  cleanups.push(() => server.stop());
  return server;
}

async function query<T extends pg.QueryResultRow = pg.QueryResultRow>(config: pg.ClientConfig, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionTimeoutMillis: 5_000, ...config });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

const viaUrl = (connection: LocalPostgresConnection) => ({ connectionString: connection.url });

/** Polls `condition` until it holds or the deadline passes (no fixed sleeps). */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Gone, or a zombie nobody reaps (PID 1 of some containers does not): either way not running. */
function processIsGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return true;
  }
}

function pidFileOf(server: LocalPostgresServer): string {
  return join(server.dataDirectory, 'postmaster.pid');
}

/** Replaces the pid (first line) of postmaster.pid, keeping the rest as the crashed server left it. */
function rewritePidFile(server: LocalPostgresServer, pid: number): void {
  const lines = readFileSync(pidFileOf(server), 'utf8').split('\n');
  lines[0] = String(pid);
  writeFileSync(pidFileOf(server), lines.join('\n'));
}

async function crash(server: LocalPostgresServer): Promise<number> {
  const pid = server.pid;
  expect(pid).toBeGreaterThan(0);
  process.kill(pid as number, 'SIGKILL');
  await waitFor(() => processIsGone(pid as number), `postmaster ${pid} to die`);
  expect(server.pid).toBeUndefined();
  // The crash leaves its pid file behind: that is what the next start must cope with.
  expect(existsSync(pidFileOf(server))).toBe(true);
  return pid as number;
}

async function listen(port: number): Promise<Server> {
  const blocker = createServer();
  await new Promise<void>((resolve, reject) => {
    blocker.once('error', reject);
    blocker.listen(port, '127.0.0.1', resolve);
  });
  cleanups.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  return blocker;
}

describe('LocalPostgresServer', () => {
  it('initialises a cluster on first start, reachable only with the password over TCP', async () => {
    const directory = tempDirectory();
    const server = newServer(directory);
    expect(existsSync(join(server.dataDirectory, 'PG_VERSION'))).toBe(false);

    const connection = await server.start();
    expect(server.startedByUs).toBe(true);
    expect(readFileSync(join(server.dataDirectory, 'PG_VERSION'), 'utf8').trim()).toMatch(/^\d+$/);
    expect(statSync(join(directory, 'superuser.password')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(directory, 'superuser.password'), 'utf8').trim()).toBe(connection.password);
    expect(readFileSync(join(directory, 'port'), 'utf8').trim()).toBe(String(connection.port));
    expect(connection).toMatchObject({ host: '127.0.0.1', user: 'platform' });
    expect(connection.password.length).toBeGreaterThanOrEqual(24);
    expect(connection.urlFor('other_db')).toMatch(/@127\.0\.0\.1:\d+\/other_db$/);

    const [row] = await query<{ user: string; sockets: string; version: string }>(
      viaUrl(connection),
      "SELECT current_user AS user, current_setting('unix_socket_directories') AS sockets, current_setting('server_version_num') AS version",
    );
    expect(row).toMatchObject({ user: 'platform', sockets: '' });

    const base = { host: connection.host, port: connection.port, user: connection.user, database: 'postgres' };
    await expect(query(base, 'SELECT 1')).rejects.toThrow(/password/i);
    await expect(query({ ...base, password: `${connection.password}-wrong` }, 'SELECT 1')).rejects.toThrow(
      /password authentication failed/,
    );
    expect(await query({ ...base, password: connection.password }, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);

    // No Unix socket anywhere PostgreSQL would put one, and none recorded in postmaster.pid.
    for (const dir of ['/tmp', '/var/run/postgresql', directory, server.dataDirectory]) {
      expect(existsSync(join(dir, `.s.PGSQL.${connection.port}`))).toBe(false);
    }
    const pidLines = readFileSync(pidFileOf(server), 'utf8').split('\n');
    expect(Number(pidLines[0])).toBe(server.pid);
    expect(pidLines[4]).toBe('');
    expect(pidLines[5]).toBe('127.0.0.1');
  });

  it('keeps the data and the port across stop and start', async () => {
    const server = newServer(tempDirectory());
    const first = await server.start();
    await query(viaUrl(first), "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('before restart')");
    const firstPid = server.pid;

    await server.stop();
    expect(server.pid).toBeUndefined();
    expect(existsSync(pidFileOf(server))).toBe(false);
    await expect(query(viaUrl(first), 'SELECT 1')).rejects.toThrow();

    const second = await server.start();
    expect(server.startedByUs).toBe(true);
    expect(server.pid).not.toBe(firstPid);
    expect(second.port).toBe(first.port);
    expect(second.password).toBe(first.password);
    expect(await query(viaUrl(second), 'SELECT v FROM kept')).toEqual([{ v: 'before restart' }]);
  });

  it('adopts the server when a second object starts on a directory whose server is running', async () => {
    const directory = tempDirectory();
    const owner = newServer(directory);
    const ownerConnection = await owner.start();
    expect(owner.startedByUs).toBe(true);

    const adopter = new LocalPostgresServer({ directory, logger, unsafeFastMode: true });
    const adopted = await adopter.start();
    expect(adopter.startedByUs).toBe(false);
    expect(adopted.port).toBe(ownerConnection.port);
    expect(adopter.pid).toBe(owner.pid);
    expect(adopted.url).toBe(ownerConnection.url);
    expect(await query(viaUrl(adopted), 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('picks another free port when the remembered one is taken by another listener', async () => {
    const directory = tempDirectory();
    const server = newServer(directory);
    const first = await server.start();
    await query(viaUrl(first), 'CREATE TABLE moved (v int); INSERT INTO moved VALUES (7)');
    await server.stop();

    await listen(first.port);
    const second = await server.start();
    expect(second.port).not.toBe(first.port);
    expect(readFileSync(join(directory, 'port'), 'utf8').trim()).toBe(String(second.port));
    expect(await query(viaUrl(second), 'SELECT v FROM moved')).toEqual([{ v: 7 }]);
  });

  describe('crash recovery', () => {
    // Durable settings here: the point is that committed data survives a kill -9.
    async function crashedServer() {
      const server = newServer(tempDirectory(), { unsafeFastMode: false });
      const connection = await server.start();
      await query(viaUrl(connection), "CREATE TABLE survivors (v text); INSERT INTO survivors VALUES ('committed before the crash')");
      const killedPid = await crash(server);
      await expect(query(viaUrl(connection), 'SELECT 1')).rejects.toThrow();
      return { server, connection, killedPid };
    }

    async function expectRecovered(server: LocalPostgresServer, before: LocalPostgresConnection, killedPid: number) {
      const after = await server.start();
      expect(server.startedByUs).toBe(true);
      expect(server.pid).toBeGreaterThan(0);
      expect(server.pid).not.toBe(killedPid);
      expect(after.port).toBe(before.port);
      expect(await query(viaUrl(after), 'SELECT v FROM survivors')).toEqual([{ v: 'committed before the crash' }]);
      // And it is a working server again: writes succeed.
      await query(viaUrl(after), "INSERT INTO survivors VALUES ('after')");
      expect(Number(readFileSync(pidFileOf(server), 'utf8').split('\n')[0])).toBe(server.pid);
    }

    it('comes back with its data after kill -9 of the postmaster', async () => {
      const { server, connection, killedPid } = await crashedServer();
      await expectRecovered(server, connection, killedPid);
    });

    it('comes back when postmaster.pid names a pid that does not exist', async () => {
      const { server, connection, killedPid } = await crashedServer();
      rewritePidFile(server, 999_999);
      expect(processIsGone(999_999)).toBe(true);
      await expectRecovered(server, connection, killedPid);
    });

    it('comes back when postmaster.pid names a live unrelated process (the test process itself)', async () => {
      const { server, connection, killedPid } = await crashedServer();
      rewritePidFile(server, process.pid);
      expect(server.pid).toBeUndefined();
      await expectRecovered(server, connection, killedPid);
      expect(processIsGone(process.pid)).toBe(false);
    });

    it('comes back when postmaster.pid names a live process whose command line mentions postgres', async () => {
      const { server, connection, killedPid } = await crashedServer();
      // e.g. the pid was reused by a psql or an exporter: same word in its command line, not our server.
      const impostor: ChildProcess = spawn('sleep', ['300'], { argv0: 'postgres', stdio: 'ignore', cwd: tmpdir() });
      cleanups.push(() => {
        impostor.kill('SIGKILL');
      });
      const impostorPid = impostor.pid as number;
      await waitFor(() => /postgres/.test(readFileSync(`/proc/${impostorPid}/cmdline`, 'utf8')), 'the impostor to run');
      rewritePidFile(server, impostorPid);
      expect(server.pid).toBeUndefined();
      await expectRecovered(server, connection, killedPid);
      expect(processIsGone(impostorPid)).toBe(false);
    });

    it('does not start a new postmaster while a child of the killed one is still alive', async () => {
      const server = newServer(tempDirectory(), { unsafeFastMode: false });
      const connection = await server.start();
      await query(viaUrl(connection), "CREATE TABLE survivors (v text); INSERT INTO survivors VALUES ('committed before the crash')");
      const [checkpointer] = await query<{ pid: number }>(
        viaUrl(connection),
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'",
      );
      const orphanPid = checkpointer?.pid as number;
      expect(orphanPid).toBeGreaterThan(0);
      // A stopped child cannot notice that its postmaster died: it outlives it until continued.
      process.kill(orphanPid, 'SIGSTOP');
      cleanups.push(() => {
        if (!processIsGone(orphanPid)) process.kill(orphanPid, 'SIGKILL');
      });
      const killedPid = await crash(server);
      expect(processIsGone(orphanPid)).toBe(false);
      const crashedPidFile = readFileSync(pidFileOf(server), 'utf8');
      const refusals = () =>
        (readFileSync(server.logFile, 'utf8').match(/pre-existing shared memory block .* is still in use/g) ?? []).length;
      const refusedBefore = refusals();

      let settled = false;
      const restart = server.start().finally(() => {
        settled = true;
      });
      // PostgreSQL refuses while the orphan holds the killed postmaster's shared memory, judging by
      // the pid file the crash left; start() keeps that file and waits. Nothing may look like a
      // running server meanwhile: no new pid file (not even for a moment), no finished start().
      let premature: string | undefined;
      await waitFor(() => {
        if (settled) premature = 'start() finished';
        else if (!existsSync(pidFileOf(server))) premature = 'the pid file the crash left was removed';
        else if (readFileSync(pidFileOf(server), 'utf8') !== crashedPidFile) premature = 'a new pid file was written';
        return premature !== undefined || refusals() > refusedBefore;
      }, 'PostgreSQL to refuse a start');
      expect(premature).toBeUndefined();
      expect(server.pid).toBeUndefined();
      process.kill(orphanPid, 'SIGCONT');
      const after = await restart;
      expect(processIsGone(orphanPid)).toBe(true);
      expect(server.pid).not.toBe(killedPid);
      expect(await query(viaUrl(after), 'SELECT v FROM survivors')).toEqual([{ v: 'committed before the crash' }]);
      // A durable cluster's initdb, crash and recovery take long on a loaded machine.
    }, 60_000);
  });
});
