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
