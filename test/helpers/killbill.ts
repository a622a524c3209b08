import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from './gateway-client.js';
import { freeTestPort } from './ports.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';

/** The Kill Bill server version scripts/lib.sh (ensure_killbill) downloads. */
export const KILLBILL_VERSION = '0.22.26';

/** Kill Bill's default administrator (its shiro.ini), used only to create tenants. */
export const KILLBILL_ADMIN = { username: 'admin', password: 'password' };

export interface RunningKillbill {
  url: string;
  /** Where the server came from: a version started here, or KILLBILL_URL. */
  version: string;
  /** Seconds from `java` started to the healthcheck answering (null with KILLBILL_URL). */
  startupSeconds: number | null;
  stop(): Promise<void>;
}

/** Java 17 (Kill Bill 0.22 runs on it with its OSGi URL handlers opened, see JAVA_OPENS). */
function javaBinary(): string | undefined {
  const candidates = [
    process.env.KILLBILL_JAVA,
    process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin/java') : undefined,
    '/usr/lib/jvm/java-17-openjdk-amd64/bin/java',
    '/usr/lib/jvm/temurin-17-jdk-amd64/bin/java',
  ];
  return candidates.find((path): path is string => Boolean(path && existsSync(path)));
}

/**
 * Kill Bill 0.22 embeds Felix 4.4, whose URL stream handlers reach into the JDK's own protocol
 * handlers by reflection; Java 17 refuses that unless these packages are opened, and every
 * `jar:` URL (Kill Bill's SQL templates) then fails with "Unknown protocol: jar".
 */
const JAVA_OPENS = [
  'java.lang',
  'java.util',
  'java.lang.reflect',
  'java.net',
  'java.io',
  'java.nio',
  'java.security',
  'sun.nio.ch',
  'sun.net.www',
  'sun.net.www.protocol.jar',
  'sun.net.www.protocol.file',
  'sun.net.www.protocol.http',
  'sun.net.www.protocol.https',
  'sun.net.www.protocol.jrt',
  'sun.net.www.protocol.ftp',
  'sun.net.www.protocol.mailto',
].flatMap((pkg) => ['--add-opens', `java.base/${pkg}=ALL-UNNAMED`]);

/**
 * Kill Bill's DDL through psql, one statement at a time as psql sends them: its PostgreSQL
 * compatibility script installs an event trigger that reads `current_query()` to widen serial
 * columns, and one multi-statement query would show it the whole file instead of one CREATE.
 */
async function loadKillbillSchema(database: TestDatabase, file: string): Promise<void> {
  const psql =
    ['/usr/bin/psql', ...['17', '16', '15'].map((v) => `/usr/lib/postgresql/${v}/bin/psql`)].find((p) => existsSync(p)) ?? 'psql';
  await promisify(execFile)(
    psql,
    ['-q', '-v', 'ON_ERROR_STOP=1', '-h', database.host, '-p', String(database.port), '-U', database.user, '-d', database.name, '-f', file],
    // The password goes in the environment, never on the command line.
    { env: { ...process.env, PGPASSWORD: database.password, PGOPTIONS: '-c client_min_messages=warning' }, maxBuffer: 16 * 1024 * 1024 },
  );
}

/** Why Kill Bill cannot run here (the tests print it when they skip), or null when it can. */
export function killbillUnavailable(): string | null {
  if (process.env.KILLBILL_URL) return null;
  const dir = resolve('.tools/killbill', KILLBILL_VERSION);
  for (const file of ['killbill.war', 'jetty-runner.jar', 'ddl-postgresql.sql'])
    if (!existsSync(join(dir, file)))
      return `Kill Bill ${KILLBILL_VERSION} is not installed (${join(dir, file)} missing): run scripts/test.sh (ensure_killbill) or set KILLBILL_URL`;
  if (!javaBinary()) return 'no Java 17 found (set KILLBILL_JAVA or JAVA_HOME) to run Kill Bill';
  return null;
}

