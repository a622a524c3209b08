import type { AccountService } from './accounts/index.js';
import type { AuditLog } from './audit/index.js';
import {
  type BillingReads,
  type BuiltinBilling,
  createBillingReads,
  createBuiltinBilling,
  createKillbillBilling,
  createKillbillClient,
  createPaystackGateway,
  createStripeGateway,
  manualGateway,
  ourPaystackPlan,
  type PlanChangePorts,
  registerBillingJobs,
  registerKillbillJobs,
  runPaystackPlanSync,
  type UsagePoints,
} from './billing/index.js';
import { type Config, resolveSecretKey } from './config/index.js';
import type { Db } from './db/index.js';
import type { JobQueue } from './jobs/index.js';
import type { Logger } from './logging/index.js';
import type { MigrationService } from './migration/index.js';
import type { Mailer } from './notifications/index.js';
import type { PlanService } from './plans/index.js';
import type { SecretBox } from './secrets/index.js';
import { recordTenantEvent, type TenantService } from './tenants/index.js';
import { billablePoints } from './usage/index.js';

/**
 * Composition of billing: the built-in provider with the configured payment gateway, what it
 * answers (views, PDFs, the overview), and its jobs. Invoices name the account and bill mails go
 * to its customers (accounts/); the plans billing decides are applied to tenants by the live
 * plan change of migrations/ (the `billing-plan-change` job).
 */
export async function startBilling(deps: {
  config: Config;
  db: Db;
  clock: () => Date;
  plans: PlanService;
  jobs: JobQueue;
  tenants: TenantService;
  accounts: AccountService;
  migrations: MigrationService;
  audit: AuditLog;
  mailer: Mailer;
  logger: Logger;
  secretBox: SecretBox;
  crashPoint: (point: string) => void;
}): Promise<{ provider: BuiltinBilling; reads: BillingReads }> {
  const { config, db, clock, jobs, accounts, logger } = deps;
  const paystack =
    config.billingGateway === 'paystack' && config.paystack
      ? createPaystackGateway({
          ...config.paystack,
          emailOf: async (accountId) => (await accounts.billingContact(accountId)).emails[0] ?? null,
          ourPlanOf: (code) => ourPaystackPlan(db, code),
        })
      : null;
  const gateway = config.billingGateway === 'stripe' && config.stripe ? createStripeGateway(config.stripe) : (paystack ?? manualGateway);
  // Our plans as Paystack plans (they name our plan in subscription events). Not needed to bill,
  // so Paystack being unreachable logs and lets the platform start; the next start syncs again.
  if (paystack && config.runWorkers)
    await runPaystackPlanSync({ db, api: paystack.plans, clock }, await deps.plans.list()).then(
      (done) => logger.info({ plans: done.map((d) => `${d.plan}/${d.interval}: ${d.code} (${d.change})`) }, 'paystack plans synced'),
      (error: unknown) => logger.warn({ err: error }, 'paystack plans not synced; retried at the next start'),
    );
  const usage: UsagePoints = { pointsOf: (tenantId, from, to, executor) => billablePoints(tenantId, from, to, executor) };
  const builtin = createBuiltinBilling({
    db,
    clock,
    plans: deps.plans,
    jobs,
    tenants: deps.tenants,
    gateway,
    logger,
    sealer: deps.secretBox,
    usage,
    crashPoint: deps.crashPoint,
  });
  const provider = config.killbill ? await startKillbill({ ...deps, killbill: config.killbill, builtin }) : builtin;
  const reads = createBillingReads({
    db,
    clock,
    usage,
    sellerName: config.billingSellerName,
    buyerOf: async (accountId) => {
      const contact = await accounts.billingContact(accountId);
      return { name: contact.name, email: contact.emails[0] ?? null };
    },
  });
  await registerBillingJobs(
    {
      db,
      jobs,
      billing: provider,
      gateway,
      mailer: deps.mailer,
      recipientsOf: async (accountId) => (await accounts.billingContact(accountId)).emails,
      planChanges: planChangePorts(deps),
      logger,
    },
    config.runWorkers,
  );
  return { provider, reads };
}

/**
 * BILLING_PROVIDER=killbill: the Kill Bill provider over the built-in one, its jobs, and (on a
 * replica that runs workers) Kill Bill set up at start: our plans as its catalog and this
 * platform's notification callback. A Kill Bill that refuses (wrong URL, keys or password) stops
 * the start with its answer and the setting to check.
 */
async function startKillbill(deps: {
  config: Config;
  db: Db;
  clock: () => Date;
  plans: PlanService;
  jobs: JobQueue;
  tenants: TenantService;
  accounts: AccountService;
  logger: Logger;
  killbill: NonNullable<Config['killbill']>;
  builtin: BuiltinBilling;
}): Promise<BuiltinBilling> {
  const { config, killbill: settings, accounts } = deps;
  const client = createKillbillClient(settings);
  const provider = createKillbillBilling({
    db: deps.db,
    clock: deps.clock,
    client,
    builtin: deps.builtin,
    plans: deps.plans,
    jobs: deps.jobs,
    tenants: deps.tenants,
    contactOf: async (accountId) => {
      const contact = await accounts.billingContact(accountId);
      return { name: contact.name, email: contact.emails[0] ?? null };
    },
    paymentPlugin: settings.paymentPlugin,
    secretKey: resolveSecretKey(config),
    logger: deps.logger,
  });
  await registerKillbillJobs({ jobs: deps.jobs, killbill: provider.killbill, logger: deps.logger }, config.runWorkers);
  if (config.runWorkers) {
    const { catalogUploaded } = await provider.killbill.setUp({ callbackBaseUrl: config.publicUrl, plans: await deps.plans.list() });
    deps.logger.info({ url: settings.url, catalogUploaded }, 'Kill Bill set up');
  }
  return provider;
}

/** The tenants' live plan change as billing's `billing-plan-change` job uses it. */
function planChangePorts(deps: {
  db: Db;
  clock: () => Date;
  tenants: TenantService;
  migrations: MigrationService;
  audit: AuditLog;
}): PlanChangePorts {
  const { db, tenants, migrations } = deps;
  return {
    tenant: (tenantId) => tenants.rowById(tenantId),
    movingTo: (tenantId, plan) => migrations.movingTo(tenantId, plan),
    async changePlan(tenant, plan) {
      const row = await tenants.rowById(tenant.id);
      if (!row) throw new Error(`tenant ${tenant.name} is gone`);
      const { migration } = await migrations.changePlan(row, plan, null);
      return { migrationId: migration?.id ?? null };
    },
    setPlanOfUnplaced: (tenantId, plan, reason) =>
      db
        .transaction()
        .execute(
          async (trx) => (await tenants.applySystemAction(trx, tenantId, 'change_plan', { reason, now: deps.clock(), plan })).applied,
        ),
    note: async (tenantId, message) => void (await recordTenantEvent(db, tenantId, { type: 'info', message })),
    audit: (entry) =>
      deps.audit.record({
        actorType: 'system',
        actorLabel: 'billing',
        accountId: entry.accountId,
        action: 'tenant.change_plan',
        targetType: 'tenant',
        targetId: entry.tenantId,
        outcome: entry.outcome,
        details: entry.details,
      }),
  };
}
