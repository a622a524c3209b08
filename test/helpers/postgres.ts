import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { quoteIdentifier, withConnection } from '../../src/postgres/index.js';

export interface TestDatabase {
  name: string;
  /** URL of the new database, as the superuser. */
  url: string;
  host: string;
  port: number;
  user: string;
  password: string;
  /** Superuser URL of the maintenance database (for creating roles, other databases...). */
  adminUrl: string;
  drop(): Promise<void>;
}

export function postgresAdminUrl(): string {
  return inject('postgresAdminUrl');
}

/** A fresh, empty database on the suite's real PostgreSQL server. */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const adminUrl = postgresAdminUrl();
  const name = `${prefix
    .replace(/[^a-z0-9_]/gi, '_')
    .toLowerCase()
    .slice(0, 40)}_${randomBytes(4).toString('hex')}`;
  await withConnection(adminUrl, (client) => client.query(`CREATE DATABASE ${quoteIdentifier(name)}`));
  const parsed = new URL(adminUrl);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    host: parsed.hostname,
    port: Number(parsed.port || 5432),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    adminUrl,
    async drop() {
      await withConnection(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`));
    },
  };
}
