import { type Kysely, sql } from 'kysely';

/**
 * `migrations` (owned by migration/store.ts): one row per move of a tenant to another database
 * server and/or process strategy (an operator's move, a server drain, a plan change). The row is
 * the journal of the migration job (`step`, the last step finished), where the tenant was and
 * where it goes (so a rollback knows the way back), its measured downtime, and when the source
 * database kept for the grace period is dropped.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('migrations')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id'))
    .addColumn('trigger', 'text', (c) => c.notNull().check(sql`trigger IN ('operator', 'drain', 'plan_change')`))
    .addColumn('state', 'text', (c) =>
      c.notNull().defaultTo('running').check(sql`state IN ('running', 'succeeded', 'rolled_back', 'failed')`),
    )
    .addColumn('step', 'text')
    .addColumn('previous_state', 'text', (c) => c.notNull())
    .addColumn('source_server_id', 'uuid', (c) => c.notNull())
    .addColumn('source_process_strategy', 'text', (c) => c.notNull())
    .addColumn('source_plan', 'text', (c) => c.notNull())
    .addColumn('target_server_id', 'uuid')
    .addColumn('target_database_strategy', 'text', (c) => c.notNull().check(sql`target_database_strategy IN ('shared', 'dedicated')`))
    .addColumn('target_process_strategy', 'text', (c) => c.notNull().check(sql`target_process_strategy IN ('pool', 'dedicated')`))
    .addColumn('target_plan', 'text', (c) => c.notNull())
    .addColumn('backup_id', 'uuid')
    // The admin's password hash while the verification logs in with a temporary one (encrypted).
    .addColumn('admin_hash_encrypted', 'text')
    .addColumn('estimated_downtime_ms', 'integer')
    .addColumn('maintenance_started_at', 'timestamptz')
    .addColumn('maintenance_ended_at', 'timestamptz')
    .addColumn('downtime_ms', 'integer')
    .addColumn('switched_at', 'timestamptz')
    .addColumn('source_drop_after', 'timestamptz')
    .addColumn('source_dropped_at', 'timestamptz')
    .addColumn('failure_reason', 'text')
    .addColumn('created_by', 'uuid')
    .addColumn('job_id', 'text')
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('migrations_tenant_started').on('migrations').columns(['tenant_id', 'started_at']).execute();
  // A tenant moves by one migration at a time.
  await db.schema
    .createIndex('migrations_one_running')
    .on('migrations')
    .column('tenant_id')
    .unique()
    .where(sql.ref('state'), '=', 'running')
    .execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('migrations').ifExists().execute();
}
