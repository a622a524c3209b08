import { type Kysely, sql } from 'kysely';

/**
 * Refunds of paid invoices and the credit notes they issue (billing/providers/builtin). A refund
 * is requested (`requested`, its `billing-refund` job queued in the same transaction), sent to
 * the gateway under its own id as idempotency key, then `issued` with its credit note number, or
 * `failed` with the gateway's reason. Numbers (`CN-<year>-<sequence>`) are taken from the
 * per-year counter only in the transaction that issues, so a failed refund leaves no gap.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('billing_credit_note_counters')
    .addColumn('year', 'integer', (c) => c.primaryKey())
    .addColumn('last_number', 'integer', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('billing_refunds')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('invoice_id', 'uuid', (c) => c.notNull().references('billing_invoices.id').onDelete('restrict'))
    .addColumn('account_id', 'uuid', (c) => c.notNull())
    .addColumn('payment_id', 'uuid', (c) => c.notNull().references('billing_payments.id').onDelete('restrict'))
    .addColumn('gateway', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('requested', 'issued', 'failed')`))
    .addColumn('amount_minor', 'bigint', (c) => c.notNull().check(sql`amount_minor > 0`))
    .addColumn('tax_minor', 'bigint', (c) => c.notNull().check(sql`tax_minor >= 0`))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('requested_by', 'text')
    .addColumn('requested_at', 'timestamptz', (c) => c.notNull())
    .addColumn('gateway_reference', 'text')
    .addColumn('failure_reason', 'text')
    .addColumn('number', 'text', (c) => c.unique())
    .addColumn('year', 'integer')
    .addColumn('sequence', 'integer')
    .addColumn('issued_at', 'timestamptz')
    .addUniqueConstraint('billing_refunds_year_sequence', ['year', 'sequence'])
    .addCheckConstraint('billing_refunds_issued_numbered', sql`(status = 'issued') = (number is not null)`)
    .execute();
  await db.schema.createIndex('billing_refunds_invoice').on('billing_refunds').column('invoice_id').execute();
  await db.schema.createIndex('billing_refunds_account').on('billing_refunds').columns(['account_id', 'requested_at']).execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('billing_refunds').ifExists().execute();
  await db.schema.dropTable('billing_credit_note_counters').ifExists().execute();
}
