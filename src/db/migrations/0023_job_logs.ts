import { type Kysely, sql } from 'kysely';

/**
 * The platform log records of each job (owned by jobs/logs.ts): what the platform logged at info
 * and above while running an attempt, plus the attempt's start and end. Kept 14 days.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('job_logs')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('job_id', 'uuid', (c) => c.notNull())
    .addColumn('queue', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('level', 'text', (c) => c.notNull().check(sql`level IN ('info', 'warn', 'error', 'fatal')`))
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('fields', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  await db.schema.createIndex('job_logs_job').on('job_logs').columns(['job_id', 'id']).execute();
  await db.schema.createIndex('job_logs_at').on('job_logs').column('at').execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('job_logs').execute();
}
