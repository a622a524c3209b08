import type pg from 'pg';
import { quoteIdentifier, quoteLiteral } from '../db/index.js';
import { connectionPerCall, keptConnections, type ServerConnections } from './server-connections.js';

/**
 * Operations on one PostgreSQL server, run as its admin role. Each is idempotent, so a job
 * retried after a crash can run it again. Names always go through quoteIdentifier.
 */
export interface DatabaseServerOperations {
  /** Creates the login role, or resets its password when it exists. */
  ensureRole(name: string, password: string, options?: { connectionLimit?: number }): Promise<void>;
  dropRole(name: string): Promise<void>;
  /**
   * Role `from` becomes role `to`: `to`, when it has nothing yet (owns nothing, holds no privilege
   * or membership anywhere on the server), is dropped and `from` renamed to it, in one transaction.
   * Ownership is by role id, so everything `from` owned is `to`'s at once, with none of the catalog
   * rewrites of REASSIGN OWNED. The renamed role keeps `from`'s password, and loses it when that
   * is an MD5 one: the caller sets `to`'s password and limits again (ensureRole). Returns false,
   * changing nothing, when `to` has something already (then hand over with reassignOwned).
   */
  replaceRole(from: string, to: string): Promise<boolean>;
  roleExists(name: string): Promise<boolean>;
  databaseExists(name: string): Promise<boolean>;
  /** An empty database owned by `owner` (template builds). */
  createDatabase(name: string, owner: string): Promise<void>;
  /**
   * `CREATE DATABASE name TEMPLATE template OWNER owner`, after ending every connection to the
   * template (PostgreSQL refuses a template in use), then makes `owner` own every object in it.
   */
  cloneDatabase(input: { template: string; name: string; owner: string; objectsOwner?: string }): Promise<void>;
  /** Renames a database (nobody may be connected to it). */
  renameDatabase(from: string, to: string): Promise<void>;
  /**
   * Inside `database`: every object of `fromRole` now belongs to `toRole`, and so does `database`
   * itself when `fromRole` owned it. No other database changes hands. A missing `fromRole` owns nothing.
   */
  reassignOwned(database: string, fromRole: string, toRole: string): Promise<void>;
  /** Who owns a database and the objects in it, and its connection limit; undefined when missing. */
  inspectDatabase(name: string, role: string): Promise<DatabaseOwnership | undefined>;
  /** CONNECT only for `owner` (and the roles granted it), a connection limit. */
  restrictDatabase(name: string, owner: string, connectionLimit: number): Promise<void>;
  /** Marks a built template: cloneable, no connections (running Odoo crons would block clones). */
  lockTemplate(name: string): Promise<void>;
  unlockTemplate(name: string): Promise<void>;
  /** Ends sessions on a database (only those of `user` when given). */
  terminateConnections(name: string, user?: string): Promise<number>;
  /**
   * Changes who owns a database (not its objects). PostgreSQL hands the old owner's database
   * privileges to the new owner, so roles in `keepConnect` get CONNECT granted again.
   */
  setDatabaseOwner(name: string, owner: string, keepConnect?: string[]): Promise<void>;
  /** `DROP DATABASE ... WITH (FORCE)`; missing is fine. */
  dropDatabase(name: string): Promise<void>;
  databaseSize(name: string): Promise<number>;
  /** Lets `member` act as `role` (pool roles reach their tenants' databases this way). */
  grantRole(role: string, member: string): Promise<void>;
  revokeRole(role: string, member: string): Promise<void>;
  /** Runs statements inside one database as the admin (identity reset of a clone...). */
  withDatabase<T>(name: string, fn: (client: pg.Client) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` with operations that keep their connections (one admin, one per database) until it
   * returns, for a run of many small operations from one task. Nested sessions share the outer one.
   */
  session<T>(fn: (ops: DatabaseServerOperations) => Promise<T>): Promise<T>;
}

export interface DatabaseOwnership {
  owner: string;
  /** The owner is the role, or a role granted it (a pool's role owns the databases it serves). */
  ownerActsAsRole: boolean;
  /** Every role owning an object inside the database (the bootstrap superuser's catalog aside). */
  objectOwners: string[];
  connectionLimit: number;
}

/**
 * Serialises changes of database ownership on one server. `REASSIGN OWNED` also hands over the
 * shared objects of the old role, i.e. every database it owns (a template database belongs to the
 * template owner), so a hand-over puts those back in the same transaction; two such transactions
 * touching the same pg_database row at once fail with "tuple concurrently updated". Advisory locks
 * are per database, so the lock is taken in the maintenance database, on the admin connection.
 */
const OWNERSHIP_LOCK_KEY = 'saas-database-ownership';

export function databaseServerOperations(adminUrl: string): DatabaseServerOperations {
  return operationsOver(connectionPerCall(adminUrl), async (fn) => {
    const kept = keptConnections(adminUrl);
    const inSession: DatabaseServerOperations = operationsOver(kept, (inner) => inner(inSession));
    try {
      return await fn(inSession);
    } finally {
      await kept.close();
    }
  });
}

function operationsOver(connections: ServerConnections, session: DatabaseServerOperations['session']): DatabaseServerOperations {
  const { admin, database: inDatabase, release } = connections;

  async function exists(client: pg.Client, table: 'pg_roles' | 'pg_database', name: string): Promise<boolean> {
    const column = table === 'pg_roles' ? 'rolname' : 'datname';
    const result = await client.query(`SELECT 1 FROM ${table} WHERE ${column} = $1`, [name]);
    return result.rowCount === 1;
  }

  async function withOwnershipLock<T>(fn: () => Promise<T>): Promise<T> {
    return admin(async (lockClient) => {
      await lockClient.query('SELECT pg_advisory_lock(hashtext($1))', [OWNERSHIP_LOCK_KEY]);
      try {
        return await fn();
      } finally {
        // A session keeps the connection, so the lock is given back explicitly (a connection that
        // died meanwhile gave it back already).
        await lockClient.query('SELECT pg_advisory_unlock(hashtext($1))', [OWNERSHIP_LOCK_KEY]).catch(() => undefined);
      }
    });
  }

  /** Whether `role` owns this database or anything in it. */
  async function ownsSomethingHere(client: pg.Client, role: string): Promise<boolean> {
    const owns = await client.query(
      `SELECT 1 FROM pg_roles r, pg_database d WHERE r.rolname = $1 AND d.datname = current_database()
          AND (d.datdba = r.oid OR EXISTS (SELECT 1 FROM pg_shdepend s WHERE s.deptype = 'o' AND s.refobjid = r.oid AND s.dbid = d.oid))`,
      [role],
    );
    return owns.rowCount === 1;
  }

  async function reassignOwned(database: string, fromRole: string, toRole: string): Promise<void> {
    await inDatabase(database, async (client) => {
      // Nothing to hand over (a finished step run again): no lock, no REASSIGN, no pg_database writes.
      // Nothing can come to belong to `fromRole` here meanwhile (it never connects to this database).
      if (!(await ownsSomethingHere(client, fromRole))) return;
      await withOwnershipLock(async () => {
        await client.query('BEGIN');
        try {
          const others = await client.query<{ datname: string }>(
            `SELECT d.datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba
              WHERE r.rolname = $1 AND d.datname <> current_database()`,
            [fromRole],
          );
          await client.query(`REASSIGN OWNED BY ${quoteIdentifier(fromRole)} TO ${quoteIdentifier(toRole)}`);
          for (const { datname } of others.rows) {
            await client.query(`ALTER DATABASE ${quoteIdentifier(datname)} OWNER TO ${quoteIdentifier(fromRole)}`);
          }
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
      });
    });
  }

  async function terminate(client: pg.Client, name: string, user?: string): Promise<number> {
    await release(name);
    const result = user
      ? await client.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND usename = $2 AND pid <> pg_backend_pid()',
          [name, user],
        )
      : await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
    return result.rowCount ?? 0;
  }

  return {
    async ensureRole(name, password, options = {}) {
      await admin(async (client) => {
        const limit = options.connectionLimit ?? -1;
        const clause = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION CONNECTION LIMIT ${Number(limit)} PASSWORD ${quoteLiteral(password)}`;
        if (await exists(client, 'pg_roles', name)) {
          await client.query(`ALTER ROLE ${quoteIdentifier(name)} WITH ${clause}`);
          return;
        }
        try {
          await client.query(`CREATE ROLE ${quoteIdentifier(name)} WITH ${clause}`);
        } catch (error) {
          if ((error as { code?: string }).code !== '42710') throw error; // created concurrently
          await client.query(`ALTER ROLE ${quoteIdentifier(name)} WITH ${clause}`);
        }
      });
    },

    async dropRole(name) {
      await admin(async (client) => {
        if (!(await exists(client, 'pg_roles', name))) return;
        await client.query(`DROP ROLE IF EXISTS ${quoteIdentifier(name)}`);
      });
    },

    replaceRole: (from, to) =>
      admin(async (client) => {
        await client.query('BEGIN');
        try {
          const target = await client.query<{ oid: number }>('SELECT oid FROM pg_roles WHERE rolname = $1', [to]);
          const oid = target.rows[0]?.oid;
          if (oid !== undefined) {
            const used = await client.query(
              `SELECT 1 FROM pg_shdepend WHERE refclassid = 'pg_authid'::regclass AND refobjid = $1
               UNION ALL SELECT 1 FROM pg_auth_members WHERE roleid = $1 OR member = $1 LIMIT 1`,
              [oid],
            );
            if ((used.rowCount ?? 0) > 0) {
              await client.query('ROLLBACK');
              return false;
            }
            await client.query(`DROP ROLE ${quoteIdentifier(to)}`);
          }
          await client.query(`ALTER ROLE ${quoteIdentifier(from)} RENAME TO ${quoteIdentifier(to)}`);
          await client.query('COMMIT');
          return true;
        } catch (error) {
          await client.query('ROLLBACK');
          // 2BP01: `to` came to own something in between; hand over the slow way.
          if ((error as { code?: string }).code === '2BP01') return false;
          throw error;
        }
      }),

    roleExists: (name) => admin((client) => exists(client, 'pg_roles', name)),
    databaseExists: (name) => admin((client) => exists(client, 'pg_database', name)),

    async createDatabase(name, owner) {
      await admin(async (client) => {
        if (await exists(client, 'pg_database', name)) return;
        await client.query(`CREATE DATABASE ${quoteIdentifier(name)} OWNER ${quoteIdentifier(owner)} ENCODING 'UTF8' TEMPLATE template0`);
      });
    },

    async cloneDatabase({ template, name, owner, objectsOwner }) {
      await admin(async (client) => {
        if (!(await exists(client, 'pg_database', name))) {
          // A connection sneaking in between terminate and CREATE makes CREATE fail: retry a few times.
          for (let attempt = 1; ; attempt++) {
            await terminate(client, template);
            try {
              await client.query(
                `CREATE DATABASE ${quoteIdentifier(name)} TEMPLATE ${quoteIdentifier(template)} OWNER ${quoteIdentifier(owner)}`,
              );
              break;
            } catch (error) {
              const code = (error as { code?: string }).code;
              if (code === '42P04') break; // exists: created by an earlier attempt
              if (code !== '55006' || attempt >= 5) throw error; // 55006: source database is being accessed
              await new Promise((r) => setTimeout(r, 50 * attempt));
            }
          }
        }
      });
      // Tables in the clone belong to the template's owner: hand them to the tenant role so the
      // tenant's Odoo, which connects as that role, can use them.
      if (objectsOwner && objectsOwner !== owner) await reassignOwned(name, objectsOwner, owner);
    },

    async renameDatabase(from, to) {
      await admin(async (client) => {
        // A connection sneaking in between terminate and ALTER (an Odoo pool's cron, a reconnect)
        // makes ALTER fail with 55006: end the sessions again and retry a few times.
        for (let attempt = 1; ; attempt++) {
          await terminate(client, from);
          try {
            await client.query(`ALTER DATABASE ${quoteIdentifier(from)} RENAME TO ${quoteIdentifier(to)}`);
            return;
          } catch (error) {
            if ((error as { code?: string }).code !== '55006' || attempt >= 5) throw error;
            await new Promise((r) => setTimeout(r, 50 * attempt));
          }
        }
      });
    },

    reassignOwned,

    async inspectDatabase(name, role) {
      const database = await admin((client) =>
        client.query<{ owner: string; acts: boolean; limit: number }>(
          `SELECT pg_get_userbyid(datdba) AS owner, pg_has_role(datdba, r.oid, 'MEMBER') AS acts, datconnlimit AS limit
             FROM pg_database LEFT JOIN pg_roles r ON r.rolname = $2 WHERE datname = $1`,
          [name, role],
        ),
      );
      const row = database.rows[0];
      if (!row) return undefined;
      // pg_shdepend records the owner of every object but those of the pinned bootstrap superuser.
      const owners = await inDatabase(name, (client) =>
        client.query<{ rolname: string }>(
          `SELECT DISTINCT pg_get_userbyid(refobjid) AS rolname FROM pg_shdepend
            WHERE deptype = 'o' AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
            ORDER BY 1`,
        ),
      );
      return {
        owner: row.owner,
        ownerActsAsRole: row.acts === true,
        objectOwners: owners.rows.map((r) => r.rolname),
        connectionLimit: row.limit,
      };
    },

    async restrictDatabase(name, owner, connectionLimit) {
      await admin(async (client) => {
        await client.query(`REVOKE ALL ON DATABASE ${quoteIdentifier(name)} FROM PUBLIC`);
        await client.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${quoteIdentifier(name)} TO ${quoteIdentifier(owner)}`);
        await client.query(`ALTER DATABASE ${quoteIdentifier(name)} WITH CONNECTION LIMIT ${Number(connectionLimit)}`);
      });
      // The public schema grants CREATE to PUBLIC on PostgreSQL < 15; close it too.
      await inDatabase(name, (client) => client.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC'));
    },

    async lockTemplate(name) {
      await withOwnershipLock(() =>
        admin(async (client) => {
          await client.query(`ALTER DATABASE ${quoteIdentifier(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
          await terminate(client, name);
        }),
      );
    },

    async unlockTemplate(name) {
      await admin((client) => client.query(`ALTER DATABASE ${quoteIdentifier(name)} WITH IS_TEMPLATE false ALLOW_CONNECTIONS true`));
    },

    terminateConnections: (name, user) => admin((client) => terminate(client, name, user)),

    async setDatabaseOwner(name, owner, keepConnect = []) {
      await admin(async (client) => {
        if (!(await exists(client, 'pg_database', name))) return;
        await client.query(`ALTER DATABASE ${quoteIdentifier(name)} OWNER TO ${quoteIdentifier(owner)}`);
        for (const role of keepConnect)
          await client.query(`GRANT CONNECT, TEMPORARY ON DATABASE ${quoteIdentifier(name)} TO ${quoteIdentifier(role)}`);
      });
    },

    async dropDatabase(name) {
      // Most calls find nothing to drop (a side copy no attempt left): they do not queue for the
      // lock behind another database's drop, which waits for a checkpoint.
      if (!(await admin((client) => exists(client, 'pg_database', name)))) return;
      await withOwnershipLock(() =>
        admin(async (client) => {
          if (!(await exists(client, 'pg_database', name))) return;
          await release(name);
          // A template cannot be dropped; unlock first (no-op for ordinary databases).
          await client.query(`ALTER DATABASE ${quoteIdentifier(name)} WITH IS_TEMPLATE false`);
          await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
        }),
      );
    },

    async databaseSize(name) {
      return admin(async (client) => {
        const result = await client.query<{ size: string }>('SELECT pg_database_size($1)::text AS size', [name]);
        return Number(result.rows[0]?.size ?? 0);
      });
    },

    async grantRole(role, member) {
      await admin((client) => client.query(`GRANT ${quoteIdentifier(role)} TO ${quoteIdentifier(member)}`));
    },

    async revokeRole(role, member) {
      await admin(async (client) => {
        if ((await exists(client, 'pg_roles', role)) && (await exists(client, 'pg_roles', member))) {
          await client.query(`REVOKE ${quoteIdentifier(role)} FROM ${quoteIdentifier(member)}`);
        }
      });
    },

    withDatabase: inDatabase,
    session,
  };
}
