import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseServerOperations, databaseServerOperations, quoteIdentifier, withConnection } from '../../src/postgres/index.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

/**
 * The hand-over of a copied database to its tenant role, on a real PostgreSQL server:
 * `REASSIGN OWNED` also moves the databases the old role owns, which must stay where they were.
 */
const suffix = Math.random().toString(36).slice(2, 8);
const templateOwner = `tdo_owner_${suffix}`;
const template = `tdo_tpl_${suffix}`;
const tenants = [1, 2, 3].map((i) => ({ role: `tdo_r${i}_${suffix}`, database: `tdo_t${i}_${suffix}` }));
let ops: DatabaseServerOperations;

async function databaseOwner(name: string): Promise<string | undefined> {
  return withConnection(postgresAdminUrl(), async (client) => {
    const result = await client.query<{ owner: string }>('SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1', [
      name,
    ]);
    return result.rows[0]?.owner;
  });
}

beforeAll(async () => {
  ops = databaseServerOperations(postgresAdminUrl());
  await ops.ensureRole(templateOwner, 'template-owner-password');
  await ops.createDatabase(template, templateOwner);
  await ops.withDatabase(template, async (client) => {
    await client.query(`SET ROLE ${quoteIdentifier(templateOwner)}`);
    await client.query('CREATE TABLE res_users (id serial PRIMARY KEY, login text)');
  });
  await ops.lockTemplate(template);
  for (const tenant of tenants) await ops.ensureRole(tenant.role, 'tenant-password', { connectionLimit: 64 });
});

afterAll(async () => {
  for (const tenant of tenants) await ops.dropDatabase(tenant.database);
  await ops.dropDatabase(template);
  for (const role of [...tenants.map((t) => t.role), templateOwner]) await ops.dropRole(role);
});

describe('handing a copied database over to its tenant role', () => {
  it('gives the tenant every object of the copy, and leaves the template database its owner', async () => {
    const [tenant] = tenants as [(typeof tenants)[number]];
    await ops.cloneDatabase({ template, name: tenant.database, owner: tenant.role });
    expect((await ops.inspectDatabase(tenant.database, tenant.role))?.objectOwners).toEqual([templateOwner]);

    await ops.reassignOwned(tenant.database, templateOwner, tenant.role);
    await ops.restrictDatabase(tenant.database, tenant.role, 64);

    expect(await ops.inspectDatabase(tenant.database, tenant.role)).toEqual({
      owner: tenant.role,
      ownerActsAsRole: true,
      objectOwners: [tenant.role],
      connectionLimit: 64,
    });
    expect(await databaseOwner(template)).toBe(templateOwner);
  });

  it('runs hand-overs from the same template owner side by side', async () => {
    const others = tenants.slice(1);
    await Promise.all(
      others.map((tenant) => ops.cloneDatabase({ template, name: tenant.database, owner: tenant.role, objectsOwner: templateOwner })),
    );
    for (const tenant of others) expect((await ops.inspectDatabase(tenant.database, tenant.role))?.objectOwners).toEqual([tenant.role]);
    expect(await databaseOwner(template)).toBe(templateOwner);
  });

  it('says a missing database is missing', async () => {
    expect(await ops.inspectDatabase(`tdo_missing_${suffix}`, tenants[0]?.role ?? '')).toBeUndefined();
  });
});