/**
 * A real Kill Bill: KILLBILL_URL when set, else the downloaded server in Jetty on a free port,
 * its schema (Kill Bill's own PostgreSQL DDL) in a fresh database on the suite's PostgreSQL.
 * Start-up takes one to five minutes (the machine's load decides), so a test file starts it once in beforeAll.
 */
export async function startKillbill(): Promise<RunningKillbill> {
  if (process.env.KILLBILL_URL)
    return { url: process.env.KILLBILL_URL.replace(/\/$/, ''), version: 'KILLBILL_URL', startupSeconds: null, async stop() {} };
  const reason = killbillUnavailable();
  if (reason) throw new Error(reason);
  const dir = resolve('.tools/killbill', KILLBILL_VERSION);
  const database: TestDatabase = await createTestDatabase('killbill');
  await loadKillbillSchema(database, join(dir, 'ddl-postgresql.sql'));
  const work = mkdtempSync(join(tmpdir(), 'killbill-'));
  mkdirSync(join(work, 'bundles'));
  const jdbc = `jdbc:postgresql://${database.host}:${database.port}/${database.name}`;
  const properties = {
    'org.killbill.dao.url': jdbc,
    'org.killbill.dao.user': database.user,
    'org.killbill.dao.password': database.password,
    'org.killbill.billing.osgi.dao.url': jdbc,
    'org.killbill.billing.osgi.dao.user': database.user,
    'org.killbill.billing.osgi.dao.password': database.password,
    'org.killbill.server.multitenant': 'true',
    'org.killbill.osgi.bundle.install.dir': join(work, 'bundles'),
    'org.killbill.server.updateCheck.skip': 'true',
    // Queues polled every 100 ms (the default 3 s would slow every notification in the tests).
    'org.killbill.notificationq.main.sleep': '100',
    'org.killbill.persistent.bus.main.sleep': '100',
    'org.killbill.persistent.bus.external.sleep': '100',
    'org.killbill.catalog.uri': 'SpyCarAdvanced.xml',
  };
  // The properties file holds the database password: it stays off the command line.
  writeFileSync(
    join(work, 'killbill.properties'),
    Object.entries(properties)
      .map(([key, value]) => `${key}=${value}`)
      .join('\n'),
    { mode: 0o600 },
  );
  const port = await freeTestPort();
  const started = Date.now();
  const logFile = join(work, 'killbill.log');
  const log = openSync(logFile, 'a');
  const child: ChildProcess = spawn(
    javaBinary() as string,
    [
      '-Xmx768m',
      // Start-up is most of Kill Bill's time in a test run: the client compiler only and the
      // serial collector start it faster on a small, busy machine (measured: see the test's log line).
      '-XX:TieredStopAtLevel=1',
      '-XX:+UseSerialGC',
      `-Dorg.killbill.server.properties=file://${join(work, 'killbill.properties')}`,
      ...JAVA_OPENS,
      '-jar',
      join(dir, 'jetty-runner.jar'),
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      join(dir, 'killbill.war'),
    ],
    { stdio: ['ignore', log, log] },
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await database.drop();
    rmSync(work, { recursive: true, force: true });
  };
  try {
    await waitFor(
      `Kill Bill to start (log: ${logFile})`,
      async () => {
        if (child.exitCode !== null) throw new Error(`Kill Bill exited with ${child.exitCode}; see ${logFile}`);
        const response = await fetch(`${url}/1.0/healthcheck`).catch(() => undefined);
        return response?.ok ? true : undefined;
      },
      600_000,
      500,
    );
  } catch (error) {
    process.stderr.write(readFileSync(logFile, 'utf8').slice(-4000));
    await stop();
    throw error;
  }
  return { url, version: KILLBILL_VERSION, startupSeconds: (Date.now() - started) / 1000, stop };
}
