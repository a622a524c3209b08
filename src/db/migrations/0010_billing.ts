import { type Kysely, sql } from 'kysely';

/**
 * Billing (billing/): subscriptions (the engine's state, one row each), invoices with gapless
 * numbers per year, their lines, payments reported by gateways, and the per-year counters that
 * hand out invoice numbers. Amounts are integer minor units (bigint) next to their currency.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema of their time
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('billing_subscriptions')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('restrict'))
    .addColumn('tenant_id', 'uuid', (c) => c.references('tenants.id').onDelete('set null'))
    .addColumn('state', 'text', (c) =>
      c.notNull().check(sql`state IN ('pending_payment', 'trialing', 'active', 'past_due', 'suspended', 'cancelled', 'expired')`),
    )
    .addColumn('plan_code', 'text', (c) => c.notNull().references('plans.code'))
    .addColumn('price', 'jsonb', (c) => c.notNull())
    .addColumn('scheduled_change', 'jsonb')
    .addColumn('trial_ends_at', 'timestamptz')
    .addColumn('trial_reminder_sent', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('had_trial', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('anchor', 'timestamptz')
    .addColumn('period_number', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('cancel_at_period_end', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('unpaid_invoices', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('dunning_started_at', 'timestamptz')
    .addColumn('dunning_retries', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('ended_at', 'timestamptz')
    .addColumn('next_timer_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('state_changed_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('billing_subscriptions_account').on('billing_subscriptions').column('account_id').execute();
  await db.schema.createIndex('billing_subscriptions_due').on('billing_subscriptions').column('next_timer_at').execute();
  // One subscription bills a tenant; an ended one may be followed by a new one.
  await db.schema
    .createIndex('billing_subscriptions_live_tenant')
    .on('billing_subscriptions')
    .column('tenant_id')
    .unique()
    .where(sql.ref('state'), 'not in', ['cancelled', 'expired'])
    .execute();

  await db.schema
    .createTable('billing_invoice_counters')
    .addColumn('year', 'integer', (c) => c.primaryKey())
    .addColumn('last_number', 'integer', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('billing_invoices')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('key', 'text', (c) => c.notNull().unique())
    .addColumn('number', 'text', (c) => c.notNull().unique())
    .addColumn('year', 'integer', (c) => c.notNull())
    .addColumn('sequence', 'integer', (c) => c.notNull())
    .addColumn('subscription_id', 'uuid', (c) => c.notNull().references('billing_subscriptions.id').onDelete('restrict'))
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('restrict'))
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status IN ('open', 'paid', 'void')`))
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('tax_rate_basis_points', 'integer', (c) => c.notNull())
    .addColumn('subtotal_minor', 'bigint', (c) => c.notNull())
    .addColumn('tax_minor', 'bigint', (c) => c.notNull())
    .addColumn('total_minor', 'bigint', (c) => c.notNull())
    .addColumn('issued_at', 'timestamptz', (c) => c.notNull())
    .addColumn('paid_at', 'timestamptz')
    .addColumn('voided_at', 'timestamptz')
    .addUniqueConstraint('billing_invoices_year_sequence', ['year', 'sequence'])
    .execute();
  await db.schema.createIndex('billing_invoices_account').on('billing_invoices').columns(['account_id', 'issued_at']).execute();

  await db.schema
    .createTable('billing_invoice_lines')
    .addColumn('invoice_id', 'uuid', (c) => c.notNull().references('billing_invoices.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('plan_code', 'text', (c) => c.notNull())
    .addColumn('period_start', 'timestamptz', (c) => c.notNull())
    .addColumn('period_end', 'timestamptz', (c) => c.notNull())
    .addColumn('amount_minor', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('billing_invoice_lines_pk', ['invoice_id', 'position'])
    .execute();

  await db.schema
    .createTable('billing_payments')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('invoice_id', 'uuid', (c) => c.notNull().references('billing_invoices.id').onDelete('restrict'))
    .addColumn('gateway', 'text', (c) => c.notNull())
    .addColumn('reference', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status IN ('succeeded', 'failed')`))
    .addColumn('amount_minor', 'bigint', (c) => c.notNull())
    .addColumn('currency', 'text', (c) => c.notNull())
    .addColumn('failure_reason', 'text')
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull())
    // A gateway reports each of its payments once here, however often it tells us.
    .addUniqueConstraint('billing_payments_gateway_reference', ['gateway', 'reference'])
    .execute();
  await db.schema.createIndex('billing_payments_invoice').on('billing_payments').column('invoice_id').execute();
}

// biome-ignore lint/suspicious/noExplicitAny: see up()
export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'billing_payments',
    'billing_invoice_lines',
    'billing_invoices',
    'billing_invoice_counters',
    'billing_subscriptions',
  ])
    await db.schema.dropTable(table).ifExists().execute();
}