describe('a spare copy becoming a tenant by renaming its role', () => {
  const spare = { role: `tdo_spare_${suffix}`, database: `tdo_spare_${suffix}` };
  const tenant = { role: `tdo_claim_${suffix}`, database: `tdo_claim_${suffix}` };
  const busy = { role: `tdo_busy_${suffix}`, database: `tdo_busy_${suffix}` };
  afterAll(async () => {
    for (const name of [spare.database, tenant.database, busy.database]) await ops.dropDatabase(name);
    for (const name of [spare.role, tenant.role, busy.role]) await ops.dropRole(name);
  });

  it('gives the tenant role the copy and every object in it, and can log in with the password set again', async () => {
    await ops.ensureRole(spare.role, 'spare-password');
    await ops.cloneDatabase({ template, name: spare.database, owner: spare.role, objectsOwner: templateOwner });
    await ops.renameDatabase(spare.database, tenant.database);
    await ops.ensureRole(tenant.role, 'tenant-password', { connectionLimit: 64 }); // the role step, before the clone

    expect(await ops.replaceRole(spare.role, tenant.role)).toBe(true);
    await ops.ensureRole(tenant.role, 'tenant-password', { connectionLimit: 64 });
    await ops.restrictDatabase(tenant.database, tenant.role, 64);

    expect(await ops.roleExists(spare.role)).toBe(false);
    expect(await ops.inspectDatabase(tenant.database, tenant.role)).toEqual({
      owner: tenant.role,
      ownerActsAsRole: true,
      objectOwners: [tenant.role],
      connectionLimit: 64,
    });
    const url = new URL(postgresAdminUrl());
    url.username = tenant.role;
    url.password = 'tenant-password';
    url.pathname = `/${tenant.database}`;
    const rows = await withConnection(url.toString(), (client) =>
      client.query("INSERT INTO res_users (login) VALUES ('admin') RETURNING login").then((r) => r.rows),
    );
    expect(rows).toEqual([{ login: 'admin' }]);
  });

  it('changes nothing when the tenant role has something already', async () => {
    await ops.ensureRole(spare.role, 'spare-password');
    await ops.ensureRole(busy.role, 'busy-password');
    await ops.createDatabase(busy.database, busy.role);
    expect(await ops.replaceRole(spare.role, busy.role)).toBe(false);
    expect(await ops.roleExists(spare.role)).toBe(true);
    expect(await databaseOwner(busy.database)).toBe(busy.role);
  });
});

describe('a session of operations', () => {
  const backendPid = (client: { query: (sql: string) => Promise<{ rows: Array<{ pid: number }> }> }) =>
    client.query('SELECT pg_backend_pid() AS pid').then((r) => r.rows[0]?.pid);
  const stillConnected = (pid: number | undefined) =>
    withConnection(postgresAdminUrl(), async (client) => {
      const result = await client.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
      return result.rowCount === 1;
    });

  it('keeps one connection per database until it ends, where calls outside one each open their own', async () => {
    const scratch = `tdo_session_${suffix}`;
    await ops.createDatabase(scratch, templateOwner);
    const separate = [await ops.withDatabase(scratch, backendPid), await ops.withDatabase(scratch, backendPid)];
    expect(separate[0]).not.toBe(separate[1]);

    const kept = await ops.session(async (session) => {
      const pids = [await session.withDatabase(scratch, backendPid), await session.withDatabase(scratch, backendPid)];
      expect(pids[0]).toBe(pids[1]);
      expect(await stillConnected(pids[0])).toBe(true);
      return pids[0];
    });
    await expect.poll(() => stillConnected(kept)).toBe(false);
    await ops.dropDatabase(scratch);
  });

  it('gives the ownership lock back after a hand-over while it goes on', async () => {
    const tenant = { role: `tdo_rs_${suffix}`, database: `tdo_ts_${suffix}` };
    await ops.ensureRole(tenant.role, 'tenant-password');
    await ops.session(async (session) => {
      await session.cloneDatabase({ template, name: tenant.database, owner: tenant.role, objectsOwner: templateOwner });
      const lockFree = await withConnection(postgresAdminUrl(), async (client) => {
        const result = await client.query<{ taken: boolean }>("SELECT pg_try_advisory_lock(hashtext('saas-database-ownership')) AS taken");
        return result.rows[0]?.taken;
      });
      expect(lockFree).toBe(true);
      expect((await session.inspectDatabase(tenant.database, tenant.role))?.objectOwners).toEqual([tenant.role]);
    });
    await ops.dropDatabase(tenant.database);
    await ops.dropRole(tenant.role);
  });

  it('lets go of its connection to a database it drops, and reaches the one made in its place', async () => {
    const scratch = `tdo_drop_${suffix}`;
    await ops.createDatabase(scratch, templateOwner);
    await ops.session(async (session) => {
      const before = await session.withDatabase(scratch, backendPid);
      await session.dropDatabase(scratch);
      expect(await session.databaseExists(scratch)).toBe(false);
      await session.createDatabase(scratch, templateOwner);
      const after = await session.withDatabase(scratch, backendPid);
      expect(after).not.toBe(before);
      expect(await stillConnected(before)).toBe(false);
    });
    await ops.dropDatabase(scratch);
  });
});
