import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { createLogger } from '../../src/logging/index.js';
import { LocalPostgresServer } from '../../src/postgres/index.js';

/**
 * One real PostgreSQL server for the whole run, started with the platform's own managed-cluster
 * module; every test file creates its own databases on it (test/helpers/postgres.ts).
 * TEST_DATABASE_URL points the suite at an existing server instead (superuser URL).
 */
export default async function setup(project: TestProject) {
  if (process.env.TEST_DATABASE_URL) {
    project.provide('postgresAdminUrl', process.env.TEST_DATABASE_URL);
    return;
  }
  const directory = mkdtempSync(join(tmpdir(), 'saas-test-pg-'));
  const server = new LocalPostgresServer({ directory, logger: createLogger('warn'), unsafeFastMode: true, maxConnections: 500 });
  const connection = await server.start();
  project.provide('postgresAdminUrl', connection.url);
  return async () => {
    await server.stop();
    rmSync(directory, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresAdminUrl: string;
  }
}
