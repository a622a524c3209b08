/**
 * A platform run as `saasctl serve` child processes on one database, data directory and port,
 * as the crash tests need it: started, killed (by itself, at a crash point), started again on the
 * same data, and every child still running stopped after each test.
 */
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { resolve } from 'node:path';
import pg from 'pg';
import { exited, spawnServe } from './cli.js';
import { waitFor } from './gateway-client.js';
import { createHttpClient } from './platform.js';
import { postgresAdminUrl } from './postgres.js';

export interface ServedPlatformSettings {
  databaseUrl: string;
  dataDir: string;
  port: number;
  /** Settings of this test on top of the common ones (which they may override). */
  env?: Record<string, string>;
}

export function servedPlatform(settings: () => ServedPlatformSettings) {
  const children = new Set<ChildProcess>();
  const http = () => createHttpClient(`http://127.0.0.1:${settings().port}`);

  function start(extraEnv: Record<string, string> = {}, stdio?: StdioOptions): ChildProcess {
    const { databaseUrl, dataDir, port, env } = settings();
    const child = spawnServe(
      {
        DATABASE_URL: databaseUrl,
        DATA_DIR: dataDir,
        PORT: String(port),
        HOST: '127.0.0.1',
        SECRET_KEY: 'crash-test-secret-key-that-is-at-least-32-chars',
        TENANT_DATABASE_URL: postgresAdminUrl(),
        ODOO_BIN: resolve('test/fixtures/fake-odoo/odoo-bin'),
        TEMPLATES_AUTOBUILD: 'blank',
        LOGIN_RATE_LIMIT_PER_MINUTE: '1000',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
        ...env,
        ...extraEnv,
      },
      stdio,
    );
    children.add(child);
    return child;
  }

  return {
    http,
    start,
    async startReady(extraEnv: Record<string, string> = {}): Promise<ChildProcess> {
      const child = start(extraEnv);
      await waitFor('the platform to be ready', async () => ((await http().get('/readyz')).status === 200 ? true : undefined), 60_000);
      return child;
    },
    /** A query on the platform database, on a connection of its own. */
    async query<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
      const client = new pg.Client({ connectionString: settings().databaseUrl });
      await client.connect();
      try {
        return (await client.query<T>(text, values)).rows;
      } finally {
        await client.end();
      }
    },
    /** SIGTERM to every child still running, awaited (for afterEach). */
    async stopAll(): Promise<void> {
      for (const child of children) {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          await exited(child);
        }
      }
      children.clear();
    },
  };
}
