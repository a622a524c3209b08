import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../db/index.js';
import type { DomainEventBus } from '../events/index.js';
import type { JobQueue, QueueName } from '../jobs/index.js';
import type { Logger } from '../logging/index.js';
import type { DatabaseServerOperations, DatabaseServerRegistry } from '../postgres/index.js';
import { TEMPLATE_OWNER_ROLE, type TemplateService } from '../templates/index.js';
import { updateTenant } from '../tenants/index.js';

export const SPARE_REFILL_QUEUE = 'spare-refill' satisfies QueueName;

/**
 * Pre-made tenant databases. Copying a template is the slowest step of provisioning
 * (`CREATE DATABASE ... TEMPLATE` copies and fsyncs every page: ~0.65 s for Odoo 16's base on
 * this project's machines), so each shared server keeps a few copies of each ready template,
 * each owned, with every object in it, by a placeholder role (handed over at refill, in the
 * background). Provisioning takes one by renaming it to the tenant's database and renaming the
 * placeholder role to the tenant role (no REASSIGN OWNED, which costs about as much as the copy),
 * and a refill job makes the next copy in the background. Copies of an outdated template build are dropped at refill.
 */
export function createSpareDatabases(deps: {
  db: Db;
  jobs: JobQueue;
  servers: DatabaseServerRegistry;
  templates: TemplateService;
  logger: Logger;
  /** Spares kept per (server, template); 0 disables them. */
  perTemplate: number;
}) {
  const { db, servers, templates, logger } = deps;

  async function dropSpare(ops: DatabaseServerOperations, spare: { id: string; database_name: string; role_name: string }): Promise<void> {
    await ops.dropDatabase(spare.database_name);
    await ops.dropRole(spare.role_name);
    await db.deleteFrom('spare_databases').where('id', '=', spare.id).execute();
  }

  /**
   * One refill per server at a time, across replicas: while this one holds the lock, a spare still
   * `creating` is provably abandoned (its refill died), not one being made next door.
   */
  async function refill(serverId: string): Promise<void> {
    await db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(hashtext(${`spare-refill:${serverId}`}))`.execute(trx);
      await refillLocked(serverId);
    });
  }

  async function refillLocked(serverId: string): Promise<void> {
    const server = await servers.get(serverId).catch(() => undefined);
    if (!server) return;
    const ops = await servers.operations(serverId);
    const readyTemplates = new Map<string, string>();
    for (const template of await templates.list()) {
      if (server.kind !== 'shared' || server.status !== 'active') break;
      if ((await templates.readyServers(template.code)).includes(serverId)) {
        readyTemplates.set(await templates.readyDatabase(template.code, serverId), template.code);
      }
    }
    const spares = await db.selectFrom('spare_databases').selectAll().where('server_id', '=', serverId).execute();
    for (const spare of spares) {
      if (spare.status === 'creating' || !readyTemplates.has(spare.template_database)) await dropSpare(ops, spare);
    }
    for (const templateDatabase of readyTemplates.keys()) {
      const count = await db
        .selectFrom('spare_databases')
        .select(sql<number>`count(*)::int`.as('n'))
        .where('server_id', '=', serverId)
        .where('template_database', '=', templateDatabase)
        .executeTakeFirstOrThrow();
      for (let i = count.n; i < deps.perTemplate; i++) {
        const name = `spare_${randomBytes(6).toString('hex')}`;
        // Recorded first, so a crash mid-way leaves a row (`creating`) that the next refill removes.
        const row = await db
          .insertInto('spare_databases')
          .values({ server_id: serverId, template_database: templateDatabase, database_name: name, role_name: name, status: 'creating' })
          .returningAll()
          .executeTakeFirstOrThrow();
        await ops.ensureRole(name, randomBytes(24).toString('base64url'));
        await ops.cloneDatabase({ template: templateDatabase, name, owner: name, objectsOwner: TEMPLATE_OWNER_ROLE });
        await ops.restrictDatabase(name, name, 0);
        await db.updateTable('spare_databases').set({ status: 'ready' }).where('id', '=', row.id).execute();
        logger.debug({ serverId, templateDatabase, spare: name }, 'spare database ready');
      }
    }
  }

  /** Queues a refill of a server's spares. */
  async function requestRefill(serverId: string): Promise<void> {
    if (deps.perTemplate <= 0) return;
    await deps.jobs.send(SPARE_REFILL_QUEUE, { serverId });
  }

  return {
    async registerJobs(work: boolean): Promise<void> {
      await deps.jobs.define(SPARE_REFILL_QUEUE, async ({ serverId }) => refill(serverId), work);
    },

    requestRefill,

    /**
     * A new template build replaces the spares of the old one: refill that server when a build
     * becomes ready. Durable, so one replica queues it, also for a build that finished while this
     * one was down.
     */
    async followTemplateBuilds(events: Pick<DomainEventBus, 'subscribeDurable'>): Promise<void> {
      await events.subscribeDurable('spares-refill-on-template-build', async (event) => {
        if (event.type === 'template.build_ready') await requestRefill(event.payload.databaseServerId);
      });
    },

    /**
     * Takes a ready spare of this template for the tenant and records which one, so a retried
     * step after a crash finishes the same spare. Returns its name, or undefined when none is left.
     */
    async claim(input: { tenantId: string; serverId: string; templateDatabase: string }): Promise<string | undefined> {
      if (deps.perTemplate <= 0) return undefined;
      return db.transaction().execute(async (trx) => {
        const spare = await trx
          .selectFrom('spare_databases')
          .selectAll()
          .where('server_id', '=', input.serverId)
          .where('template_database', '=', input.templateDatabase)
          .where('status', '=', 'ready')
          .forUpdate()
          .skipLocked()
          .limit(1)
          .executeTakeFirst();
        if (!spare) return undefined;
        await trx.deleteFrom('spare_databases').where('id', '=', spare.id).execute();
        await updateTenant(input.tenantId, { spare_database: spare.database_name }, trx);
        return spare.database_name;
      });
    },

    /**
     * Turns a claimed spare into the tenant's database: rename, then the spare's role (owner of the
     * database and of every object in it) becomes the tenant role by renaming it (replaceRole), so
     * claiming costs no REASSIGN OWNED; `restoreRole` then sets the tenant role's password and
     * limits again. When the tenant role has something already, its objects are handed over and the
     * placeholder role dropped instead. Idempotent: each part checks what is done; the role swap is
     * one transaction.
     */
    async adopt(
      ops: DatabaseServerOperations,
      input: { spare: string; database: string; role: string; restoreRole: () => Promise<void> },
      afterRename?: () => void,
    ): Promise<'renamed role' | 'reassigned' | 'done before'> {
      if (!(await ops.databaseExists(input.database))) {
        if (!(await ops.databaseExists(input.spare))) throw new Error(`The spare database ${input.spare} disappeared.`);
        await ops.renameDatabase(input.spare, input.database);
        afterRename?.();
      }
      if (!(await ops.roleExists(input.spare))) return 'done before';
      if (await ops.replaceRole(input.spare, input.role)) {
        await input.restoreRole();
        return 'renamed role';
      }
      await ops.reassignOwned(input.database, input.spare, input.role);
      await ops.dropRole(input.spare);
      return 'reassigned';
    },

    /** Drops every spare of a server (before the server is forgotten). */
    async dropAll(serverId: string): Promise<void> {
      const ops = await servers.operations(serverId);
      for (const spare of await db.selectFrom('spare_databases').selectAll().where('server_id', '=', serverId).execute())
        await dropSpare(ops, spare);
    },

    refill,
  };
}

export type SpareDatabases = ReturnType<typeof createSpareDatabases>;
