import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json<T> = ColumnType<T, string, string>;

export type Role = 'customer' | 'operator';

export interface AccountsTable {
  id: Generated<string>;
  name: string;
  created_at: Generated<Date>;
}

export interface UsersTable {
  id: Generated<string>;
  account_id: string | null;
  email: string;
  name: string;
  password_hash: string;
  role: Role;
  email_verified_at: NullableTimestamp;
  disabled_at: NullableTimestamp;
  created_at: Generated<Date>;
  password_changed_at: Generated<Date>;
}

export interface RefreshTokensTable {
  id: Generated<string>;
  user_id: string;
  family_id: string;
  token_hash: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

export interface SessionsTable {
  id: Generated<string>;
  user_id: string;
  token_hash: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  revoked_at: NullableTimestamp;
}

export interface ApiKeysTable {
  id: Generated<string>;
  user_id: string;
  name: string;
  prefix: string;
  key_hash: string;
  created_at: Generated<Date>;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

export type OneTimeTokenPurpose = 'password_reset' | 'email_verification';

export interface OneTimeTokensTable {
  id: Generated<string>;
  user_id: string;
  purpose: OneTimeTokenPurpose;
  token_hash: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
}

export interface RateLimitHitsTable {
  id: Generated<string>;
  bucket: string;
  hit_at: Generated<Date>;
}

export interface PlansTable {
  code: string;
  name: string;
  description: string;
  // JSON documents whose shape plans/ declares (its catalog schemas parse them when read), so
  // db/ does not depend on plans/ and the shape is written once.
  limits: Json<unknown>;
  placement: Json<unknown>;
  prices: Json<unknown>;
  trial_days: number;
  sort_order: number;
  archived_at: NullableTimestamp;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface AuditLogTable {
  id: Generated<string>;
  at: Generated<Date>;
  actor_type: 'user' | 'api_key' | 'anonymous' | 'system';
  actor_user_id: string | null;
  actor_label: string | null;
  account_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  outcome: 'success' | 'failure';
  status_code: number | null;
  request_id: string | null;
  ip: string | null;
  details: Json<Record<string, unknown>> | null;
}

export interface Database {
  accounts: AccountsTable;
  users: UsersTable;
  refresh_tokens: RefreshTokensTable;
  sessions: SessionsTable;
  api_keys: ApiKeysTable;
  one_time_tokens: OneTimeTokensTable;
  rate_limit_hits: RateLimitHitsTable;
  plans: PlansTable;
  audit_log: AuditLogTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type PlanRow = Selectable<PlansTable>;
export type AuditRow = Selectable<AuditLogTable>;

export interface DatabaseServersTable {
  id: Generated<string>;
  name: string;
  kind: 'shared' | 'dedicated';
  admin_url_encrypted: string;
  host: string;
  port: number;
  capacity: Generated<number>;
  status: Generated<'active' | 'draining' | 'disabled'>;
  is_default: Generated<boolean>;
  managed_directory: string | null;
  created_at: Generated<Date>;
  /** Set while a dedicated server is stopped by hibernation (postgres/server-sleep.ts). */
  hibernated_at: Generated<Date | null>;
}

export interface TemplatesTable {
  code: string;
  name: string;
  description: string;
  modules: Json<string[]>;
  sort_order: number;
  /** The Odoo series it is built with; null: the series the platform runs. */
  series: string | null;
  created_at: Generated<Date>;
}

export type TemplateBuildStatus = 'building' | 'ready' | 'failed';

export interface TemplateBuildsTable {
  id: Generated<string>;
  template_code: string;
  server_id: string;
  database_name: string;
  status: TemplateBuildStatus;
  error: string | null;
  odoo_version: string | null;
  job_id: string | null;
  started_at: Generated<Date>;
  finished_at: NullableTimestamp;
}

export interface TenantsTable {
  id: Generated<string>;
  name: string;
  account_id: string;
  plan_code: string;
  template_code: string;
  state: string;
  state_reason: string | null;
  state_changed_at: Generated<Date>;
  database_name: string;
  role_name: string;
  role_password_encrypted: string;
  server_id: string | null;
  process_strategy: 'pool' | 'dedicated';
  /** What runs the tenant's Odoo, chosen at placement from the plan (plans' RUNTIME_KINDS). */
  runtime: Generated<'process' | 'docker' | 'kubernetes'>;
  admin_email: string;
  admin_login: string;
  pending_admin_password_hash: string | null;
  admin_password_check_encrypted: string | null;
  source_tenant_id: string | null;
  /** The restore that fills this tenant from an archive (restore into a new tenant, import). */
  restore_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** The Odoo series the tenant runs (its template's, set at creation); null: the platform's default series. */
  odoo_series: ColumnType<string | null, string | null | undefined, string | null>;
  provisioning_step: string | null;
  job_id: string | null;
  delete_after: NullableTimestamp;
  terminated_at: NullableTimestamp;
  deleted_at: NullableTimestamp;
  provision_started_at: NullableTimestamp;
  provision_finished_at: NullableTimestamp;
  created_by: string | null;
  /** The pre-made database this tenant took (provisioning resumes the rename after a crash). */
  spare_database: Generated<string | null>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface SpareDatabasesTable {
  id: Generated<string>;
  server_id: string;
  template_database: string;
  database_name: string;
  role_name: string;
  status: 'creating' | 'ready';
  created_at: Generated<Date>;
}

export interface TenantEventsTable {
  id: Generated<string>;
  tenant_id: string;
  at: Generated<Date>;
  type: 'state' | 'step' | 'info' | 'error';
  from_state: string | null;
  to_state: string | null;
  step: string | null;
  message: string | null;
  actor_user_id: string | null;
}

export interface Database {
  database_servers: DatabaseServersTable;
  templates: TemplatesTable;
  template_builds: TemplateBuildsTable;
  tenants: TenantsTable;
  tenant_events: TenantEventsTable;
  spare_databases: SpareDatabasesTable;
}

export type DatabaseServerRow = Selectable<DatabaseServersTable>;
export type TemplateBuildRow = Selectable<TemplateBuildsTable>;
export type TenantRow = Selectable<TenantsTable>;
export type TenantEventRow = Selectable<TenantEventsTable>;

/** The domain event outbox (events/): written with each change, delivered after commit. */
export interface DomainEventsTable {
  id: Generated<string>;
  type: string;
  /** Events of one stream (e.g. `tenant:<id>`) are delivered in the order they were written. */
  stream: string;
  payload: Json<Record<string, unknown>>;
  occurred_at: Generated<Date>;
}

/** How far each durable subscriber has got (replica-local subscribers keep theirs in memory). */
export interface DomainEventCursorsTable {
  subscriber: string;
  last_event_id: string;
  updated_at: Generated<Date>;
}

export interface Database {
  domain_events: DomainEventsTable;
  domain_event_cursors: DomainEventCursorsTable;
}

/** Where each served tenant's Odoo answers (runtimes/upstream-store.ts is its only reader and writer). */
export interface TenantUpstreamsTable {
  tenant_id: string;
  runtime: string;
  host: string;
  port: number;
  websocket_port: number | null;
  recorded_at: Generated<Date>;
}

export interface Database {
  tenant_upstreams: TenantUpstreamsTable;
}

export interface UserIdentitiesTable {
  id: Generated<string>;
  user_id: string;
  issuer: string;
  subject: string;
  email: string | null;
  created_at: Generated<Date>;
  last_used_at: NullableTimestamp;
}

export interface TotpEnrolmentsTable {
  user_id: string;
  secret_encrypted: string;
  created_at: Generated<Date>;
  confirmed_at: NullableTimestamp;
  last_used_step: ColumnType<number, number | undefined, number>;
}

export interface RecoveryCodesTable {
  id: Generated<string>;
  user_id: string;
  code_hash: string;
  created_at: Generated<Date>;
  used_at: NullableTimestamp;
}

export interface LoginChallengesTable {
  id: Generated<string>;
  user_id: string;
  token_hash: string;
  kind: 'verify' | 'enrol';
  /** How the first factor was given: `password` or `oidc:<issuer>` (the audit log says so). */
  method: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
}

export interface Database {
  user_identities: UserIdentitiesTable;
  totp_enrolments: TotpEnrolmentsTable;
  recovery_codes: RecoveryCodesTable;
  login_challenges: LoginChallengesTable;
}
export type BackupTrigger = 'schedule' | 'on_demand' | 'before_restore' | 'before_plan_change' | 'before_migration' | 'before_delete';
export type BackupState = 'running' | 'verified' | 'failed';
type Bigint = ColumnType<number | null, number | null | undefined, number | null>;

/** One archive made or being made (backups/store.ts is its only reader and writer). */
export interface BackupsTable {
  id: Generated<string>;
  tenant_id: string;
  tenant_name: string;
  trigger: BackupTrigger;
  state: Generated<BackupState>;
  failure_reason: string | null;
  scheduled_for: NullableTimestamp;
  database_name: string;
  odoo_version: string | null;
  pg_version: string | null;
  storage_kind: 'local' | 's3';
  storage_key: string;
  storage_location: string;
  archive_bytes: Bigint;
  dump_bytes: Bigint;
  filestore_bytes: Bigint;
  filestore_files: number | null;
  sha256: string | null;
  record_counts: ColumnType<Record<string, number> | null, string | null | undefined, string | null>;
  duration_ms: number | null;
  keep_until: NullableTimestamp;
  created_by: string | null;
  job_id: string | null;
  started_at: Generated<Date>;
  finished_at: NullableTimestamp;
  verified_at: NullableTimestamp;
  test_restore_state: 'passed' | 'failed' | null;
  test_restore_reason: string | null;
  test_restored_at: NullableTimestamp;
}

export interface Database {
  backups: BackupsTable;
}

export type BackupRow = Selectable<BackupsTable>;

export type RestoreKind = 'in_place' | 'new_tenant' | 'import';
export type RestoreState = 'running' | 'succeeded' | 'failed';

/** One restore of a backup or import of an uploaded zip (restores/store.ts is its only reader and writer). */
export interface RestoresTable {
  id: Generated<string>;
  tenant_id: string;
  kind: RestoreKind;
  backup_id: string | null;
  state: Generated<RestoreState>;
  /** The last step finished (the restore job's journal). */
  step: string | null;
  /** The tenant's state before an in-place restore (it returns there). */
  previous_state: string | null;
  safety_backup_id: string | null;
  failure_reason: string | null;
  /** What the restored database must hold (from the backup's record, or the imported dump once loaded). */
  record_counts: ColumnType<Record<string, number> | null, string | null | undefined, string | null>;
  filestore_files: number | null;
  created_by: string | null;
  job_id: string | null;
  started_at: Generated<Date>;
  swapped_at: NullableTimestamp;
  finished_at: NullableTimestamp;
}

export interface Database {
  restores: RestoresTable;
}

export type RestoreRow = Selectable<RestoresTable>;

export type MigrationState = 'running' | 'succeeded' | 'rolled_back' | 'failed';
export type MigrationTrigger = 'operator' | 'drain' | 'plan_change';

/** Moves of tenants between database servers and process strategies (migration/store.ts is the only writer). */
export interface MigrationsTable {
  id: Generated<string>;
  tenant_id: string;
  trigger: MigrationTrigger;
  state: Generated<MigrationState>;
  /** The last step finished (the migration job's journal). */
  step: string | null;
  /** The tenant's state before the migration (it returns there). */
  previous_state: string;
  source_server_id: string;
  source_process_strategy: 'pool' | 'dedicated';
  source_plan: string;
  /** Chosen by the `target` step when the request named none (a new dedicated server, the least-loaded shared one). */
  target_server_id: string | null;
  target_database_strategy: 'shared' | 'dedicated';
  target_process_strategy: 'pool' | 'dedicated';
  target_plan: string;
  backup_id: string | null;
  /** The admin's password hash, kept (encrypted) while the verification logs in with a temporary one. */
  admin_hash_encrypted: string | null;
  estimated_downtime_ms: number | null;
  maintenance_started_at: NullableTimestamp;
  maintenance_ended_at: NullableTimestamp;
  /** How long the tenant's route answered the maintenance page. */
  downtime_ms: number | null;
  switched_at: NullableTimestamp;
  source_drop_after: NullableTimestamp;
  source_dropped_at: NullableTimestamp;
  failure_reason: string | null;
  created_by: string | null;
  job_id: string | null;
  started_at: Generated<Date>;
  finished_at: NullableTimestamp;
}

export interface Database {
  migrations: MigrationsTable;
}

export type MigrationRow = Selectable<MigrationsTable>;
/** Billing (billing/providers/builtin/store.ts is the only writer of these tables). */
export interface BillingSubscriptionsTable {
  id: Generated<string>;
  account_id: string;
  tenant_id: string | null;
  state: 'pending_payment' | 'trialing' | 'active' | 'past_due' | 'suspended' | 'cancelled' | 'expired';
  plan_code: string;
  price: Json<Record<string, unknown>>;
  scheduled_change: Json<Record<string, unknown>> | null;
  plan_awaiting_payment: Generated<string | null>;
  usage_from: Generated<Date | null>;
  trial_ends_at: Date | null;
  trial_reminder_sent: Generated<boolean>;
  had_trial: Generated<boolean>;
  anchor: Date | null;
  period_number: Generated<number>;
  cancel_at_period_end: Generated<boolean>;
  unpaid_invoices: Generated<string[]>;
  dunning_started_at: Date | null;
  dunning_retries: Generated<number>;
  ended_at: Date | null;
  next_timer_at: Date | null;
  created_at: Date;
  state_changed_at: Date;
  updated_at: Generated<Date>;
}

export interface BillingInvoiceCountersTable {
  year: number;
  last_number: number;
}

export interface BillingInvoicesTable {
  id: Generated<string>;
  key: string;
  number: string;
  year: number;
  sequence: number;
  subscription_id: string;
  account_id: string;
  reason: string;
  status: 'open' | 'paid' | 'void';
  currency: string;
  tax_rate_basis_points: number;
  subtotal_minor: number;
  tax_minor: number;
  total_minor: number;
  issued_at: Date;
  paid_at: Date | null;
  voided_at: Date | null;
}

export interface BillingInvoiceLinesTable {
  invoice_id: string;
  position: number;
  description: string;
  plan_code: string;
  period_start: Date;
  period_end: Date;
  amount_minor: number;
}

export interface BillingPaymentsTable {
  id: Generated<string>;
  invoice_id: string;
  gateway: string;
  reference: string;
  status: 'succeeded' | 'failed';
  amount_minor: number;
  currency: string;
  failure_reason: string | null;
  recorded_at: Date;
}

/** A gateway's webhook event, once per (gateway, event id). */
export interface BillingGatewayEventsTable {
  gateway: string;
  event_id: string;
  type: string;
  payload: Json<Record<string, unknown>>;
  received_at: Generated<Date>;
  processed_at: Date | null;
  outcome: string | null;
}

export interface BillingCreditNoteCountersTable {
  year: number;
  last_number: number;
}

/** A refund of a paid invoice; once `issued`, it is a credit note numbered CN-<year>-<sequence>. */
export interface BillingRefundsTable {
  id: Generated<string>;
  invoice_id: string;
  account_id: string;
  payment_id: string;
  gateway: string;
  status: 'requested' | 'issued' | 'failed';
  amount_minor: number;
  tax_minor: number;
  currency: string;
  reason: string;
  requested_by: string | null;
  requested_at: Date;
  gateway_reference: string | null;
  failure_reason: string | null;
  number: string | null;
  year: number | null;
  sequence: number | null;
  issued_at: Date | null;
}

/** A saved payment method for renewals (one per account and gateway). */
export interface BillingPaymentMethodsTable {
  account_id: string;
  gateway: string;
  /** Stripe's customer id (its default payment method is charged). */
  customer_ref: string | null;
  /** Paystack's reusable authorization code, sealed with the secret box. */
  authorization_sealed: string | null;
  email: string | null;
  label: string | null;
  saved_at: Date;
}

/** Our plan prices as Paystack plans, with the code Paystack gave each (billing/paystack-plans-sync.ts). */
export interface BillingPaystackPlansTable {
  plan: string;
  interval: string;
  paystack_code: string;
  amount_minor: ColumnType<string, number | string, number | string>;
  currency: string;
  synced_at: Date;
}

/** The billable usage of each closed billing period (billing/providers/builtin/store.ts). */
export interface BillingUsageTable {
  subscription_id: string;
  period_start: Date;
  period_end: Date;
  plan_code: string;
  interval: 'month' | 'year';
  odoo_users_peak: number | null;
  odoo_users_peak_day: Date | null;
  odoo_users_days: number;
  storage_gib_peak: number | null;
  storage_gib_peak_day: Date | null;
  storage_gib_days: number;
  charged_minor: number;
  currency: string;
  recorded_at: Generated<Date>;
}

export interface Database {
  billing_usage: BillingUsageTable;
  billing_payment_methods: BillingPaymentMethodsTable;
  billing_paystack_plans: BillingPaystackPlansTable;
  billing_credit_note_counters: BillingCreditNoteCountersTable;
  billing_refunds: BillingRefundsTable;
  billing_gateway_events: BillingGatewayEventsTable;
  billing_subscriptions: BillingSubscriptionsTable;
  billing_invoice_counters: BillingInvoiceCountersTable;
  billing_invoices: BillingInvoicesTable;
  billing_invoice_lines: BillingInvoiceLinesTable;
  billing_payments: BillingPaymentsTable;
}

export type BillingSubscriptionRow = Selectable<BillingSubscriptionsTable>;
export type BillingInvoiceRow = Selectable<BillingInvoicesTable>;
export type BillingInvoiceLineRow = Selectable<BillingInvoiceLinesTable>;
export type BillingPaymentRow = Selectable<BillingPaymentsTable>;
export type BillingRefundRow = Selectable<BillingRefundsTable>;
export type BillingUsageRow = Selectable<BillingUsageTable>;
/** Custom domains of tenants (domains/store.ts is its only reader and writer). */
export interface CustomDomainsTable {
  id: Generated<string>;
  tenant_id: string;
  /** Lower-case ASCII (IDN in punycode), without a trailing dot. */
  domain: string;
  /** The value of the TXT record `_odoo-saas-verify.<domain>` that proves control of the domain. */
  token: string;
  /** `pending` (not routed), `verified` (routed), `failing` (routed, no longer pointing here, within the grace period). */
  status: string;
  is_primary: Generated<boolean>;
  verified_at: Date | null;
  last_checked_at: Date | null;
  failing_since: Date | null;
  last_check_error: string | null;
  /** The certificate the TLS edge presents for the domain (see domains/certificate.ts), when last checked. */
  certificate_valid_from: Date | null;
  certificate_expires_at: Date | null;
  certificate_issuer: string | null;
  certificate_checked_at: Date | null;
  /** Why the last certificate check found none, or found one clients would refuse. */
  certificate_error: string | null;
  created_at: Generated<Date>;
}

export type CustomDomainRow = Selectable<CustomDomainsTable>;

/** Hibernation of idle dedicated tenants (hibernation/store.ts is its only reader and writer). */
export interface TenantHibernationTable {
  tenant_id: string;
  /** The newest HTTP request through any replica's gateway (websockets and long polling do not count). */
  last_request_at: NullableTimestamp;
  /** Set while the tenant's Odoo is stopped for idleness (its lifecycle state stays `running`). */
  hibernated_at: NullableTimestamp;
  /** When a hibernated tenant is woken to run its crons (its earliest `ir_cron.nextcall`). */
  cron_wake_at: NullableTimestamp;
  last_woken_at: NullableTimestamp;
  last_wake_ms: number | null;
  last_wake_reason: 'request' | 'cron' | null;
  last_wake_error: string | null;
}

export type TenantHibernationRow = Selectable<TenantHibernationTable>;

export interface Database {
  tenant_hibernation: TenantHibernationTable;
}

export interface Database {
  custom_domains: CustomDomainsTable;
}

/** Mails decided and sent (notifications/store.ts is its only reader and writer). */
export interface NotificationLogTable {
  id: Generated<string>;
  idempotency_key: string;
  account_id: string | null;
  recipient: string;
  template: string;
  variables: Json<Record<string, string>>;
  subject: string;
  status: Generated<'pending' | 'sent' | 'failed'>;
  message_id: string;
  attempts: Generated<number>;
  last_error: string | null;
  resend_of: string | null;
  created_at: Generated<Date>;
  sent_at: NullableTimestamp;
}

/** Registered webhook receivers (webhooks/store.ts is its only reader and writer). */
export interface WebhookEndpointsTable {
  id: Generated<string>;
  account_id: string | null;
  url: string;
  description: Generated<string>;
  event_types: string[];
  secret_encrypted: string;
  enabled: Generated<boolean>;
  disabled_reason: string | null;
  consecutive_failures: Generated<number>;
  created_by: string | null;
  created_at: Generated<Date>;
}

/** One event sent (or being sent) to one endpoint (webhooks/store.ts). */
export interface WebhookDeliveriesTable {
  id: Generated<string>;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  body: string;
  status: Generated<'pending' | 'succeeded' | 'failed'>;
  attempts: Generated<number>;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: NullableTimestamp;
  redelivery_of: string | null;
  created_at: Generated<Date>;
  finished_at: NullableTimestamp;
}

export interface Database {
  notification_log: NotificationLogTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
}

/** Odoo installations by series (odoo-installs/store.ts). */
export interface OdooInstallationsTable {
  series: string;
  status: 'installing' | 'ready' | 'failed';
  /** The last installer step finished (the job's journal); null before the first. */
  step: string | null;
  /** What the running step is doing, in words (bytes downloaded, pip's last line). */
  step_detail: string | null;
  source_url: string;
  expected_sha256: string | null;
  archive_sha256: string | null;
  bin: string | null;
  version: string | null;
  error: string | null;
  job_id: string | null;
  requested_at: Generated<Date>;
  finished_at: NullableTimestamp;
}

export type OdooInstallationRow = Selectable<OdooInstallationsTable>;

/** One measurement of a tenant per sampling round (owned by usage/store.ts; raw, kept 7 days). */
export interface UsageSamplesTable {
  tenant_id: string;
  slot: Timestamp;
  sampled_at: Timestamp;
  /** Null when the measure was not available (database missing, runtime reports nothing). */
  odoo_users: number | null;
  database_bytes: number | null;
  filestore_bytes: number | null;
  cpu_seconds: number | null;
  memory_bytes: number | null;
}
export type UsageSampleRow = Selectable<UsageSamplesTable>;

/** Maxima of a tenant's samples per hour or day (owned by usage/store.ts). */
export interface UsageRollupsTable {
  tenant_id: string;
  step: 'hour' | 'day';
  bucket: Timestamp;
  samples: number;
  odoo_users_max: number | null;
  database_bytes_max: number | null;
  filestore_bytes_max: number | null;
  storage_bytes_max: number | null;
  cpu_seconds_max: number | null;
  memory_bytes_max: number | null;
}
export type UsageRollupRow = Selectable<UsageRollupsTable>;

/** A tenant's standing against one limit of its plan (owned by usage/store.ts). */
export interface UsageLimitStatesTable {
  tenant_id: string;
  resource: 'odoo_users' | 'storage';
  level: 'ok' | 'warning' | 'reached' | 'over';
  used: number;
  limit_value: number;
  since: Timestamp;
  block_new_users: Generated<boolean>;
  read_only: Generated<boolean>;
  updated_at: Generated<Date>;
}
export type UsageLimitStateRow = Selectable<UsageLimitStatesTable>;

export interface Database {
  odoo_installations: OdooInstallationsTable;
  usage_samples: UsageSamplesTable;
  usage_rollups: UsageRollupsTable;
  usage_limit_states: UsageLimitStatesTable;
}

/** Which Kill Bill account and subscription each of our subscriptions is (billing/providers/killbill). */
export interface KillbillSubscriptionsTable {
  subscription_id: string;
  account_id: string;
  killbill_account_id: string | null;
  killbill_subscription_id: string | null;
  synced_at: Date | null;
  created_at: Generated<Date>;
}

/** Kill Bill's push notifications, kept once each until processed (billing/providers/killbill). */
export interface KillbillNotificationsTable {
  key: string;
  event_type: string;
  object_type: string;
  object_id: string | null;
  killbill_account_id: string | null;
  meta_data: string | null;
  received_at: Generated<Date>;
  processed_at: Date | null;
  outcome: string | null;
}

export interface Database {
  killbill_subscriptions: KillbillSubscriptionsTable;
  killbill_notifications: KillbillNotificationsTable;
}
