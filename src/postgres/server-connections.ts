import pg from 'pg';
import { withConnection } from './admin.js';

/**
 * How the operations on one server reach it. Outside a session every call opens and ends its own
 * connection; inside one, the admin connection and one connection per database are opened on first
 * use and kept until the session ends. A step makes a dozen small checks and changes, and each new
 * connection costs a password handshake and a backend start, more than most of the statements.
 */
export interface ServerConnections {
  admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T>;
  database<T>(name: string, fn: (client: pg.Client) => Promise<T>): Promise<T>;
  /** Ends a kept connection to `name` before that database is renamed, dropped or cleared of sessions. */
  release(name: string): Promise<void>;
}

export function databaseUrl(adminUrl: string, database: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

export function connectionPerCall(adminUrl: string): ServerConnections {
  return {
    admin: (fn) => withConnection(adminUrl, fn),
    database: (name, fn) => withConnection(databaseUrl(adminUrl, name), fn),
    release: async () => undefined,
  };
}

/** Connections kept for one session; `close` ends them. Callers use a session from one task at a time. */
export function keptConnections(adminUrl: string): ServerConnections & { close(): Promise<void> } {
  const ADMIN = Symbol('admin');
  const open = new Map<string | typeof ADMIN, Promise<pg.Client>>();

  function client(key: string | typeof ADMIN): Promise<pg.Client> {
    let connecting = open.get(key);
    if (!connecting) {
      const url = key === ADMIN ? adminUrl : databaseUrl(adminUrl, key);
      const created = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
      // A kept connection ended by the server (a database dropped WITH FORCE) must not crash the
      // process; the next use opens a fresh one.
      created.on('error', () => open.delete(key));
      created.on('end', () => open.delete(key));
      connecting = created.connect().then(() => created);
      connecting.catch(() => open.delete(key));
      open.set(key, connecting);
    }
    return connecting;
  }

  async function end(key: string | typeof ADMIN): Promise<void> {
    const connecting = open.get(key);
    open.delete(key);
    await connecting?.then((c) => c.end()).catch(() => undefined);
  }

  return {
    admin: async (fn) => fn(await client(ADMIN)),
    database: async (name, fn) => fn(await client(name)),
    release: (name) => end(name),
    close: async () => {
      await Promise.all([...open.keys()].map(end));
    },
  };
}
