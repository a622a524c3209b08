import { type Kysely, sql } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('database_servers')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('shared', 'dedicated')`))
    .addColumn('admin_url_encrypted', 'text', (c) => c.notNull())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('port', 'integer', (c) => c.notNull())
    .addColumn('capacity', 'integer', (c) => c.notNull().defaultTo(50))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active').check(sql`status IN ('active', 'draining', 'disabled')`))
    .addColumn('is_default', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('managed_directory', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('templates')
    .addColumn('code', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('modules', 'jsonb', (c) => c.notNull())
    .addColumn('sort_order', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('template_builds')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('template_code', 'text', (c) => c.notNull().references('templates.code').onDelete('cascade'))
    .addColumn('server_id', 'uuid', (c) => c.notNull().references('database_servers.id').onDelete('cascade'))
    .addColumn('database_name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status IN ('building', 'ready', 'failed')`))
    .addColumn('error', 'text')
    .addColumn('odoo_version', 'text')
    .addColumn('job_id', 'text')
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addUniqueConstraint('template_builds_template_server_key', ['template_code', 'server_id'])
    .execute();

  await db.schema
    .createTable('tenants')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id'))
    .addColumn('plan_code', 'text', (c) => c.notNull().references('plans.code'))
    .addColumn('template_code', 'text', (c) => c.notNull().references('templates.code'))
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('state_reason', 'text')
    .addColumn('state_changed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('database_name', 'text', (c) => c.notNull())
    .addColumn('role_name', 'text', (c) => c.notNull())
    .addColumn('role_password_encrypted', 'text', (c) => c.notNull())
    .addColumn('server_id', 'uuid', (c) => c.references('database_servers.id'))
    .addColumn('process_strategy', 'text', (c) => c.notNull())
    .addColumn('admin_email', 'text', (c) => c.notNull())
    .addColumn('admin_login', 'text', (c) => c.notNull())
    .addColumn('pending_admin_password_hash', 'text')
    .addColumn('admin_password_check_encrypted', 'text')
    .addColumn('source_tenant_id', 'uuid')
    .addColumn('provisioning_step', 'text')
    .addColumn('job_id', 'text')
    .addColumn('delete_after', 'timestamptz')
    .addColumn('terminated_at', 'timestamptz')
    .addColumn('deleted_at', 'timestamptz')
    .addColumn('provision_started_at', 'timestamptz')
    .addColumn('provision_finished_at', 'timestamptz')
    .addColumn('created_by', 'uuid')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // A name is taken while its tenant exists in any form but `deleted` (terminated tenants can be reactivated).
  await sql`CREATE UNIQUE INDEX tenants_live_name_key ON tenants (name) WHERE state <> 'deleted'`.execute(db);
  await db.schema.createIndex('tenants_account_idx').on('tenants').column('account_id').execute();
  await db.schema.createIndex('tenants_state_idx').on('tenants').column('state').execute();

  await db.schema
    .createTable('tenant_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('tenant_id', 'uuid', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('from_state', 'text')
    .addColumn('to_state', 'text')
    .addColumn('step', 'text')
    .addColumn('message', 'text')
    .addColumn('actor_user_id', 'uuid')
    .execute();
  await db.schema.createIndex('tenant_events_tenant_idx').on('tenant_events').columns(['tenant_id', 'id']).execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['tenant_events', 'tenants', 'template_builds', 'templates', 'database_servers']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
