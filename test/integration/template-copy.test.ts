import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandError } from '../../src/errors/index.js';
import { databaseServerOperations, quoteIdentifier, withConnection } from '../../src/postgres/index.js';
import { copyTemplateToServer } from '../../src/provisioning/index.js';
import { commandsLeaking, watchChildCommandLines } from '../helpers/child-command-lines.js';
import { postgresAdminUrl } from '../helpers/postgres.js';

/**
 * Copying a template to another server with pg_dump | pg_restore (what a premium tenant's
 * dedicated server gets), on the suite's real PostgreSQL as both source and target.
 */
describe('copyTemplateToServer', () => {
  const adminUrl = postgresAdminUrl();
  const ops = databaseServerOperations(adminUrl);
  const suffix = randomBytes(4).toString('hex');
  const templateOwner = `tplown_${suffix}`;
  const owner = `r_copy_${suffix}`;
  const template = `tpl_copy_${suffix}`;
  const created: string[] = [];

  const urlOf = (database: string) => {
    const url = new URL(adminUrl);
    url.pathname = `/${database}`;
    return url.toString();
  };
  const databaseNamed = async (name: string) =>
    withConnection(adminUrl, async (client) => (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1);

  beforeAll(async () => {
    await ops.ensureRole(templateOwner, randomBytes(12).toString('hex'));
    await ops.ensureRole(owner, randomBytes(12).toString('hex'));
    await ops.createDatabase(template, templateOwner);
    await withConnection(urlOf(template), async (client) => {
      await client.query('CREATE TABLE items (id int PRIMARY KEY, name text)');
      await client.query("INSERT INTO items VALUES (1, 'one'), (2, 'two')");
      await client.query(`ALTER TABLE items OWNER TO ${quoteIdentifier(templateOwner)}`);
    });
  });

  afterAll(async () => {
    for (const name of [template, ...created]) await ops.dropDatabase(name);
    await ops.dropRole(owner);
    await ops.dropRole(templateOwner);
  });

  const copy = (targetDatabase: string, sourceAdminUrl = adminUrl) =>
    copyTemplateToServer({
      source: ops,
      sourceAdminUrl,
      templateDatabase: template,
      scratchName: `scratch_${targetDatabase}`.slice(0, 63),
      target: ops,
      targetAdminUrl: adminUrl,
      targetDatabase,
      owner,
      templateOwner,
    });

  it('copies the template under a name of the maximum length, with no password on the tools’ command lines', async () => {
    // A 61-character tenant name gives a 63-byte database name: its side name must still fit.
    const target = `t_${suffix}`.padEnd(63, 'x');
    created.push(target);
    const watch = watchChildCommandLines();
    try {
      await copy(target);
    } finally {
      watch.stop();
    }
    const rows = await withConnection(
      urlOf(target),
      async (client) =>
        (
          await client.query('SELECT id, name, pg_get_userbyid(relowner) AS owner FROM items, pg_class WHERE relname = $1 ORDER BY id', [
            'items',
          ])
        ).rows,
    );
    expect(rows).toEqual([
      { id: 1, name: 'one', owner },
      { id: 2, name: 'two', owner },
    ]);
    const commands = watch.commands();
    expect(commands.filter((c) => c.source === 'spawn').map((c) => c.argv[0]?.split('/').at(-1))).toEqual(['pg_dump', 'pg_restore']);
    const password = decodeURIComponent(new URL(adminUrl).password);
    expect(commandsLeaking(commands, new Map([[password, new Set(['admin password'])]]))).toEqual([]);
  });

  it('reports a failed dump with the tool’s own message and no password, and leaves no database behind', async () => {
    const target = `t_fail_${suffix}`;
    created.push(target);
    const wrongUrl = new URL(adminUrl);
    wrongUrl.password = `wrong-password-${suffix}`;
    const failure = await copy(target, wrongUrl.toString()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CommandError);
    const message = (failure as CommandError).message;
    expect(message).toMatch(/pg_dump.*password authentication failed/s);
    expect(message).not.toContain(`wrong-password-${suffix}`);
    expect(await databaseNamed(target)).toBe(false);
    expect(await databaseNamed(`${target}_restoring`)).toBe(false);
    expect(await databaseNamed(`scratch_${target}`)).toBe(false);
  });
});
