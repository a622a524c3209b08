import type { AccountService } from './accounts/index.js';
import {
  type BillingReads,
  type BuiltinBilling,
  createBillingReads,
  createBuiltinBilling,
  createPaystackGateway,
  createStripeGateway,
  manualGateway,
  registerBillingJobs,
} from './billing/index.js';
import type { Config } from './config/index.js';
import type { Db } from './db/index.js';
import type { JobQueue } from './jobs/index.js';
import type { Logger } from './logging/index.js';
import type { Mailer } from './notifications/index.js';
import type { PlanService } from './plans/index.js';
import type { SecretBox } from './secrets/index.js';
import type { TenantService } from './tenants/index.js';

/**
 * Composition of billing: the built-in provider with the configured payment gateway, what it
 * answers (views, PDFs, the overview), and its jobs. Invoices name the account and bill mails go
 * to its customers (accounts/).
 */
export async function startBilling(deps: {
  config: Config;
  db: Db;
  clock: () => Date;
  plans: PlanService;
  jobs: JobQueue;
  tenants: TenantService;
  accounts: AccountService;
  mailer: Mailer;
  logger: Logger;
  secretBox: SecretBox;
  crashPoint: (point: string) => void;
}): Promise<{ provider: BuiltinBilling; reads: BillingReads }> {
  const { config, db, clock, jobs, accounts, logger } = deps;
  const gateway =
    config.billingGateway === 'stripe' && config.stripe
      ? createStripeGateway(config.stripe)
      : config.billingGateway === 'paystack' && config.paystack
        ? createPaystackGateway({
            ...config.paystack,
            emailOf: async (accountId) => (await accounts.billingContact(accountId)).emails[0] ?? null,
          })
        : manualGateway;
  const provider = createBuiltinBilling({
    db,
    clock,
    plans: deps.plans,
    jobs,
    tenants: deps.tenants,
    gateway,
    logger,
    sealer: deps.secretBox,
    crashPoint: deps.crashPoint,
  });
  const reads = createBillingReads({
    db,
    clock,
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
      logger,
    },
    config.runWorkers,
  );
  return { provider, reads };
}
